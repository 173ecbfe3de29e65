"""TDDUI import (POST /fhir transaction, POST /api/persons/{id}/ppas/import): a bundle from
another structure creates a draft, a bundle naming one of our PPAs merges into its draft through
the merge PATCH's path, a malformed bundle is refused whole with every problem, a DUI without
the grant is refused and traced; ETags understood by two server processes on one database."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from exports.context import ExportInput, InsOid
from exports.fhir import render_fhir_bundle
from exports.fhir_contained import bundle_from_careplan
from exports.sample import GENERATED_AT, PERSON, PROFESSIONALS, STRUCTURE, _meta, sample_content
from exports.tddui_checks import check_bundle
from server.models import PPA, AuditEvent, Version
from tests.collab.app import ServeProcess
from tests.conftest import Api, DatabaseInfo, LiveServer
from tests.server.exports_api.support import COORD, Validated, new_validated

FHIR = {"Content-Type": "application/fhir+json"}
_opened: list[Api] = []


@pytest.fixture(autouse=True)
def _close_clients() -> Iterator[None]:
    yield
    while _opened:
        _opened.pop().client.close()


def _client(
    live_server: LiveServer, api_as: Any, demo: dict[str, Any], name: str
) -> tuple[Api, str]:
    """A structure's software (the SAVS's DUI), created by the administrator."""
    created = api_as("admin").post(
        "/api/api-clients", json={"name": name, "structure_id": demo["structures"]["savs"]}
    )
    assert created.status_code == 201, created.text
    api = Api(live_server, created.json()["token"])
    _opened.append(api)
    return api, created.json()["id"]


def _grant(api_as: Any, person_id: str, client_id: str, role: str = "contributor") -> None:
    response = api_as(COORD).post(
        f"/api/persons/{person_id}/cercle",
        json={"kind": "structure_system", "role": role, "api_client_id": client_id},
    )
    assert response.status_code == 201, response.text


def _rows(database: DatabaseInfo, query: Any) -> list[Any]:
    engine = sa.create_engine(database.sync_url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(query).all())
    finally:
        engine.dispose()


def _foreign_bundle(api: Api, person_id: str) -> dict[str, Any]:
    """The sample PPA as another structure's DUI exports it, for the person's INS."""
    person = api.get(f"/api/persons/{person_id}").json()
    patient = PERSON.model_copy(
        update={"ins": person["ins_matricule"], "ins_oid": InsOid(person["ins_oid"])}
    )
    inp = ExportInput(
        content=sample_content(),
        version=_meta(),
        person=patient,
        structure=STRUCTURE,
        professionals=PROFESSIONALS,
        author_id="pro-ide",
        generated_at=GENERATED_AT,
    )
    return render_fhir_bundle(inp)


def _objective(bundle: dict[str, Any]) -> dict[str, Any]:
    resource: dict[str, Any] = next(
        e["resource"]
        for e in bundle["entry"]
        if any(p.endswith("tddui-goal-objectif") for p in e["resource"]["meta"]["profile"])
    )
    return resource


@pytest.fixture(scope="module")
def validated(api_as: Any, demo: dict[str, Any]) -> Validated:
    return new_validated(api_as, demo)


def test_a_bundle_from_another_structure_creates_a_draft_then_merges(
    live_server: LiveServer,
    api_as: Any,
    demo: dict[str, Any],
    validated: Validated,
    database: DatabaseInfo,
) -> None:
    api, client_id = _client(live_server, api_as, demo, "DUI du SAVS")
    person_id = validated.cercle.person_id
    _grant(api_as, person_id, client_id)
    bundle = _foreign_bundle(api, person_id)

    done = api.post("/fhir", json=bundle, headers=FHIR)
    assert done.status_code == 201, done.text
    answer = done.json()
    assert answer["type"] == "transaction-response"
    assert len(answer["entry"]) == len(bundle["entry"])
    located = [e["response"] for e in answer["entry"] if "location" in e["response"]]
    assert len(located) == 1
    ppa_id = located[0]["location"].removeprefix("CarePlan/")
    assert located[0]["outcome"]["issue"]  # what was written, listed
    coord = api_as(COORD)
    assert coord.get(f"/api/ppas/{ppa_id}").json()["content"] == sample_content().model_dump(
        mode="json"
    )
    row = _rows(
        database,
        sa.select(PPA.person_id, PPA.imported_identifier, PPA.imported_by_structure_id).where(
            PPA.id == ppa_id
        ),
    )
    assert row == [
        (person_id, f"3{STRUCTURE.finess}/{PERSON.local_id}-PPER-1", demo["structures"]["savs"])
    ]
    listed = coord.get(f"/api/persons/{person_id}/ppas").json()
    summary = next(p for p in listed if p["id"] == ppa_id)
    read = coord.get(f"/api/ppas/{ppa_id}").json()
    for shown in (summary, read):  # the coordinator sees where the draft came from
        assert shown["imported_identifier"] == row[0][1]
        assert shown["imported_by_structure_id"] == demo["structures"]["savs"]

    # the same projet sent again, one objective changed: merged into that draft, nothing else
    again = copy.deepcopy(bundle)
    first = sample_content().objectifs[0]
    goal = next(
        e["resource"]
        for e in again["entry"]
        if e["resource"].get("identifier", [{}])[0].get("value", "").endswith(f"-OBJE-{first.id}")
    )
    goal["description"]["text"] = "Décrit à nouveau par le DUI du SAVS"
    merged = api.post(f"/api/persons/{person_id}/ppas/import", json=again, headers=FHIR)
    assert merged.status_code == 200, merged.text
    assert merged.json() == {
        "ppa_id": ppa_id,
        "created": False,
        "changes": [f"objectifs.{first.id}.description"],
    }
    assert merged.headers["etag"]
    content = coord.get(f"/api/ppas/{ppa_id}").json()["content"]
    assert content["objectifs"][0]["description"] == "Décrit à nouveau par le DUI du SAVS"
    versions = _rows(
        database, sa.select(Version.kind, Version.created_by).where(Version.ppa_id == ppa_id)
    )
    assert ("checkpoint", client_id) in versions  # authored by the DUI
    traces = _rows(
        database,
        sa.select(AuditEvent.outcome).where(
            AuditEvent.action == "ppa.import", AuditEvent.actor_id == client_id
        ),
    )
    assert sorted(t[0] for t in traces) == ["ok", "ok"]

    # imported, then exported again (FHIR read of a version): passes TDDUI and FR Core checks
    assert coord.post(f"/api/ppas/{ppa_id}/versions", json={"label": "Import"}).status_code == 201
    served = api.get(f"/fhir/CarePlan/{ppa_id}")
    assert served.status_code == 200, served.text
    assert check_bundle(bundle_from_careplan(served.json())) == []


def test_a_malformed_bundle_is_refused_whole_with_each_issue(
    live_server: LiveServer,
    api_as: Any,
    demo: dict[str, Any],
    validated: Validated,
    database: DatabaseInfo,
) -> None:
    api, client_id = _client(live_server, api_as, demo, "DUI maladroit")
    person_id = validated.cercle.person_id
    _grant(api_as, person_id, client_id)
    bundle = _foreign_bundle(api, person_id)
    bundle["type"] = "batch"
    goal = _objective(bundle)
    goal["lifecycleStatus"] = "inconnu"
    del goal["description"]
    before = _rows(database, sa.select(sa.func.count(PPA.id)).where(PPA.person_id == person_id))

    refused = api.post("/fhir", json=bundle, headers=FHIR)
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"].startswith("application/fhir+json")
    outcome = refused.json()
    assert outcome["resourceType"] == "OperationOutcome"
    where = [i.get("expression", [""])[0] for i in outcome["issue"]]
    assert "Bundle.type" in where
    assert any(w.endswith(".lifecycleStatus") for w in where)
    assert any(w.endswith(".description") for w in where)
    assert all(i["diagnostics"] and i["severity"] == "error" for i in outcome["issue"])
    rest = api.post(f"/api/persons/{person_id}/ppas/import", json=bundle, headers=FHIR)
    assert rest.status_code == 422, rest.text
    assert len(rest.json()["problems"]) == len(outcome["issue"])
    assert _rows(database, sa.select(sa.func.count(PPA.id)).where(PPA.person_id == person_id)) == (
        before
    )


def test_a_validated_ppa_is_never_modified(
    live_server: LiveServer, api_as: Any, demo: dict[str, Any], validated: Validated
) -> None:
    coord = api_as(COORD)
    served = coord.get(f"/fhir/CarePlan/{validated.ppa_id}")
    assert served.status_code == 200, served.text
    bundle = bundle_from_careplan(served.json())
    before = coord.get(f"/api/ppas/{validated.ppa_id}").json()["content"]
    # sent again as it is (TDDUI only POSTs): a success that changes nothing, not a conflict
    import_url = f"/api/persons/{validated.cercle.person_id}/ppas/import"
    same = coord.post(import_url, json=bundle, headers=FHIR)
    assert same.status_code == 200, same.text
    assert same.json() == {"ppa_id": validated.ppa_id, "created": False, "changes": []}
    again = coord.post("/fhir", json=bundle, headers=FHIR)
    assert again.status_code == 200, again.text
    versions = coord.get(f"/api/ppas/{validated.ppa_id}/versions").json()
    goal = _objective(bundle)
    goal["description"]["text"] = "Changé sur une version validée"
    locked = coord.post(
        f"/api/persons/{validated.cercle.person_id}/ppas/import", json=bundle, headers=FHIR
    )
    assert locked.status_code == 409, locked.text
    assert coord.get(f"/api/ppas/{validated.ppa_id}").json()["content"] == before
    assert coord.get(f"/api/ppas/{validated.ppa_id}/versions").json() == versions


def test_without_the_grant_a_dui_gets_403_and_a_denied_trace(
    live_server: LiveServer,
    api_as: Any,
    demo: dict[str, Any],
    validated: Validated,
    database: DatabaseInfo,
) -> None:
    api, client_id = _client(live_server, api_as, demo, "DUI lecteur seulement")
    person_id = validated.cercle.person_id
    _grant(api_as, person_id, client_id, role="esms")
    bundle = _foreign_bundle(api, person_id)
    before = _rows(database, sa.select(sa.func.count(PPA.id)).where(PPA.person_id == person_id))
    refused = api.post("/fhir", json=bundle, headers=FHIR)
    assert refused.status_code == 403, refused.text
    assert refused.json()["resourceType"] == "OperationOutcome"
    rest = api.post(f"/api/persons/{person_id}/ppas/import", json=bundle, headers=FHIR)
    assert rest.status_code == 403, rest.text
    traces = _rows(
        database,
        sa.select(AuditEvent.outcome, AuditEvent.person_id).where(
            AuditEvent.action == "ppa.import", AuditEvent.actor_id == client_id
        ),
    )
    assert traces == [("denied", person_id), ("denied", person_id)]
    assert _rows(database, sa.select(sa.func.count(PPA.id)).where(PPA.person_id == person_id)) == (
        before
    )


@pytest.fixture
def second_server(settings: Any) -> Iterator[ServeProcess]:
    """``ppa serve`` in another process on the same database (another node behind a load
    balancer): nothing in memory is shared with the test's server."""
    server = ServeProcess(settings)
    server.start()
    yield server
    server.stop()


def test_an_etag_read_on_one_server_is_understood_by_another(
    live_server: LiveServer,
    second_server: ServeProcess,
    api_as: Any,
    demo: dict[str, Any],
    validated: Validated,
) -> None:
    api, client_id = _client(live_server, api_as, demo, "DUI derrière un répartiteur")
    person_id = validated.cercle.person_id
    _grant(api_as, person_id, client_id)
    draft = api_as(COORD).get(f"/api/persons/{person_id}/ppas").json()
    ppa_id = next(
        p["id"] for p in draft if p["id"] != validated.ppa_id and p["title"] == "PPA test"
    )
    read = api.get(f"/api/ppas/{ppa_id}")  # server A
    assert read.status_code == 200, read.text
    stale = read.headers["etag"]
    url = f"/api/ppas/{ppa_id}/content"
    other = Api(second_server.url, api.token)  # server B, same database
    _opened.append(other)
    assert (
        api_as(COORD).patch(url, json={"projet_de_vie": "Changé par la coordinatrice"}).status_code
        == 200
    )
    free = other.patch(
        url,
        json={"projet": {"modalite_communication": "Par écrit"}},
        headers={"If-Match": stale, "Content-Type": "application/merge-patch+json"},
    )
    assert free.status_code == 200, free.text  # B knows the state A served: no clash
    clash = other.patch(
        url,
        json={"projet_de_vie": "Écrasé ?"},
        headers={"If-Match": stale, "Content-Type": "application/merge-patch+json"},
    )
    assert clash.status_code == 412, clash.text
    assert clash.json()["fields"] == ["projet_de_vie"]
