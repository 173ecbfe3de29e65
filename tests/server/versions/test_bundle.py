"""The auditor's audit bundle: downloaded from the API, verified offline by ``ppa audit verify``;
any altered byte of a tampered copy is caught and the first broken link named."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from editor.schema import Jour
from tests.cli import CliResult, invoke
from tests.conftest import DatabaseInfo, LiveServer
from tests.server.versions.conftest import sql
from tests.server.versions.helpers import AUDITOR, CONTRIB, COORD, new_ppa, save, validate
from tests.server.versions.live import edit_over_websocket
from tests.server.versions.test_audit_seal import _tamper
from versions.bundle import read_members, verify_bundle, zip_members


def ppa_cli(*args: str) -> CliResult:
    """``ppa <args>`` in process (``tests.cli``)."""
    return invoke(args, {})


@pytest.fixture(scope="module")
def bundle(api_as: Any, demo: dict[str, Any], live_server: LiveServer) -> tuple[str, bytes]:
    def edit(ppa_id: str, mutate: Any) -> None:
        token = api_as(CONTRIB).token
        assert token is not None
        edit_over_websocket(live_server.ws_url, ppa_id, token, mutate)

    setup = new_ppa(api_as, demo)
    save(api_as(CONTRIB), setup.ppa_id, "Premier jet")
    edit(setup.ppa_id, lambda c: setattr(c, "projet_de_vie", "Vivre chez moi."))
    assert validate(api_as(COORD), setup.ppa_id).status_code == 201
    assert api_as(COORD).post(f"/api/ppas/{setup.ppa_id}/avenant").status_code == 200

    def move(content: Any) -> None:
        assert content.actions[0].planning is not None
        content.actions[0].planning.jours = [Jour.MARDI]

    edit(setup.ppa_id, move)
    assert validate(api_as(COORD), setup.ppa_id).status_code == 201
    response = api_as(AUDITOR).get(f"/api/ppas/{setup.ppa_id}/audit-bundle")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/zip"
    assert "attachment" in response.headers["content-disposition"]
    # named after the person and her projet's year, as the exports (issue 17), not by ids
    person = api_as(COORD).get(f"/api/persons/{setup.cercle.person_id}").json()
    family = (person.get("used_name") or person["birth_family_name"]).upper()
    first = person["first_names"].split()[0]
    start = setup.content.projet.date_debut
    assert start is not None
    year = start.year
    assert response.headers["content-disposition"] == (
        f'attachment; filename="Dossier-audit-PPA-{first}-{family}-{year}.zip"'
    )
    return setup.ppa_id, response.content


def test_bundle_holds_every_version_and_verifies(bundle: tuple[str, bytes], api_as: Any) -> None:
    ppa_id, data = bundle
    report = verify_bundle(data)
    assert report.ok, report.render()
    assert report.ppa_id == ppa_id
    versions = api_as(COORD).get(f"/api/ppas/{ppa_id}/versions").json()
    assert (
        report.versions == len(versions) == 5
    )  # named, checkpoint, validated, checkpoint, avenant
    members = read_members(data)
    for version in versions:
        content = members[f"versions/{version['number']:04d}/content.json"]
        detail = api_as(COORD).get(f"/api/ppas/{ppa_id}/versions/{version['number']}").json()
        meta = members[f"versions/{version['number']:04d}/meta.json"].decode()
        assert version["content_hash"] in meta
        assert content.decode().startswith("{")
        assert detail["content_hash"] == version["content_hash"]
    key = api_as(AUDITOR).get("/api/log/key").json()
    assert report.key_id == key["key_id"]
    assert members["public_key.pem"].decode() == key["public_key_pem"]


def ppa_events(api_as: Any, ppa_id: str) -> list[dict[str, Any]]:
    """The PPA's audit events as the audit API lists them (oldest first)."""
    person_id = api_as(COORD).get(f"/api/ppas/{ppa_id}").json()["person_id"]
    events = api_as(AUDITOR).get(f"/api/persons/{person_id}/audit", params={"limit": 5000}).json()
    mine = [e for e in events if e["object_type"] == "ppa" and e["object_id"] == ppa_id]
    return sorted(mine, key=lambda e: e["id"])


def test_bundle_holds_the_ppas_audit_trail_with_its_seals(
    bundle: tuple[str, bytes], api_as: Any
) -> None:
    ppa_id, data = bundle
    report = verify_bundle(data)
    assert report.ok, report.render()
    members = read_members(data)
    shown = [
        json.loads(members[f"audit/events/{n:04d}/event.json"])
        for n in range(1, report.audit_events + 1)
    ]
    # Every trace of this PPA written before the download, in id order, nobody else's.
    listed = [e for e in ppa_events(api_as, ppa_id) if e["id"] <= shown[-1]["id"]]
    assert [e["id"] for e in shown] == [e["id"] for e in listed]
    assert {e["object_id"] for e in shown} == {ppa_id}
    assert "ppa.validate" in {e["action"] for e in shown}
    # Sealed at each version append; the last validation's own trace comes after its seal.
    assert report.audit_sealed >= 3
    assert report.audit_unsealed >= 1
    assert report.audit_sealed + report.audit_unsealed == report.audit_events == len(shown)
    assert report.audit_checkpoints >= 2
    seals = [json.loads(members[f"audit/events/{n:04d}/seal.json"]) for n in range(1, 3)]
    assert all(seal["checkpoint"] is not None for seal in seals)


def test_after_a_seal_every_event_of_the_bundle_is_sealed(
    bundle: tuple[str, bytes], api_as: Any
) -> None:
    ppa_id, _ = bundle
    assert api_as(AUDITOR).post("/api/log/audit-checkpoints").status_code == 200
    response = api_as(AUDITOR).get(f"/api/ppas/{ppa_id}/audit-bundle")
    assert response.status_code == 200
    report = verify_bundle(response.content)
    assert report.ok, report.render()
    assert report.audit_unsealed == 0
    assert report.audit_sealed == report.audit_events >= 5
    # The download is traced after the bundle was built: the next bundle shows it, unsealed.
    again = verify_bundle(api_as(AUDITOR).get(f"/api/ppas/{ppa_id}/audit-bundle").content)
    assert again.ok
    assert (again.audit_events, again.audit_unsealed) == (report.audit_events + 1, 1)


def test_ppa_audit_verify_accepts_the_bundle(
    bundle: tuple[str, bytes], api_as: Any, tmp_path: Path
) -> None:
    _, data = bundle
    path = tmp_path / "bundle.zip"
    path.write_bytes(data)
    key_id = api_as(AUDITOR).get("/api/log/key").json()["key_id"]
    result = ppa_cli("audit", "verify", str(path), "--key-id", key_id)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Bundle d'audit intègre" in result.stdout
    assert "Audit bundle intact" in result.stdout
    report = verify_bundle(data)
    assert report.audit_sealed > 0
    assert f"{report.audit_sealed} événement(s) vérifié(s)" in result.stdout
    assert f"{report.audit_unsealed} non scellé(s)" in result.stdout
    assert f"{report.audit_sealed} event(s) verified" in result.stdout
    wrong = ppa_cli("audit", "verify", str(path), "--key-id", "0" * 64)
    assert wrong.returncode == 1
    assert "clé publique" in wrong.stdout


TAMPERED = [
    ("versions/0001/content.json", "version 1", "empreinte du contenu"),
    ("versions/0003/accords.json", "accords de la version 3", "accords de la version 3"),
    ("versions/0002/meta.json", "version 2", "version 2"),
    ("versions/0004/leaf.json", "log leaf of version 4", "feuille du journal"),
    ("versions/0005/inclusion.json", "inclusion proof of version 5", "preuve d'inclusion"),
    ("heads/0001.json", "signed tree head 1", "tête d'arbre signée 1"),
    ("audit/events/0001/event.json", "audit event 1", "événement d'audit 1"),
    ("audit/events/0002/seal.json", "batch proof of audit event 2", "preuve de scellement"),
    ("audit/checkpoints/0001/leaf.json", "audit checkpoint 1", "point de scellement 1"),
    (
        "audit/checkpoints/0002/inclusion.json",
        "inclusion proof of audit checkpoint 2",
        "preuve d'inclusion du point de scellement 2",
    ),
]


@pytest.mark.parametrize(("member", "english", "french"), TAMPERED)
def test_tampered_bundle_fails_naming_the_link(
    bundle: tuple[str, bytes], tmp_path: Path, member: str, english: str, french: str
) -> None:
    _, data = bundle
    members = read_members(data)
    original = members[member]
    # Flip one byte inside a hex digest or a text value (keeps the JSON well-formed).
    hexdigits = b"0123456789abcdef"
    middle = range(len(original) // 2, len(original))
    position = next(i for i in middle if original[i] in hexdigits)
    flipped = b"1" if original[position : position + 1] != b"1" else b"2"
    members[member] = original[:position] + flipped + original[position + 1 :]
    path = tmp_path / "tampered.zip"
    path.write_bytes(zip_members(members))
    result = ppa_cli("audit", "verify", str(path))
    assert result.returncode == 1, result.stdout
    assert "ALTÉRÉ" in result.stdout
    assert "BROKEN" in result.stdout
    assert english in result.stdout
    assert french in result.stdout


def test_only_auditors_download_bundles(bundle: tuple[str, bytes], api_as: Any) -> None:
    ppa_id, _ = bundle
    response = api_as(COORD).get(f"/api/ppas/{ppa_id}/audit-bundle")
    assert response.status_code == 403
    events = (
        api_as(AUDITOR)
        .get(
            f"/api/persons/{api_as(COORD).get(f'/api/ppas/{ppa_id}').json()['person_id']}/audit",
            params={"limit": 5000},
        )
        .json()
    )
    assert any(e["action"] == "ppa.audit_bundle" and e["object_id"] == ppa_id for e in events)


def test_known_heads_catch_a_rewritten_history(bundle: tuple[str, bytes], tmp_path: Path) -> None:
    _, data = bundle
    path = tmp_path / "bundle.zip"
    path.write_bytes(data)
    head = json.loads(read_members(data)["heads/0001.json"])
    known = tmp_path / "known.json"
    known.write_text(json.dumps(head))
    assert ppa_cli("audit", "verify", str(path), "--known-head", str(known)).returncode == 0
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps({**head, "root_hash": "ab" * 32}))
    result = ppa_cli("audit", "verify", str(path), "--known-head", str(forged))
    assert result.returncode == 1
    assert "historique réécrit" in result.stdout


def test_a_sealed_event_altered_in_the_database_breaks_the_bundle(
    bundle: tuple[str, bytes], api_as: Any, database: DatabaseInfo
) -> None:
    """A superuser rewriting a sealed trace of the PPA (triggers disabled): the bundle built from
    the altered row no longer proves it into its sealed batch, and says which event."""
    ppa_id, data = bundle
    first_id = json.loads(read_members(data)["audit/events/0001/event.json"])["id"]
    (original,) = sql(database, "SELECT actor_id FROM audit_events WHERE id = :i", i=first_id)
    _tamper(database, "UPDATE audit_events SET actor_id = 'quelqu-un' WHERE id = :i", i=first_id)
    try:
        response = api_as(AUDITOR).get(f"/api/ppas/{ppa_id}/audit-bundle")
        assert response.status_code == 200
        report = verify_bundle(response.content)
        assert str(report.first_broken).startswith("batch proof of audit event 1: root mismatch")
        assert "preuve de scellement de l'événement d'audit 1" in report.render()
    finally:
        _tamper(
            database,
            "UPDATE audit_events SET actor_id = :a WHERE id = :i",
            a=original[0],
            i=first_id,
        )
    assert verify_bundle(api_as(AUDITOR).get(f"/api/ppas/{ppa_id}/audit-bundle").content).ok
