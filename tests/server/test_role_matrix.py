"""Every role against every route: allowed, or 403 (member without the capability), or 404
(not a member, or opposed by the person), or 401 (no token)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from server.demo import demo_content
from tests.server.exports_api.support import validate
from tests.server.helpers import Cercle, build_cercle, random_rpps
from tests.server.versions.matrix import VERSION_ROUTES

COORD = "coordinatrice"
CONTRIB = "infirmier"
READER = "assistante-sociale"
PERSON = "usager"
AIDANT = "aidant"
ESMS = "esms"
AUDITOR = "auditeur"
OUTSIDER = "admin"
OPPOSED = "ergotherapeute"
ANON = "anonymous"
PRINCIPALS = [COORD, CONTRIB, READER, PERSON, AIDANT, ESMS, AUDITOR, OUTSIDER, OPPOSED, ANON]
MEMBERS = {COORD, CONTRIB, READER, PERSON, AIDANT, ESMS, AUDITOR}

Request = tuple[str, str, dict[str, Any] | None]


def _new_professional(api_as: Any) -> str:
    response = api_as(COORD).post(
        "/api/professionals",
        json={
            "first_name": "Test",
            "last_name": "Pro",
            "profession": "Éducateur",
            "rpps": random_rpps(),
        },
    )
    assert response.status_code == 201, response.text
    pro_id: str = response.json()["id"]
    return pro_id


_validated: dict[str, tuple[str, int, int]] = {}
"""person id -> (PPA id, validated version, draft version): built once per cercle."""


def _version_url(c: Cercle, api_as: Any, which: str, fmt: str) -> str:
    """Export URL of a validated PPA of the cercle's person (its draft or validated version)."""
    if c.person_id not in _validated:
        coord = api_as(COORD)
        structure = coord.get("/api/structures").json()[0]["id"]
        assert (
            coord.patch(f"/api/persons/{c.person_id}", json={"structure_id": structure}).status_code
            == 200
        )
        pros = {k: f"pro-{k}" for k in ("coordinatrice", "infirmier", "psychologue")}
        pros |= {"ergotherapeute": "pro-ergo", "assistante-sociale": "pro-as"}
        content = demo_content(pros).model_dump(mode="json")
        created = coord.post(f"/api/persons/{c.person_id}/ppas", json={"content": content})
        assert created.status_code == 201, created.text
        ppa_id = created.json()["id"]
        draft = coord.post(f"/api/ppas/{ppa_id}/versions", json={"label": "Brouillon"})
        assert draft.status_code == 201, draft.text
        _validated[c.person_id] = (ppa_id, validate(coord, ppa_id), draft.json()["number"])
    ppa_id, validated, draft_number = _validated[c.person_id]
    number = validated if which == "validated" else draft_number
    return f"/api/ppas/{ppa_id}/versions/{number}/exports/{fmt}"


DRAFT_READERS = {COORD, CONTRIB, READER, PERSON, AIDANT}

ROUTES: dict[str, tuple[Callable[[Cercle, Any], Request], set[str], int]] = {
    "GET person": (lambda c, _: ("GET", f"/api/persons/{c.person_id}", None), MEMBERS, 200),
    "PATCH person": (
        lambda c, _: ("PATCH", f"/api/persons/{c.person_id}", {"local_id": "L-1"}),
        {COORD},
        200,
    ),
    "GET cercle": (lambda c, _: ("GET", f"/api/persons/{c.person_id}/cercle", None), MEMBERS, 200),
    "POST cercle": (
        lambda c, api_as: (
            "POST",
            f"/api/persons/{c.person_id}/cercle",
            {
                "kind": "professional",
                "role": "reader",
                "professional_id": _new_professional(api_as),
            },
        ),
        {COORD},
        201,
    ),
    "PATCH cercle member": (
        lambda c, _: (
            "PATCH",
            f"/api/persons/{c.person_id}/cercle/{c.members[READER]}",
            {"role": "reader"},
        ),
        {COORD},
        200,
    ),
    "PUT opposition": (
        lambda c, _: (
            "PUT",
            f"/api/persons/{c.person_id}/cercle/{c.members[AIDANT]}/opposition",
            {"opposed": False},
        ),
        {COORD, PERSON},
        200,
    ),
    "GET person ppas": (
        lambda c, _: ("GET", f"/api/persons/{c.person_id}/ppas", None),
        MEMBERS,
        200,
    ),
    "POST person ppas": (
        lambda c, _: ("POST", f"/api/persons/{c.person_id}/ppas", {"title": "Nouveau"}),
        {COORD, CONTRIB},
        201,
    ),
    "GET ppa (draft)": (
        lambda c, _: ("GET", f"/api/ppas/{c.ppa_id}", None),
        {COORD, CONTRIB, READER, PERSON, AIDANT},
        200,
    ),
    "GET ppa problems": (
        lambda c, _: ("GET", f"/api/ppas/{c.ppa_id}/problems", None),
        {COORD, CONTRIB, READER, PERSON, AIDANT},
        200,
    ),
    "PATCH ppa": (
        lambda c, _: ("PATCH", f"/api/ppas/{c.ppa_id}", {"title": "Renommé"}),
        {COORD, CONTRIB},
        200,
    ),
    "GET audit": (lambda c, _: ("GET", f"/api/persons/{c.person_id}/audit", None), {AUDITOR}, 200),
    "GET export pdf (validated)": (
        lambda c, api_as: ("GET", _version_url(c, api_as, "validated", "pdf"), None),
        MEMBERS,
        200,
    ),
    "GET export fhir (validated)": (
        lambda c, api_as: ("GET", _version_url(c, api_as, "validated", "fhir"), None),
        MEMBERS,
        200,
    ),
    "GET export pdf (draft)": (
        lambda c, api_as: ("GET", _version_url(c, api_as, "draft", "pdf"), None),
        DRAFT_READERS,
        200,
    ),
    "GET export cda (draft: refused)": (
        lambda c, api_as: ("GET", _version_url(c, api_as, "draft", "cda"), None),
        DRAFT_READERS,
        409,
    ),
    "POST agenda feed (person)": (
        lambda c, _: ("POST", "/api/agenda-feeds", {"kind": "person", "person_id": c.person_id}),
        MEMBERS,
        201,
    ),
}
ROUTES.update(VERSION_ROUTES)


@pytest.fixture(scope="module")
def cercle(api_as: Any, demo: dict[str, Any]) -> Cercle:
    return build_cercle(api_as, demo, opposed=(OPPOSED,))


def expected_status(route: str, principal: str) -> int:
    _builder, allowed, ok = ROUTES[route]
    if principal == ANON:
        return 401
    if principal in allowed:
        return ok
    if principal in MEMBERS:
        return 403
    return 404


@pytest.mark.parametrize("principal", PRINCIPALS)
@pytest.mark.parametrize("route", list(ROUTES))
def test_role_route_matrix(route: str, principal: str, cercle: Cercle, api_as: Any) -> None:
    builder, _allowed, _ok = ROUTES[route]
    method, url, body = builder(cercle, api_as)
    response = api_as(principal).client.request(method, url, json=body)
    expected = expected_status(route, principal)
    assert response.status_code == expected, (route, principal, response.text)
    if expected >= 400:
        payload = response.json()
        assert set(payload) >= {"error", "detail"}
        assert payload["detail"]


def test_opposed_member_sees_nothing_in_lists(cercle: Cercle, api_as: Any) -> None:
    persons = api_as(OPPOSED).get("/api/persons").json()
    assert cercle.person_id not in {p["id"] for p in persons}
    ppas = api_as(OPPOSED).get("/api/ppas").json()
    assert cercle.ppa_id not in {p["id"] for p in ppas}


def test_lifting_opposition_restores_access(api_as: Any, demo: dict[str, Any]) -> None:
    fresh = build_cercle(api_as, demo, opposed=(READER,))
    assert api_as(READER).get(f"/api/ppas/{fresh.ppa_id}").status_code == 404
    response = api_as(PERSON).put(
        f"/api/persons/{fresh.person_id}/cercle/{fresh.members[READER]}/opposition",
        json={"opposed": False},
    )
    assert response.status_code == 200
    assert api_as(READER).get(f"/api/ppas/{fresh.ppa_id}").status_code == 200


def test_esms_lists_no_draft(cercle: Cercle, api_as: Any) -> None:
    ppas = api_as(ESMS).get(f"/api/persons/{cercle.person_id}/ppas").json()
    # The export routes above add a validated PPA to this person: the only one ESMS may list.
    assert cercle.ppa_id not in {p["id"] for p in ppas}
    assert all(p["status"] in ("validated", "superseded") for p in ppas)
    coordinator_view = api_as(COORD).get(f"/api/persons/{cercle.person_id}/ppas").json()
    assert cercle.ppa_id in {p["id"] for p in coordinator_view}


def test_last_coordinator_cannot_be_removed(cercle: Cercle, api_as: Any) -> None:
    response = api_as(COORD).patch(
        f"/api/persons/{cercle.person_id}/cercle/{cercle.members[COORD]}", json={"role": "reader"}
    )
    assert response.status_code == 409
    assert "coordinateur" in response.json()["detail"]
