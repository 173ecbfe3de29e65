"""Every role against every route: allowed, or 403 (member without the capability), or 404
(not a member, or opposed by the person), or 401 (no token). Each runs twice: with bearer tokens
(API clients, scripts) and with browser sessions (cookie and CSRF token; ESMS keeps its token).

``ROUTES`` holds the routes on one person's data (the cercle role decides); ``GLOBAL_ROUTES`` the
others (the kind of account decides). ``test_matrix_covers_every_route`` checks that every route
of the app is in one of them or on the short ``EXEMPT`` list, with its reason."""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.routing import APIWebSocketRoute, iter_route_contexts
from starlette.routing import Mount, Route

from server.people.identifiers import luhn_key
from tests.conftest import LiveServer
from tests.factories import recent_start, valid_ppa
from tests.server.comments.matrix import COMMENT_ROUTES
from tests.server.exports_api.support import validate
from tests.server.helpers import Cercle, build_cercle, person_body, random_rpps
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


def _new_member(c: Cercle, api_as: Any) -> str:
    """A fresh reader of the cercle (added by the coordinator), for a principal to remove."""
    response = api_as(COORD).post(
        f"/api/persons/{c.person_id}/cercle",
        json={
            "kind": "professional",
            "role": "reader",
            "professional_id": _new_professional(api_as),
        },
    )
    assert response.status_code == 201, response.text
    member_id: str = response.json()["id"]
    return member_id


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
        content = valid_ppa(fresh_ids=True, start=recent_start()).model_dump(mode="json")
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


def _transmissions_url(c: Cercle, api_as: Any) -> str:
    """Transmissions of the cercle's validated version (MSSanté, DMP: issue 14)."""
    return _version_url(c, api_as, "validated", "pdf").split("/exports")[0] + "/transmissions"


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
    "DELETE cercle member": (
        lambda c, api_as: (
            "DELETE",
            f"/api/persons/{c.person_id}/cercle/{_new_member(c, api_as)}",
            None,
        ),
        {COORD},
        204,
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
    "GET person timeline": (
        lambda c, _: ("GET", f"/api/persons/{c.person_id}/timeline", None),
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
    "PATCH content": (
        lambda c, _: ("PATCH", f"/api/ppas/{c.ppa_id}/content", {"projet_de_vie": "Écrit"}),
        {COORD, CONTRIB},
        200,
    ),
    "GET person agreement": (
        lambda c, _: ("GET", f"/api/ppas/{c.ppa_id}/person-agreement", None),
        DRAFT_READERS,
        200,
    ),
    "POST person agreement": (
        lambda c, _: ("POST", f"/api/ppas/{c.ppa_id}/person-agreement", {"accord": True}),
        {PERSON, AIDANT},
        201,
    ),
    "GET draft pdf": (
        lambda c, api_as: (
            "GET",
            # the PPA of the cercle's person attached to a structure (an export needs one)
            _version_url(c, api_as, "draft", "pdf").split("/versions/")[0] + "/draft/pdf",
            None,
        ),
        DRAFT_READERS,
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
    "GET export docx (draft)": (
        lambda c, api_as: ("GET", _version_url(c, api_as, "draft", "docx"), None),
        DRAFT_READERS,
        200,
    ),
    "GET version (draft of the exported PPA)": (
        lambda c, api_as: (
            "GET",
            _version_url(c, api_as, "draft", "pdf").split("/exports")[0],
            None,
        ),
        DRAFT_READERS | {AUDITOR},
        200,
    ),
    "GET export cda (draft: refused)": (
        lambda c, api_as: ("GET", _version_url(c, api_as, "draft", "cda"), None),
        DRAFT_READERS,
        409,
    ),
    "GET transmissions": (
        lambda c, api_as: ("GET", _transmissions_url(c, api_as), None),
        DRAFT_READERS | {AUDITOR},
        200,
    ),
    "POST transmission (channel not configured here)": (
        lambda c, api_as: ("POST", _transmissions_url(c, api_as), {"channel": "dmp"}),
        {COORD},
        409,
    ),
    "POST fiche MDPH (not an avenant)": (
        lambda c, api_as: (
            "POST",
            _transmissions_url(c, api_as).replace("/transmissions", "/fiche-mdph"),
            {},
        ),
        {COORD},
        409,
    ),
    "POST agenda feed (person)": (
        lambda c, _: ("POST", "/api/agenda-feeds", {"kind": "person", "person_id": c.person_id}),
        MEMBERS,
        201,
    ),
}
ROUTES.update(VERSION_ROUTES)
ROUTES.update(COMMENT_ROUTES)


@pytest.fixture(scope="module")
def cercle(api_as: Any, demo: dict[str, Any]) -> Cercle:
    return build_cercle(api_as, demo, opposed=(OPPOSED,))


@pytest.fixture(params=["bearer", "cookie"])
def caller_as(request: pytest.FixtureRequest, api_as: Any, session_as: Any) -> Any:
    """Who sends the request under test: logged in with a bearer token or a session cookie."""
    return api_as if request.param == "bearer" else session_as


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
def test_role_route_matrix(
    route: str, principal: str, cercle: Cercle, api_as: Any, caller_as: Any
) -> None:
    builder, _allowed, _ok = ROUTES[route]
    method, url, body = builder(cercle, api_as)
    response = caller_as(principal).client.request(method, url, json=body)
    expected = expected_status(route, principal)
    assert response.status_code == expected, (route, principal, response.text)
    if expected >= 400:
        payload = response.json()
        assert set(payload) >= {"error", "detail"}
        assert payload["detail"]


PROFESSIONALS = {COORD, CONTRIB, READER, OPPOSED}
"""Professional accounts (OPPOSED is one too: the person's opposition is about one cercle)."""
AUTHENTICATED = set(PRINCIPALS) - {ANON}
DIRECTORY = PROFESSIONALS | {OUTSIDER}
"""Who keeps the directory of structures and professionals: professionals and the admin."""


@dataclass(frozen=True)
class GlobalRoute:
    """A route not tied to one person: the account kind decides, not a cercle role."""

    build: Callable[[Cercle, Any], Request]
    allowed: set[str]
    ok: int
    refused: int = 403
    """Status of every other authenticated principal."""
    anonymous: int = 401


def _random_finess() -> str:
    payload = f"{random.randint(1, 95):02d}{random.randint(0, 999_999):06d}"
    return payload + luhn_key(payload)


def _head_size(api_as: Any) -> int:
    """Size of the latest signed tree head of the log (sealing the audit trail if none yet)."""
    latest = api_as(COORD).get("/api/log/heads/latest")
    if latest.status_code == 404:
        assert api_as(AUDITOR).post("/api/log/audit-checkpoints").status_code == 200
        latest = api_as(COORD).get("/api/log/heads/latest")
    assert latest.status_code == 200, latest.text
    size: int = latest.json()["tree_size"]
    return size


WEBHOOK_URL = "https://dui.example.org/role-matrix"
"""Webhooks registered by the matrix (disabled again when the module ends)."""


_webhooks: list[str] = []


def _webhook(api_as: Any) -> str:
    """The matrix's webhook of the ESMS client (one per module: at most 10 active per client)."""
    if not _webhooks:
        response = api_as(ESMS).post(
            "/api/esms/webhooks", json={"url": WEBHOOK_URL, "secret": "s" * 32}
        )
        assert response.status_code == 201, response.text
        _webhooks.append(response.json()["id"])
    return _webhooks[0]


def _agenda_feed(c: Cercle, api_as: Any) -> tuple[str, str]:
    """(id, path) of a new subscription of the coordinator to the cercle person's agenda."""
    response = api_as(COORD).post(
        "/api/agenda-feeds", json={"kind": "person", "person_id": c.person_id}
    )
    assert response.status_code == 201, response.text
    feed = response.json()
    path = "/" + feed["url"].split("://", 1)[1].split("/", 1)[1]
    return feed["id"], path


def _revoked_feed(c: Cercle, api_as: Any) -> str:
    feed_id, path = _agenda_feed(c, api_as)
    assert api_as(COORD).delete(f"/api/agenda-feeds/{feed_id}").status_code == 204
    return path


def _new_api_client(api_as: Any) -> str:
    """A fresh API client (created by the admin), for a principal to revoke."""
    response = api_as(OUTSIDER).post("/api/api-clients", json={"name": "DUI à révoquer"})
    assert response.status_code == 201, response.text
    client_id: str = response.json()["id"]
    return client_id


def _user_id(api_as: Any, username: str) -> str:
    user_id: str = api_as(username).get("/api/auth/me").json()["id"]
    return user_id


GLOBAL_ROUTES: dict[str, GlobalRoute] = {
    "GET auth me": GlobalRoute(lambda c, _: ("GET", "/api/auth/me", None), AUTHENTICATED, 200),
    "POST persons": GlobalRoute(
        lambda c, _: ("POST", "/api/persons", person_body()), PROFESSIONALS, 201
    ),
    "GET persons": GlobalRoute(lambda c, _: ("GET", "/api/persons", None), AUTHENTICATED, 200),
    "GET ppas": GlobalRoute(lambda c, _: ("GET", "/api/ppas", None), AUTHENTICATED, 200),
    "GET overview": GlobalRoute(lambda c, _: ("GET", "/api/overview", None), AUTHENTICATED, 200),
    "GET professionals": GlobalRoute(
        lambda c, _: ("GET", "/api/professionals", None), DIRECTORY, 200
    ),
    "POST professionals": GlobalRoute(
        lambda c, _: (
            "POST",
            "/api/professionals",
            {"first_name": "A", "last_name": "B", "profession": "Éducateur", "rpps": random_rpps()},
        ),
        DIRECTORY,
        201,
    ),
    "GET structures": GlobalRoute(lambda c, _: ("GET", "/api/structures", None), DIRECTORY, 200),
    "POST structures": GlobalRoute(
        lambda c, _: (
            "POST",
            "/api/structures",
            {"finess": _random_finess(), "name": "Structure de la matrice"},
        ),
        DIRECTORY,
        201,
    ),
    "POST api-clients": GlobalRoute(
        lambda c, _: ("POST", "/api/api-clients", {"name": "DUI matrice"}), {OUTSIDER}, 201
    ),
    "GET api-clients": GlobalRoute(lambda c, _: ("GET", "/api/api-clients", None), {OUTSIDER}, 200),
    "DELETE api-client (a new one)": GlobalRoute(
        lambda c, api_as: ("DELETE", f"/api/api-clients/{_new_api_client(api_as)}", None),
        {OUTSIDER},
        204,
    ),
    # Reactivating an active account changes nothing: the demo logins stay usable.
    "PATCH user (reactivate the contributor)": GlobalRoute(
        lambda c, api_as: ("PATCH", f"/api/users/{_user_id(api_as, CONTRIB)}", {"is_active": True}),
        {OUTSIDER},
        200,
    ),
    "GET serafin search": GlobalRoute(
        lambda c, _: ("GET", "/api/terminology/serafin?q=logement", None), AUTHENTICATED, 200
    ),
    "GET serafin tree": GlobalRoute(
        lambda c, _: ("GET", "/api/terminology/serafin/tree", None), AUTHENTICATED, 200
    ),
    "GET serafin code": GlobalRoute(
        lambda c, _: ("GET", "/api/terminology/serafin/1.3.2.1", None), AUTHENTICATED, 200
    ),
    "GET log latest head": GlobalRoute(
        lambda c, _: ("GET", "/api/log/heads/latest", None), AUTHENTICATED, 200
    ),
    "GET log head": GlobalRoute(
        lambda c, api_as: ("GET", f"/api/log/heads/{_head_size(api_as)}", None),
        AUTHENTICATED,
        200,
    ),
    "GET log consistency": GlobalRoute(
        lambda c, api_as: ("GET", f"/api/log/consistency?from={_head_size(api_as)}", None),
        AUTHENTICATED,
        200,
    ),
    "POST log audit-checkpoints": GlobalRoute(
        lambda c, _: ("POST", "/api/log/audit-checkpoints", None), {AUDITOR, OUTSIDER}, 200
    ),
    # The structures' software only (least privilege; filtered by its cercles as well).
    "GET esms feed": GlobalRoute(lambda c, _: ("GET", "/api/esms/feed", None), {ESMS}, 200),
    "GET esms webhooks": GlobalRoute(lambda c, _: ("GET", "/api/esms/webhooks", None), {ESMS}, 200),
    "POST esms webhooks": GlobalRoute(
        lambda c, _: ("POST", "/api/esms/webhooks", {"url": WEBHOOK_URL, "secret": "s" * 32}),
        {ESMS},
        201,
    ),
    "DELETE esms webhook": GlobalRoute(
        lambda c, api_as: ("DELETE", f"/api/esms/webhooks/{_webhook(api_as)}", None),
        {ESMS},
        204,
    ),
    "GET esms webhook deliveries": GlobalRoute(
        lambda c, api_as: ("GET", f"/api/esms/webhooks/{_webhook(api_as)}/deliveries", None),
        {ESMS},
        200,
    ),
    # Personal accounts only: a structure's software has no bell.
    "GET my notifications": GlobalRoute(
        lambda c, _: ("GET", "/api/me/notifications", None), AUTHENTICATED - {ESMS}, 200
    ),
    "GET my unread count": GlobalRoute(
        lambda c, _: ("GET", "/api/me/notifications/unread", None), AUTHENTICATED - {ESMS}, 200
    ),
    "POST my notifications read": GlobalRoute(
        lambda c, _: ("POST", "/api/me/notifications/read", {"ids": []}),
        AUTHENTICATED - {ESMS},
        200,
    ),
    "GET my notification preferences": GlobalRoute(
        lambda c, _: ("GET", "/api/me/notification-preferences", None),
        AUTHENTICATED - {ESMS},
        200,
    ),
    "PUT my notification preferences (nothing)": GlobalRoute(
        lambda c, _: ("PUT", "/api/me/notification-preferences", {}),
        AUTHENTICATED - {ESMS},
        200,
    ),
    # No SMS gateway on the session's server: 409 once the account is accepted.
    "PUT my mobile": GlobalRoute(
        lambda c, _: ("PUT", "/api/me/mobile", {"mobile": "+33612345678"}),
        AUTHENTICATED - {ESMS},
        409,
    ),
    "POST my mobile verify (no code pending)": GlobalRoute(
        lambda c, _: ("POST", "/api/me/mobile/verify", {"code": "123456"}),
        AUTHENTICATED - {ESMS},
        409,
    ),
    "DELETE my mobile": GlobalRoute(
        lambda c, _: ("DELETE", "/api/me/mobile", None), AUTHENTICATED - {ESMS}, 204
    ),
    "GET agenda feeds": GlobalRoute(
        lambda c, _: ("GET", "/api/agenda-feeds", None), AUTHENTICATED, 200
    ),
    "POST agenda feed (own, professional)": GlobalRoute(
        lambda c, _: ("POST", "/api/agenda-feeds", {"kind": "professional"}), PROFESSIONALS, 201
    ),
    "DELETE agenda feed (the coordinator's)": GlobalRoute(
        lambda c, api_as: ("DELETE", f"/api/agenda-feeds/{_agenda_feed(c, api_as)[0]}", None),
        {COORD},
        204,
        refused=404,
    ),
    # The token in the path is the credential (calendar applications send no header).
    "GET agenda .ics": GlobalRoute(
        lambda c, api_as: ("GET", _agenda_feed(c, api_as)[1], None),
        AUTHENTICATED,
        200,
        anonymous=200,
    ),
    "GET agenda .ics (revoked)": GlobalRoute(
        lambda c, api_as: ("GET", _revoked_feed(c, api_as), None),
        set(),
        200,
        refused=404,
        anonymous=404,
    ),
}


@pytest.fixture(scope="module", autouse=True)
def _disable_matrix_webhooks(api_as: Any) -> Iterator[None]:
    yield
    esms = api_as(ESMS)
    for hook in esms.get("/api/esms/webhooks").json():
        if hook["url"] == WEBHOOK_URL and hook["disabled_at"] is None:
            assert esms.delete(f"/api/esms/webhooks/{hook['id']}").status_code == 204


def expected_global_status(route: str, principal: str) -> int:
    row = GLOBAL_ROUTES[route]
    if principal == ANON:
        return row.anonymous
    return row.ok if principal in row.allowed else row.refused


@pytest.mark.parametrize("principal", PRINCIPALS)
@pytest.mark.parametrize("route", list(GLOBAL_ROUTES))
def test_global_route_matrix(
    route: str, principal: str, cercle: Cercle, api_as: Any, caller_as: Any
) -> None:
    method, url, body = GLOBAL_ROUTES[route].build(cercle, api_as)
    response = caller_as(principal).client.request(method, url, json=body)
    expected = expected_global_status(route, principal)
    assert response.status_code == expected, (route, principal, response.text)
    if expected >= 400:
        payload = response.json()
        assert set(payload) >= {"error", "detail"}
        assert payload["detail"]


EXEMPT: dict[tuple[str, str], str] = {
    (
        "POST",
        "/api/auth/token",
    ): "login itself (anonymous by design): tests/server/test_auth_errors.py",
    ("POST", "/api/auth/login"): "browser login: tests/server/test_browser_session.py",
    ("POST", "/api/auth/logout"): "browser logout: tests/server/test_browser_session.py",
    ("GET", "/api/auth/session"): "the browser's session: tests/server/test_browser_session.py",
    ("GET", "/api/auth/providers"): "the logins offered (public, no data): tests/server/oidc",
    (
        "GET",
        "/api/auth/psc/login",
    ): "starts a Pro Santé Connect login (anonymous): tests/server/oidc",
    ("GET", "/api/auth/psc/callback"): "the provider's return (anonymous): tests/server/oidc",
    ("GET", "/api/auth/psc/practice"): "the PSC session's own practice: tests/server/oidc",
    ("GET", "/api/health"): "liveness probe: no data, no token",
    (
        "GET",
        "/api/me/notifications/stream",
    ): "live bell (an endless stream): tests/e2e/test_bell.py, refusals in test_emission.py",
    (
        "GET",
        "/api/notifications/unsubscribe/{token}",
    ): "email unsubscribe link (the token is the credential): tests/server/notifications",
    (
        "POST",
        "/api/notifications/unsubscribe/{token}",
    ): "RFC 8058 one-click unsubscribe (token): tests/server/notifications/test_email.py",
    (
        "GET",
        "/api/ppas/{ppa_id}/comments/stream",
    ): "live comments (an endless stream): tests/server/comments/test_comments_api.py",
    ("WS", "/ws/ppa/{ppa_id}"): "WebSocket: every role in tests/collab/test_ws_access.py",
    ("GET", "/"): "the browser editor's page (static, no data)",
    ("MOUNT", "/assets"): "the browser editor's static files (no data)",
    ("GET", "/openapi.json"): "OpenAPI description (no data)",
    ("GET", "/docs"): "OpenAPI documentation page (no data)",
    ("GET", "/api/docs-assets/swagger-init.js"): "OpenAPI documentation page (no data)",
    ("MOUNT", "/api/docs-assets"): "Swagger UI's static files (no data)",
    ("GET", "/fhir/metadata"): "FHIR CapabilityStatement (no data, no token)",
    ("POST", "/fhir"): "TDDUI import (the body names the person by INS): granted DUI, esms "
    "DUI (403 + denied trace), coordinator, malformed bundle in tests/server/test_tddui_import.py",
    (
        "POST",
        "/api/persons/{person_id}/ppas/import",
    ): "TDDUI import (a bundle for the person's INS): tests/server/test_tddui_import.py",
    **{
        (
            "GET",
            path,
        ): "FHIR read API: esms, writer, opposed, anonymous in tests/server/test_fhir_api.py"
        for path in (
            "/fhir/CarePlan",
            "/fhir/CarePlan/{ppa_id}",
            "/fhir/CarePlan/{ppa_id}/_history",
            "/fhir/CarePlan/{ppa_id}/_history/{number}",
            "/fhir/CareTeam",
            "/fhir/CareTeam/{person_id}",
        )
    },
    **dict.fromkeys(
        (
            ("POST", "/fhir/Subscription"),
            ("GET", "/fhir/Subscription/{subscription_id}"),
            ("DELETE", "/fhir/Subscription/{subscription_id}"),
        ),
        "NdE subscriptions: API client in the cercle, outside, opposed, personal account, "
        "anonymous in tests/server/exports_api/test_nde_subscriptions.py",
    ),
}


def _app_routes(app: Any) -> list[tuple[str, str]]:
    """Every (method, path template) the app answers, in the order the router tries them."""
    routes: list[tuple[str, str]] = []
    for context in iter_route_contexts(app.routes):
        route = context.route
        if isinstance(route, APIWebSocketRoute):
            routes.append(("WS", route.path))
        elif isinstance(route, Mount):
            routes.append(("MOUNT", route.path))
        else:
            assert isinstance(route, Route), f"unknown kind of route: {route!r}"
            methods = set(route.methods or ())
            if "GET" in methods:
                methods.discard("HEAD")
            routes.extend((method, route.path) for method in sorted(methods))
    return routes


def _template(path: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[^}]+\})", path)
    return re.compile(
        "".join("[^/]+" if part.startswith("{") else re.escape(part) for part in parts) + "$"
    )


WRITES = [
    name
    for name in [*ROUTES, *GLOBAL_ROUTES]
    if name.split()[0] in ("POST", "PUT", "PATCH", "DELETE")
]
"""The routes that change something (the name starts with the method)."""


@pytest.mark.parametrize("csrf", ["missing", "wrong"])
@pytest.mark.parametrize("route", WRITES)
def test_cookie_writes_need_the_csrf_token(
    route: str, csrf: str, cercle: Cercle, api_as: Any, session_as: Any
) -> None:
    build = ROUTES[route][0] if route in ROUTES else GLOBAL_ROUTES[route].build
    method, url, body = build(cercle, api_as)
    for principal in (COORD, OUTSIDER):  # a member allowed most writes, the administrator
        client = session_as(principal).client
        request = client.build_request(method, url, json=body)
        if csrf == "missing":
            del request.headers["X-CSRF-Token"]
        else:
            request.headers["X-CSRF-Token"] = "0" * 64
        response = client.send(request)
        assert response.status_code == 403, (route, principal, response.text)
        assert response.json() == {
            "error": "Forbidden",
            "detail": "Jeton anti-falsification (CSRF) manquant ou invalide : "
            "rechargez la page et réessayez.",
        }


def test_matrix_covers_every_route(live_server: LiveServer, cercle: Cercle, api_as: Any) -> None:
    routes = _app_routes(live_server.app)
    # The enumeration sees at least what the OpenAPI description lists.
    documented = {
        (method.upper(), path)
        for path, operations in live_server.app.openapi()["paths"].items()
        for method in operations
    }
    assert documented <= set(routes), documented - set(routes)
    patterns = [(method, path, _template(path)) for method, path in routes]
    covered: dict[tuple[str, str], str] = {}
    requests = [(name, build) for name, (build, _a, _o) in ROUTES.items()]
    requests += [(name, row.build) for name, row in GLOBAL_ROUTES.items()]
    for name, build in requests:
        method, url, _body = build(cercle, api_as)
        path = url.split("?", 1)[0]
        # The first route that matches, as the router picks it (/api/ppas/review-due is not
        # /api/ppas/{ppa_id}).
        match = next((m, p) for m, p, rx in patterns if rx.match(path) and m == method)
        covered.setdefault(match, name)
    missing = [r for r in routes if r not in covered and r not in EXEMPT]
    assert missing == [], f"routes in no matrix table and not exempt: {missing}"
    assert set(EXEMPT) <= set(routes), f"stale exemptions: {set(EXEMPT) - set(routes)}"
    assert not set(EXEMPT) & set(covered), "a route both exempt and in the matrix"


def test_opposed_member_sees_nothing_in_lists(cercle: Cercle, api_as: Any) -> None:
    persons = api_as(OPPOSED).get("/api/persons").json()
    assert cercle.person_id not in {p["id"] for p in persons}
    ppas = api_as(OPPOSED).get("/api/ppas").json()
    assert cercle.ppa_id not in {p["id"] for p in ppas}
    overview = api_as(OPPOSED).get("/api/overview").json()
    assert cercle.person_id not in {row["person"]["id"] for row in overview}
    assert cercle.ppa_id not in {p["id"] for row in overview for p in row["ppas"]}


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


def test_auditor_reviews_history_but_exports_validated_versions_only(
    cercle: Cercle, api_as: Any
) -> None:
    """One rule (``server.authz.version_capability``): an auditor reads every version, drafts'
    included, and is told why their export is refused."""
    auditor = api_as(AUDITOR)
    draft_export = _version_url(cercle, api_as, "draft", "pdf")
    assert auditor.get(draft_export.split("/exports")[0]).status_code == 200
    refused = auditor.get(draft_export)
    assert refused.status_code == 403
    assert "permet de consulter la version" in refused.json()["detail"]
    assert "d'exporter seulement les versions validées" in refused.json()["detail"]
    # ESMS software reads validated versions only: the reason it gets says so.
    esms = api_as(ESMS).get(draft_export)
    assert esms.status_code == 403
    assert "seules versions validées" in esms.json()["detail"]
    assert auditor.get(_version_url(cercle, api_as, "validated", "pdf")).status_code == 200
