"""Transmissions of validated versions to real loopback servers: MSSanté over SMTP with STARTTLS
and a client certificate, the DMP over HTTPS (PDSm ITI-65) with a client certificate; who may
transmit what; retries; use case 3 (the MDPH fiche de liaison by MSSanté and into the DMP)."""

from __future__ import annotations

from collections.abc import Callable
from email.message import EmailMessage
from typing import Any

import pytest
import sqlalchemy as sa

from tests.conftest import Api, DatabaseInfo
from tests.exports.test_cda_xdm import _check_xdm_against_cda
from tests.server.exports_api.support import COORD, Validated, add_avenant, new_validated, wait_for
from tests.server.transmissions.conftest import SENDER, Recipients, add_recipients, random_finess
from tests.server.transmissions.fhir_server import FhirServer
from tests.server.transmissions.smtp_server import Received, SmtpServer

pytestmark = pytest.mark.slow


def _url(v: Validated, number: int) -> str:
    return f"/api/ppas/{v.ppa_id}/versions/{number}/transmissions"


def _until(api: Api, url: str, tid: str, statuses: set[str]) -> dict[str, Any]:
    def check() -> dict[str, Any] | None:
        rows = api.get(url).json()
        row: dict[str, Any] = next(r for r in rows if r["id"] == tid)
        return row if row["status"] in statuses else None

    result: dict[str, Any] = wait_for(check)
    return result


def _message(smtp: SmtpServer, message_id: str) -> Received:
    found: Received = wait_for(
        lambda: next((r for r in smtp.received if r.message["Message-ID"] == message_id), None)
    )
    return found


def _attachments(msg: EmailMessage) -> dict[str, tuple[str, bytes]]:
    out: dict[str, tuple[str, bytes]] = {}
    for part in msg.iter_attachments():
        assert isinstance(part, EmailMessage)
        payload = part.get_payload(decode=True)
        assert isinstance(payload, bytes)
        out[str(part.get_filename())] = (part.get_content_type(), payload)
    return out


@pytest.fixture(scope="module")
def validated(api_as: Callable[[str], Api], demo: dict[str, Any]) -> Validated:
    return new_validated(api_as, demo)


@pytest.fixture(scope="module")
def recipients(api_as: Callable[[str], Api], validated: Validated) -> Recipients:
    return add_recipients(api_as, validated.person_id)


def _denied_traces(database: DatabaseInfo, ppa_id: str) -> list[tuple[str, str | None]]:
    engine = sa.create_engine(database.sync_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text(
                    "SELECT action, role FROM audit_events WHERE object_id = :ppa"
                    " AND outcome = 'denied'"
                ),
                {"ppa": ppa_id},
            ).all()
    finally:
        engine.dispose()
    return [(r[0], r[1]) for r in rows]


def test_only_a_coordinator_transmits_and_only_validated_versions(
    tx_as: Callable[[str], Api],
    validated: Validated,
    recipients: Recipients,
    database: DatabaseInfo,
) -> None:
    body = {"channel": "mssante", "to": [{"professional_id": recipients.professional_id}]}
    refused = tx_as("infirmier").post(_url(validated, validated.validated), json=body)
    assert refused.status_code == 403, refused.text
    assert ("ppa.transmission", "contributor") in _denied_traces(database, validated.ppa_id)
    draft = tx_as(COORD).post(_url(validated, validated.draft), json=body)
    assert draft.status_code == 409
    assert "n'est pas validée" in draft.json()["detail"]
    mdph = tx_as(COORD).post(
        _url(validated, validated.validated), json={**body, "document": "mdph"}
    )
    assert mdph.status_code == 409
    assert "avenant" in mdph.json()["detail"]
    outside = tx_as(COORD).post(
        _url(validated, validated.validated),
        json={"channel": "mssante", "to": [{"address": "someone@gmail.com"}]},
    )
    assert outside.status_code == 422
    assert "domaine MSSanté autorisé" in outside.json()["detail"]
    stranger = tx_as(COORD).post(
        _url(validated, validated.validated),
        json={"channel": "mssante", "to": [{"professional_id": recipients.outsider_id}]},
    )
    assert stranger.status_code == 422
    assert "pas membre du cercle" in stranger.json()["detail"]
    unknown = tx_as(COORD).post(
        _url(validated, validated.validated),
        json={"channel": "mssante", "to": [{"structure_id": "pas-une-structure"}]},
    )
    assert unknown.status_code == 422
    assert "Structure introuvable" in unknown.json()["detail"]
    assert tx_as(COORD).get(_url(validated, validated.validated)).json() == []


def test_a_structure_of_the_directory_is_a_recipient(
    tx_as: Callable[[str], Api],
    api_as: Callable[[str], Api],
    demo: dict[str, Any],
    smtp: SmtpServer,
) -> None:
    v = new_validated(api_as, demo)
    mdph = add_recipients(api_as, v.person_id)
    coord = tx_as(COORD)
    created = coord.post(
        _url(v, v.validated),
        json={"channel": "mssante", "to": [{"structure_id": mdph.mdph_id}]},
    )
    assert created.status_code == 202, created.text
    row = created.json()
    assert [(r["kind"], r["id"], r["address"]) for r in row["recipients"]] == [
        ("structure", mdph.mdph_id, mdph.mdph_address)
    ]
    assert _until(coord, _url(v, v.validated), row["id"], {"envoye", "erreur"})["status"] == (
        "envoye"
    )
    assert _message(smtp, row["message_id"]).rcpt_tos == [mdph.mdph_address]
    bare = coord.post(
        "/api/structures",
        json={"finess": random_finess("75"), "name": "Sans messagerie", "kind": "esms"},
    )
    assert bare.status_code == 201, bare.text
    refused = coord.post(
        _url(v, v.validated),
        json={"channel": "mssante", "to": [{"structure_id": bare.json()["id"]}]},
    )
    assert refused.status_code == 422
    assert "pas d'adresse MSSanté" in refused.json()["detail"]


def test_mssante_message_reaches_the_smtp_server_with_the_xdm_and_is_retried(
    tx_as: Callable[[str], Api],
    validated: Validated,
    recipients: Recipients,
    smtp: SmtpServer,
) -> None:
    coord = tx_as(COORD)
    smtp.handler.fail_first = smtp.handler.data_commands + 1  # the first attempt: 451
    url = _url(validated, validated.validated)
    body = {
        "channel": "mssante",
        "document": "ppa",
        "to": [
            {"professional_id": recipients.professional_id},
            {"address": f"dui@{'test.mssante.fr'}"},
        ],
    }
    created = coord.post(url, json=body)
    assert created.status_code == 202, created.text
    row = created.json()
    assert row["status"] == "en_attente"
    assert coord.post(url, json=body).json()["id"] == row["id"]  # the same, not a second one
    done = _until(coord, url, row["id"], {"envoye", "erreur"})
    assert done["status"] == "envoye", done
    assert done["attempts"] == 2
    assert done["status_label"] == "Envoyé"
    got = _message(smtp, row["message_id"])
    assert sum(1 for r in smtp.received if r.message["Message-ID"] == row["message_id"]) == 1
    assert got.client_subject == "fam-les-tilleuls@test.mssante.fr"
    assert got.mail_from == SENDER
    assert sorted(got.rcpt_tos) == sorted([recipients.professional_address, "dui@test.mssante.fr"])
    msg = got.message
    person = coord.get(f"/api/persons/{validated.person_id}").json()
    born = "/".join(reversed(person["birth_date"].split("-")))
    first = person["first_names"].split()[0]
    assert msg["Subject"] == (
        f"XDM/1.0/DDM+Projet personnalisé d'accompagnement "
        f"{person['birth_family_name'].upper()} {first} {born}"
    )
    assert msg["Disposition-Notification-To"] == SENDER
    assert msg["X-MSS-CODECDA"] == "80788-3"
    assert msg["X-MSS-INS"].startswith(person["ins_matricule"] + "^^^&")
    files = _attachments(msg)
    assert set(files) == {"IHE_XDM.zip", f"{validated.ppa_id}-v{validated.validated}.pdf"}
    assert files["IHE_XDM.zip"][0] == "application/zip"
    pdf_type, pdf = files[f"{validated.ppa_id}-v{validated.validated}.pdf"]
    assert pdf_type == "application/pdf"
    assert pdf.startswith(b"%PDF")
    cda = coord.get(f"/api/ppas/{validated.ppa_id}/versions/{validated.validated}/exports/cda")
    assert cda.status_code == 200
    _check_xdm_against_cda(files["IHE_XDM.zip"][1], cda.content)


def test_dmp_deposit_follows_pdsm_and_an_avenant_replaces_the_version(
    tx_as: Callable[[str], Api],
    api_as: Callable[[str], Api],
    settings: Any,
    validated: Validated,
    recipients: Recipients,
    dmp: FhirServer,
) -> None:
    coord = tx_as(COORD)
    url = _url(validated, validated.validated)
    created = coord.post(url, json={"channel": "dmp"})
    assert created.status_code == 202, created.text
    first = _until(coord, url, created.json()["id"], {"recu", "erreur"})
    assert first["status"] == "recu", first
    assert dmp.problems == []
    docref = _deposited(dmp, first["document_unique_id"])
    assert "relatesTo" not in docref
    assert docref["type"]["coding"][0]["code"] == "80788-3"
    assert dmp.client_subjects[-1] == "fam-les-tilleuls@test.mssante.fr"

    add_avenant(api_as, settings, validated)
    assert validated.avenant is not None
    url = _url(validated, validated.avenant)
    created = coord.post(url, json={"channel": "dmp", "document": "ppa"})
    assert created.status_code == 202, created.text
    second = _until(coord, url, created.json()["id"], {"recu", "erreur"})
    assert second["status"] == "recu", second
    # by its id, not the last one received: another test's late retry may land after it
    replacing = _deposited(dmp, second["document_unique_id"])
    assert replacing["relatesTo"] == [
        {"code": "replaces", "target": {"identifier": docref["masterIdentifier"]}}
    ]
    assert dmp.problems == []


def _deposited(dmp: FhirServer, unique_id: str) -> dict[str, Any]:
    """The DocumentReference the DMP accepted for the CDA ``root^extension``."""
    root, extension = unique_id.split("^")
    wanted = {"system": f"urn:oid:{root}", "value": extension}
    [found] = [d for d in map(_docref, dmp.accepted) if d["masterIdentifier"] == wanted]
    return found


def _docref(bundle: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = next(
        e["resource"]
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == "DocumentReference"
    )
    return found


def _traces(database: DatabaseInfo, object_id: str) -> list[tuple[str, str, str | None]]:
    engine = sa.create_engine(database.sync_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text(
                    "SELECT action, outcome, role FROM audit_events WHERE object_id = :id"
                    " AND action LIKE 'ppa.transmission%' ORDER BY id"
                ),
                {"id": object_id},
            ).all()
    finally:
        engine.dispose()
    return [(r[0], r[1], r[2]) for r in rows]


def test_a_dmp_refusal_is_an_error_with_its_code_and_label(
    tx_as: Callable[[str], Api],
    api_as: Callable[[str], Api],
    demo: dict[str, Any],
    dmp: FhirServer,
    database: DatabaseInfo,
) -> None:
    v = new_validated(api_as, demo)
    dmp.reject_next = ("DMP_PATIENT_INCONNU", "Le DMP de ce patient n'existe pas")
    url = _url(v, v.validated)
    created = tx_as(COORD).post(url, json={"channel": "dmp"})
    assert created.status_code == 202, created.text
    row = _until(tx_as(COORD), url, created.json()["id"], {"recu", "erreur"})
    assert row["status"] == "erreur"
    assert row["error_code"] == "DMP_PATIENT_INCONNU"
    assert row["error_label"] == "Le DMP de ce patient n'existe pas"
    assert row["attempts"] == 1
    # Audited: the request on the PPA, the attempt on the transmission, the listings.
    n = v.validated
    ppa_traces = _traces(database, v.ppa_id)
    assert ppa_traces[0] == (f"ppa.transmission:dmp:ppa:v{n}", "ok", "coordinator")
    assert set(ppa_traces[1:]) == {("ppa.transmissions.read", "ok", "coordinator")}
    assert _traces(database, row["id"]) == [
        (f"ppa.transmission.erreur:dmp:v{n}", "error", "coordinator")
    ]


def test_use_case_3_sends_the_fiche_to_the_mdph_and_deposits_it(
    tx_as: Callable[[str], Api],
    api_as: Callable[[str], Api],
    settings: Any,
    demo: dict[str, Any],
    smtp: SmtpServer,
    dmp: FhirServer,
) -> None:
    v = add_avenant(api_as, settings, new_validated(api_as, demo))
    assert v.avenant is not None
    mdph = add_recipients(api_as, v.person_id).mdph_address
    coord = tx_as(COORD)
    sent = coord.post(f"/api/ppas/{v.ppa_id}/versions/{v.avenant}/fiche-mdph", json={})
    assert sent.status_code == 202, sent.text
    mail, deposit = sent.json()
    assert (mail["channel"], deposit["channel"]) == ("mssante", "dmp")
    assert mail["group_id"] == deposit["group_id"]
    assert [r["address"] for r in mail["recipients"]] == [mdph]
    url = _url(v, v.avenant)
    assert _until(coord, url, mail["id"], {"envoye", "erreur"})["status"] == "envoye"
    deposited = _until(coord, url, deposit["id"], {"recu", "erreur"})
    assert deposited["status"] == "recu", deposited
    msg = _message(smtp, mail["message_id"]).message
    assert msg["Subject"].startswith("XDM/1.0/DDM+Fiche de liaison MDPH ")
    assert msg["X-MSS-CODECDA"] == "28653-4"
    xdm = _attachments(msg)["IHE_XDM.zip"][1]
    mdph_cda = coord.get(f"/api/ppas/{v.ppa_id}/versions/{v.avenant}/exports/mdph-cda")
    _check_xdm_against_cda(xdm, mdph_cda.content)
    docref = _deposited(dmp, deposited["document_unique_id"])
    assert docref["type"]["coding"][0]["code"] == "28653-4"
    assert dmp.problems == []
