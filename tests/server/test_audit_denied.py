"""Every refused access to a route naming a person or a PPA leaves one ``denied`` trace.

The routes are read from the app itself (every HTTP route with a ``person_id`` or ``ppa_id``
path parameter), then called as an outsider (a professional outside the cercle), without a
token, and with an unknown id. Each refusal must leave exactly one row: who (if known), the
route's declared action, the object the path names, the person (if known), the client address,
outcome ``denied``, and nothing the request carried.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.routing import APIRoute, iter_route_contexts

from tests.conftest import Api, DatabaseInfo, LiveServer, login
from tests.server.helpers import Cercle, build_cercle, sql_login

CLIENT_ADDR = "127.0.0.1"
MARKER = "Contenu-temoin-refus"
"""Written in every body and query: it must appear in no trace."""

SUBJECTS = (("ppa_id", "ppa"), ("person_id", "person"))
"""Path parameters naming the object of a route, most precise first."""

BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/api/persons/{person_id}/ppas"): {"title": MARKER},
    ("PATCH", "/api/persons/{person_id}"): {"local_id": MARKER},
    ("POST", "/api/persons/{person_id}/cercle"): {
        "kind": "professional",
        "role": "reader",
        "professional_id": "pro-inconnu",
        "display_name": MARKER,
    },
    ("PATCH", "/api/persons/{person_id}/cercle/{member_id}"): {"role": "reader"},
    ("PUT", "/api/persons/{person_id}/cercle/{member_id}/opposition"): {"opposed": True},
    ("PATCH", "/api/ppas/{ppa_id}"): {"title": MARKER},
    ("POST", "/api/ppas/{ppa_id}/versions"): {"label": MARKER},
    ("POST", "/api/ppas/{ppa_id}/validate"): {"structure": {"par": MARKER}},
    ("POST", "/api/ppas/{ppa_id}/person-agreement"): {"accord": False, "motif": MARKER},
    ("POST", "/api/ppas/{ppa_id}/versions/{number}/transmissions"): {"channel": "dmp"},
    ("POST", "/api/ppas/{ppa_id}/versions/{number}/fiche-mdph"): {"dmp": True},
    ("POST", "/api/ppas/{ppa_id}/comments"): {"anchor": "ppa", "text": MARKER},
    ("POST", "/api/ppas/{ppa_id}/comments/{thread_id}/replies"): {"text": MARKER},
    ("POST", "/api/ppas/{ppa_id}/suggestions"): {"anchor": "projet/titre", "text": MARKER},
}
"""A valid body for each route that takes one (an invalid one is refused before any check)."""

QUERIES: dict[tuple[str, str], dict[str, Any]] = {
    ("GET", "/api/ppas/{ppa_id}/diff"): {"from": 1, "to": 2},
}


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    action: str | None
    """The action the route declares for its audit (``None``: it declares none)."""


def _declared_action(route: APIRoute) -> str | None:
    """The action of the route's audit dependency, found in its dependency tree."""
    pending = list(route.dependant.dependencies)
    while pending:
        dependant = pending.pop()
        action = getattr(dependant.call, "action", None)
        if isinstance(action, str):
            return action
        pending.extend(dependant.dependencies)
    return None


def _routes(app: Any) -> list[Route]:
    routes = [
        Route(method, route.path, _declared_action(route))
        for route in (context.route for context in iter_route_contexts(app.routes))
        if isinstance(route, APIRoute)
        and {name for name, _ in SUBJECTS} & set(route.param_convertors)
        for method in sorted(route.methods or ())
    ]
    return routes


def test_endpoints_trace_only_through_their_audit_dependency() -> None:
    """No endpoint module writes a trace by hand: each route declares its audit (``audited``)."""
    server = Path(__file__).resolve().parents[2] / "server"
    by_hand = [
        str(path.relative_to(server))
        for path in sorted(server.glob("*/endpoints.py"))
        if "server.audit.service" in path.read_text(encoding="utf-8")
    ]
    assert by_hand == []


@pytest.fixture(scope="module")
def routes(live_server: LiveServer) -> list[Route]:
    found = _routes(live_server.app)
    assert len(found) >= 25, [f"{r.method} {r.path}" for r in found]
    return found


@pytest.fixture(scope="module")
def cercle(api_as: Any, demo: dict[str, Any]) -> Cercle:
    return build_cercle(api_as, demo)


@pytest.fixture(scope="module")
def trail(database: DatabaseInfo) -> Iterator[sa.Engine]:
    engine = sa.create_engine(database.sync_url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def outsider(trail: sa.Engine, live_server: LiveServer) -> Iterator[tuple[str, Api]]:
    """(id, client) of a professional login in no cercle."""
    password = "mot de passe du refus"
    user_id, username = sql_login(trail, password, "Professionnel hors du cercle")
    api = Api(live_server.url, login(live_server.url, username, password))
    yield user_id, api
    api.client.close()


def _last_id(trail: sa.Engine) -> int:
    with trail.connect() as conn:
        return int(conn.scalar(sa.text("SELECT COALESCE(MAX(id), 0) FROM audit_events")) or 0)


def _rows_since(trail: sa.Engine, after: int, actor_id: str | None) -> list[dict[str, Any]]:
    """The rows written after ``after`` by this actor (``None``: anonymous), oldest first."""
    who = "actor_type = 'anonymous'" if actor_id is None else "actor_id = :actor"
    with trail.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT actor_type, actor_id, role, action, object_type, object_id, person_id,"
                f" client_addr, outcome FROM audit_events WHERE id > :after AND {who}"
                " ORDER BY id"
            ),
            {"after": after, "actor": actor_id},
        )
        return [dict(row._mapping) for row in rows]


def _subject(path: str) -> tuple[str, str]:
    """(path parameter, object type) of the object the route names."""
    return next((name, kind) for name, kind in SUBJECTS if "{" + name + "}" in path)


def _url(route: Route, c: Cercle, subject_id: str | None = None) -> str:
    values = {
        "person_id": c.person_id,
        "ppa_id": c.ppa_id,
        "member_id": c.members["infirmier"],
        "number": "1",
        "format_name": "pdf",
        "thread_id": "fil-inconnu",
        "suggestion_id": "suggestion-inconnue",
    }
    if subject_id is not None:
        values[_subject(route.path)[0]] = subject_id
    return route.path.format(**values)


def _call(api: Api, route: Route, url: str) -> Any:
    key = (route.method, route.path)
    params = {**QUERIES.get(key, {}), "note": MARKER}
    return api.client.request(route.method, url, json=BODIES.get(key), params=params)


def _check(
    route: Route,
    response: Any,
    status: int,
    rows: list[dict[str, Any]],
    expected: dict[str, Any],
) -> list[str]:
    """What is wrong with one refused call (empty: nothing)."""
    name = f"{route.method} {route.path}"
    if response.status_code != status:
        return [f"{name}: {response.status_code} instead of {status} ({response.text[:200]})"]
    if route.action is None:
        return [f"{name}: the route declares no audit action"]
    want = {**expected, "action": route.action, "client_addr": CLIENT_ADDR, "outcome": "denied"}
    if rows != [want]:
        return [f"{name}: traces {rows} instead of [{want}]"]
    if any(MARKER in str(value) for value in rows[0].values()):
        return [f"{name}: the trace holds what the request carried"]
    return []


def test_outsiders_are_traced(
    routes: list[Route], cercle: Cercle, outsider: tuple[str, Api], trail: sa.Engine
) -> None:
    """A professional outside the cercle gets 404 (the person is not shared with them)."""
    outsider_id, api = outsider
    problems: list[str] = []
    for route in routes:
        param, object_type = _subject(route.path)
        before = _last_id(trail)
        response = _call(api, route, _url(route, cercle))
        expected = {
            "actor_type": "user",
            "actor_id": outsider_id,
            "role": None,
            "object_type": object_type,
            "object_id": {"ppa_id": cercle.ppa_id, "person_id": cercle.person_id}[param],
            "person_id": cercle.person_id,
        }
        problems += _check(route, response, 404, _rows_since(trail, before, outsider_id), expected)
    assert problems == []


def test_anonymous_calls_are_traced(
    routes: list[Route], cercle: Cercle, api_as: Any, trail: sa.Engine
) -> None:
    """Without a token: 401, and the trace names no one (but the person the path names)."""
    problems: list[str] = []
    for route in routes:
        param, object_type = _subject(route.path)
        before = _last_id(trail)
        response = _call(api_as("anonymous"), route, _url(route, cercle))
        expected = {
            "actor_type": "anonymous",
            "actor_id": None,
            "role": None,
            "object_type": object_type,
            "object_id": {"ppa_id": cercle.ppa_id, "person_id": cercle.person_id}[param],
            "person_id": cercle.person_id,
        }
        problems += _check(route, response, 401, _rows_since(trail, before, None), expected)
    assert problems == []


def test_unknown_ids_are_traced(
    routes: list[Route], cercle: Cercle, api_as: Any, trail: sa.Engine
) -> None:
    """An id that names nothing: 404, traced with that id and no person."""
    me = api_as("coordinatrice").get("/api/auth/me").json()
    problems: list[str] = []
    for route in routes:
        _param, object_type = _subject(route.path)
        unknown = str(uuid.uuid4())
        before = _last_id(trail)
        response = _call(api_as("coordinatrice"), route, _url(route, cercle, unknown))
        expected = {
            "actor_type": "user",
            "actor_id": me["id"],
            "role": None,
            "object_type": object_type,
            "object_id": unknown,
            "person_id": None,
        }
        problems += _check(route, response, 404, _rows_since(trail, before, me["id"]), expected)
    assert problems == []


@pytest.mark.parametrize(
    ("username", "method", "path", "body", "action", "role"),
    [
        # A reader may not rename the PPA (403): the trace names the reader's role.
        (
            "assistante-sociale",
            "PATCH",
            "/api/ppas/{ppa}",
            {"title": MARKER},
            "ppa.update",
            "reader",
        ),
        # The ESMS software reads validated versions only: the draft is refused.
        ("esms", "GET", "/api/ppas/{ppa}", None, "ppa.read", "esms"),
    ],
)
def test_members_refused_by_their_role_are_traced_with_it(
    username: str,
    method: str,
    path: str,
    body: dict[str, Any] | None,
    action: str,
    role: str,
    cercle: Cercle,
    api_as: Any,
    trail: sa.Engine,
) -> None:
    api = api_as(username)
    me = api.get("/api/auth/me").json()
    before = _last_id(trail)
    response = api.client.request(method, path.format(ppa=cercle.ppa_id), json=body)
    assert response.status_code == 403, response.text
    assert _rows_since(trail, before, me["id"]) == [
        {
            "actor_type": "api_client" if username == "esms" else "user",
            "actor_id": me["id"],
            "role": role,
            "action": action,
            "object_type": "ppa",
            "object_id": cercle.ppa_id,
            "person_id": cercle.person_id,
            "client_addr": CLIENT_ADDR,
            "outcome": "denied",
        }
    ]


def test_a_path_that_is_no_id_is_not_kept(api_as: Any, trail: sa.Engine) -> None:
    """Text that cannot be an id (too long for one here) is refused and left out of the trace."""
    me = api_as("coordinatrice").get("/api/auth/me").json()
    before = _last_id(trail)
    response = api_as("coordinatrice").get(f"/api/persons/{MARKER}-{'x' * 30}")
    assert response.status_code == 404, response.text
    assert _rows_since(trail, before, me["id"]) == [
        {
            "actor_type": "user",
            "actor_id": me["id"],
            "role": None,
            "action": "person.read",
            "object_type": "person",
            "object_id": None,
            "person_id": None,
            "client_addr": CLIENT_ADDR,
            "outcome": "denied",
        }
    ]
