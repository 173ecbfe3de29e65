"""The FHIR read API (/fhir): CapabilityStatement, CarePlan (TDDUI) and CareTeam (CDS) under the
cercle rules, OperationOutcome errors, ETags, audit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa
from fastapi.routing import iter_route_contexts

from exports.fhir_contained import bundle_from_careplan
from exports.tddui_checks import check_bundle
from server.models import AuditEvent
from tests.conftest import Api, DatabaseInfo, LiveServer
from tests.server.exports_api.support import COORD, ESMS, Validated, new_validated
from tests.server.helpers import build_cercle

FHIR_JSON = "application/fhir+json"


@pytest.fixture(scope="module")
def ppa(api_as: Any, demo: dict[str, Any]) -> Validated:
    return new_validated(api_as, demo, opposed=("ergotherapeute",))


def _ins(api: Api, v: Validated) -> str:
    person = api.get(f"/api/persons/{v.person_id}").json()
    return f"urn:oid:{person['ins_oid']}|{person['ins_matricule']}"


def _outcome(response: Any, status: int) -> list[dict[str, Any]]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(FHIR_JSON)
    body = response.json()
    assert body["resourceType"] == "OperationOutcome"
    issues: list[dict[str, Any]] = body["issue"]
    assert all(i["severity"] == "error" and i["diagnostics"] for i in issues)
    return issues


def test_capability_statement_lists_exactly_the_routes(
    live_server: LiveServer, api_as: Any
) -> None:
    response = api_as("anonymous").get("/fhir/metadata")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(FHIR_JSON)
    cs = response.json()
    assert cs["resourceType"] == "CapabilityStatement"
    assert cs["fhirVersion"] == "4.0.1"
    served = set()
    for res in cs["rest"][0]["resource"]:
        for interaction in res["interaction"]:
            served.add((res["type"], interaction["code"]))
    paths = {
        (m, str(c.route.path_format))  # type: ignore[attr-defined]
        for c in iter_route_contexts(live_server.app.routes)
        for m in (getattr(c.route, "methods", None) or ())
        if str(getattr(c.route, "path_format", "")) == "/fhir"
        or str(getattr(c.route, "path_format", "")).startswith("/fhir/")
    }
    expected = {("GET", "/fhir/metadata")}
    system = {i["code"] for i in cs["rest"][0].get("interaction", [])}
    assert system == {"transaction"}
    expected.add(("POST", "/fhir"))
    urls = {
        "read": ("GET", "/fhir/{t}/{{id}}"),
        "vread": ("GET", "/fhir/{t}/{{id}}/_history/{{vid}}"),
        "history-instance": ("GET", "/fhir/{t}/{{id}}/_history"),
        "search-type": ("GET", "/fhir/{t}"),
        "create": ("POST", "/fhir/{t}"),
        "delete": ("DELETE", "/fhir/{t}/{{id}}"),
    }
    for rtype, code in served:
        method, url = urls[code]
        expected.add((method, url.format(t=rtype)))
    assert ("Subscription", "create") in served
    ids = {
        "{ppa_id}": "{id}",
        "{person_id}": "{id}",
        "{subscription_id}": "{id}",
        "{number}": "{vid}",
    }

    def norm(path: str) -> str:
        for a, b in ids.items():
            path = path.replace(a, b)
        return path

    assert {(m, norm(p)) for m, p in paths} == expected


def test_careplan_search_read_and_etag(api_as: Any, ppa: Validated) -> None:
    esms = api_as(ESMS)
    found = esms.get("/fhir/CarePlan", params={"patient.identifier": _ins(api_as(COORD), ppa)})
    assert found.status_code == 200, found.text
    bundle = found.json()
    assert (bundle["type"], bundle["total"]) == ("searchset", 1)
    careplan = bundle["entry"][0]["resource"]
    assert careplan["id"] == ppa.ppa_id
    assert careplan["status"] == "active"
    assert careplan["meta"]["versionId"] == str(ppa.validated)
    assert check_bundle(bundle_from_careplan(careplan), ppa.content) == []

    read = esms.get(f"/fhir/CarePlan/{ppa.ppa_id}")
    assert read.status_code == 200
    assert read.json() == careplan
    etag = read.headers["etag"]
    assert etag == f'W/"{ppa.validated}"'
    again = esms.get(f"/fhir/CarePlan/{ppa.ppa_id}", headers={"If-None-Match": etag})
    assert again.status_code == 304

    # the self link states the parameters used; one the server does not know is ignored
    ins = _ins(api_as(COORD), ppa)
    lenient = esms.get("/fhir/CarePlan", params={"patient.identifier": ins, "status": "active"})
    assert lenient.json()["total"] == 1
    for rtype in ("CarePlan", "CareTeam"):
        searched = esms.get(f"/fhir/{rtype}", params={"patient.identifier": ins, "x": "1"}).json()
        (link,) = searched["link"]
        assert link["relation"] == "self"
        url = urlsplit(link["url"])
        assert url.path.endswith(f"/fhir/{rtype}")
        assert parse_qs(url.query) == {"patient.identifier": [ins]}

    # an unknown INS: an empty searchset, not an error
    empty = esms.get(
        "/fhir/CarePlan", params={"patient.identifier": "urn:oid:1.2.250.1.213.1.4.10|1"}
    )
    assert empty.json()["total"] == 0


def test_careplan_reads_say_when_it_changed(api_as: Any, ppa: Validated) -> None:
    """Last-Modified (HTTP-date of meta.lastUpdated) on read and vread; If-Modified-Since
    gives 304 from that date on, 200 before it; If-None-Match decides when both are sent."""
    esms = api_as(ESMS)
    base = f"/fhir/CarePlan/{ppa.ppa_id}"
    for url in (base, f"{base}/_history/{ppa.validated}"):
        read = esms.get(url)
        assert read.status_code == 200, read.text
        modified = parsedate_to_datetime(read.headers["last-modified"])
        assert read.headers["last-modified"].endswith(" GMT")
        updated = datetime.fromisoformat(read.json()["meta"]["lastUpdated"])
        assert modified == updated.replace(tzinfo=updated.tzinfo or UTC)
        same = esms.get(url, headers={"If-Modified-Since": read.headers["last-modified"]})
        assert same.status_code == 304
        assert same.headers["etag"] == read.headers["etag"]
        earlier = format_datetime(modified - timedelta(seconds=1), usegmt=True)
        assert esms.get(url, headers={"If-Modified-Since": earlier}).status_code == 200
        assert esms.get(url, headers={"If-Modified-Since": "pas une date"}).status_code == 200
        both = {"If-Modified-Since": read.headers["last-modified"], "If-None-Match": 'W/"0"'}
        assert esms.get(url, headers=both).status_code == 200


def test_drafts_are_for_writers_only(api_as: Any, ppa: Validated) -> None:
    coord, esms = api_as(COORD), api_as(ESMS)
    opened = coord.post(f"/api/ppas/{ppa.ppa_id}/avenant")
    assert opened.status_code in (200, 201), opened.text
    named = coord.post(f"/api/ppas/{ppa.ppa_id}/versions", json={"label": "Après validation"})
    assert named.status_code == 201, named.text
    draft = named.json()["number"]
    mine = coord.get(f"/fhir/CarePlan/{ppa.ppa_id}").json()
    assert (mine["status"], mine["meta"]["versionId"]) == ("draft", str(draft))
    theirs = esms.get(f"/fhir/CarePlan/{ppa.ppa_id}").json()
    assert (theirs["status"], theirs["meta"]["versionId"]) == ("active", str(ppa.validated))
    issues = _outcome(esms.get(f"/fhir/CarePlan/{ppa.ppa_id}/_history/{draft}"), 403)
    assert "brouillons" in issues[0]["diagnostics"]
    ok = esms.get(f"/fhir/CarePlan/{ppa.ppa_id}/_history/{ppa.validated}")
    assert ok.status_code == 200
    history = esms.get(f"/fhir/CarePlan/{ppa.ppa_id}/_history").json()
    assert history["type"] == "history"
    assert [e["resource"]["meta"]["versionId"] for e in history["entry"]] == [str(ppa.validated)]
    everything = coord.get(f"/fhir/CarePlan/{ppa.ppa_id}/_history").json()
    assert str(draft) in [e["resource"]["meta"]["versionId"] for e in everything["entry"]]


def test_history_pages_through_every_version(api_as: Any, ppa: Validated) -> None:
    """`total` counts every version the caller reads; `next` links page through them all."""
    coord = api_as(COORD)
    url = f"/fhir/CarePlan/{ppa.ppa_id}/_history"
    full = coord.get(url, params={"_count": 50}).json()
    numbers = [e["resource"]["meta"]["versionId"] for e in full["entry"]]
    assert len(numbers) >= 2
    assert full["total"] == len(numbers)
    assert [link["relation"] for link in full["link"]] == ["self"]
    seen: list[str] = []
    page = coord.get(url, params={"_count": 1}).json()
    while True:
        assert page["total"] == len(numbers)
        seen += [e["resource"]["meta"]["versionId"] for e in page["entry"]]
        links = {link["relation"]: link["url"] for link in page["link"]}
        assert ("previous" in links) == (len(seen) > 1)
        if "next" not in links:
            break
        parts = urlsplit(links["next"])
        assert parts.path.endswith(url)
        page = coord.get(f"{url}?{parts.query}").json()
    assert seen == numbers
    readers = api_as(ESMS).get(url, params={"_count": 1}).json()
    assert readers["total"] == 1  # the validated version only


def test_careteam_without_opposed_members(api_as: Any, ppa: Validated) -> None:
    esms = api_as(ESMS)
    found = esms.get("/fhir/CareTeam", params={"patient.identifier": _ins(api_as(COORD), ppa)})
    assert found.status_code == 200, found.text
    (entry,) = found.json()["entry"]
    team = entry["resource"]
    assert team["meta"]["profile"] == [
        "https://interop.esante.gouv.fr/ig/fhir/cds/StructureDefinition/cds-ihe-careteam"
    ]
    assert len(team["identifier"]) == 1
    assert team["subject"]["identifier"]["value"] == _ins(api_as(COORD), ppa).split("|")[1]
    members = api_as(COORD).get(f"/api/persons/{ppa.person_id}/cercle").json()
    opposed = {m["display_name"] for m in members if m["opposed"]}
    assert opposed
    shown = {p["member"]["display"] for p in team["participant"]}
    assert not shown & opposed
    assert all(p["period"]["start"] for p in team["participant"])
    contained = {c["id"] for c in team["contained"]}
    assert {p["member"]["reference"][1:] for p in team["participant"]} == contained
    read = esms.get(f"/fhir/CareTeam/{ppa.person_id}")
    assert read.json() == team
    assert (
        esms.get(
            f"/fhir/CareTeam/{ppa.person_id}", headers={"If-None-Match": read.headers["etag"]}
        ).status_code
        == 304
    )


def test_careteam_keeps_who_left_with_their_period(api_as: Any, demo: dict[str, Any]) -> None:
    """CDS: a member who left keeps their participant entry with period.end; rejoining is a
    new entry; a member the person opposed stays absent after leaving."""
    coord = api_as(COORD)
    cercle = build_cercle(api_as, demo, opposed=("ergotherapeute",))
    url = f"/api/persons/{cercle.person_id}/cercle"
    rows = {m["id"]: m for m in coord.get(url).json()}
    nurse = rows[cercle.members["infirmier"]]
    opposed = rows[cercle.members["ergotherapeute"]]
    for member in (nurse, opposed):
        assert coord.delete(f"{url}/{member['id']}").status_code == 204
    back = coord.post(
        url, json={"kind": "professional", "role": "reader", "user_id": nurse["user_id"]}
    )
    assert back.status_code == 201, back.text

    team = coord.get(f"/fhir/CareTeam/{cercle.person_id}").json()
    periods = [
        p["period"] for p in team["participant"] if p["member"]["display"] == nurse["display_name"]
    ]
    assert len(periods) == 2, team["participant"]
    left, rejoined = periods
    assert left["start"] <= left["end"] <= rejoined["start"]
    assert "end" not in rejoined
    shown = [p["member"]["display"] for p in team["participant"]]
    assert opposed["display_name"] not in shown
    assert sum("end" in p["period"] for p in team["participant"]) == 1
    contained = {c["id"] for c in team["contained"]}
    assert {p["member"]["reference"][1:] for p in team["participant"]} == contained


def test_errors_are_operation_outcomes(api_as: Any, ppa: Validated) -> None:
    _outcome(api_as("anonymous").get(f"/fhir/CarePlan/{ppa.ppa_id}"), 401)
    issues = _outcome(api_as(ESMS).get("/fhir/CarePlan/inconnu"), 404)
    assert "introuvable" in issues[0]["diagnostics"]
    issues = _outcome(api_as(ESMS).get("/fhir/CarePlan", params={"patient.identifier": "x"}), 422)
    assert issues[0]["expression"] == ["patient.identifier"]
    assert issues[0]["diagnostics"].startswith("format invalide : attendu <système INS>|")
    assert "urn:oid:1.2.250.1.213.1.4.8" in issues[0]["diagnostics"]
    missing = _outcome(api_as(ESMS).get("/fhir/CareTeam"), 422)
    assert missing[0]["expression"] == ["patient.identifier"]
    assert "champ obligatoire manquant : attendu" in missing[0]["diagnostics"]
    _outcome(api_as("ergotherapeute").get(f"/fhir/CareTeam/{ppa.person_id}"), 404)


def test_a_format_other_than_json_is_a_406(api_as: Any) -> None:
    """JSON only: _format (which overrides Accept) or Accept asking for XML only gets 406."""
    anon = api_as("anonymous")
    xml = {"Accept": "application/fhir+xml"}
    issues = _outcome(anon.get("/fhir/metadata", headers=xml), 406)
    assert "JSON" in issues[0]["diagnostics"]
    _outcome(anon.get("/fhir/metadata", params={"_format": "xml"}), 406)
    assert anon.get("/fhir/metadata", params={"_format": "json"}, headers=xml).status_code == 200
    hapi = "application/fhir+xml;q=1.0, application/fhir+json;q=1.0, application/xml+fhir;q=0.9"
    for accept in (hapi, "application/fhir+json; fhirVersion=4.0", "*/*", "text/html, */*;q=0.8"):
        assert anon.get("/fhir/metadata", headers={"Accept": accept}).status_code == 200, accept
    _outcome(anon.get("/fhir/metadata", headers={"Accept": "application/json;q=0"}), 406)


def test_reads_are_audited(database: DatabaseInfo, api_as: Any, ppa: Validated) -> None:
    api_as(ESMS).get(f"/fhir/CarePlan/{ppa.ppa_id}")
    api_as("ergotherapeute").get(f"/fhir/CarePlan/{ppa.ppa_id}")
    engine = sa.create_engine(database.sync_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.select(AuditEvent.action, AuditEvent.outcome).where(
                    AuditEvent.object_id == ppa.ppa_id,
                    AuditEvent.action == "fhir.careplan.read",
                )
            ).all()
    finally:
        engine.dispose()
    assert ("fhir.careplan.read", "ok") in rows
    assert ("fhir.careplan.read", "denied") in rows
