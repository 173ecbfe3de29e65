"""Control characters, noncharacters and lone surrogates are refused at every REST text input.

422 ``InvalidInput`` with ``problems`` naming the exact field (inside a PPA's content too) and a
French reason; nothing is written. Tab, line feeds (``\\r\\n`` included), RTL marks, emoji and
combining marks are ordinary text. The rule is ``editor.text_rules.find_illegal_chars``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.routing import APIRoute, iter_route_contexts

from editor.text_rules import find_illegal_chars
from server.people.identifiers import luhn_key
from server.text_input import TextInput
from tests.conftest import LiveServer
from tests.server.helpers import build_cercle, person_body

COORD = "coordinatrice"
REFUSED = {
    "NUL": "\x00",
    "ESC": "\x1b",
    "form feed": "\x0c",
    "U+FFFE": "\ufffe",
    "U+FFFF": "\uffff",
    "U+FDD0": "\ufdd0",
    "U+10FFFF": "\U0010ffff",
    "lone surrogate": "\ud800",
}
ACCEPTED = {
    "tab": "\t",
    "CRLF": "\r\n",
    "RTL override": "\u202e",
    "emoji": "\U0001f600",
    "combining marks": "e\u0301\u0327",
    "DEL": "\x7f",
}


def _json(body: dict[str, Any]) -> dict[str, Any]:
    """Request arguments sending ``body`` as JSON escaped to ASCII (a lone surrogate travels as
    ``\\ud800``, the way a JavaScript client sends it)."""
    return {
        "content": json.dumps(body).encode("ascii"),
        "headers": {"Content-Type": "application/json"},
    }


def _refused(response: Any, path: str, code_point: str) -> None:
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["error"] == "InvalidInput"
    assert [p["path"] for p in body["problems"]] == [path], body
    message = body["problems"][0]["message"]
    # A lone surrogate in a plain str field is refused by pydantic's own check first.
    pydantic = code_point == "U+D800" and message.startswith("caractère interdit (substitut")
    assert pydantic or message.startswith(f"caractère interdit {code_point} ("), message
    assert "retirez-le" in message


def _code_point(char: str) -> str:
    return f"U+{ord(char):04X}"


def test_the_rule() -> None:
    for char in REFUSED.values():
        assert [c.char for c in find_illegal_chars(f"a{char}b")] == [char]
    for text in ACCEPTED.values():
        assert find_illegal_chars(f"a{text}b") == []
    found = find_illegal_chars("ok\x00 puis \ufffe")
    assert [(c.position, c.code_point) for c in found] == [(2, "U+0000"), (9, "U+FFFE")]


def _body_models(app: Any) -> Iterator[tuple[str, str, Any]]:
    def params(dependant: Any) -> Iterator[Any]:
        yield from dependant.body_params
        for sub in dependant.dependencies:
            yield from params(sub)

    for context in iter_route_contexts(app.routes):
        route = context.route
        if isinstance(route, APIRoute):
            for param in params(route.dependant):
                yield route.path, param.name, param.field_info.annotation


FORM_FIELDS = {("/api/auth/token", name) for name in ("username", "password")}
"""The login form: checked in the endpoint (``test_login_form``)."""


RAW_FHIR_BODIES = {"/fhir/Subscription": "tests/server/exports_api/test_nde_subscriptions.py"}
"""Routes taking a FHIR resource as it comes (not a TextInput model), and where their refused
characters are tested."""


def test_every_request_body_is_a_text_input(live_server: LiveServer) -> None:
    models = list(_body_models(live_server.app))
    assert len(models) >= 15
    for path, name, annotation in models:
        if path == "/api/auth/token":
            assert annotation in (str, str | None)
            continue
        if path in RAW_FHIR_BODIES:
            # a FHIR resource, checked whole by illegal_text_paths (tested in RAW_FHIR_BODIES' file)
            assert annotation == dict[str, Any], (path, name)
            continue
        assert isinstance(annotation, type), (path, name)
        assert issubclass(annotation, TextInput), (path, name)
    assert {(path, name) for path, name, _ in models} >= FORM_FIELDS


@pytest.mark.parametrize("name", list(REFUSED))
def test_person_fields(name: str, api_as: Any) -> None:
    char = REFUSED[name]
    coord = api_as(COORD)
    before = len(coord.get("/api/persons").json())
    response = coord.post("/api/persons", **_json(person_body(first_names=f"Léa{char} Anne")))
    _refused(response, "first_names", _code_point(char))
    assert len(coord.get("/api/persons").json()) == before


@pytest.mark.parametrize("name", list(REFUSED))
def test_ppa_content_names_the_item_field(name: str, api_as: Any, demo: dict[str, Any]) -> None:
    char = REFUSED[name]
    cercle = build_cercle(api_as, demo)
    coord = api_as(COORD)
    url = f"/api/persons/{cercle.person_id}/ppas"
    before = len(coord.get(url).json())
    content = {
        "objectifs": [
            {"id": "obj-1", "titre": "Sortir"},
            {"id": "obj-2", "titre": f"Cuisiner{char}", "description": "ok"},
        ]
    }
    response = coord.post(url, **_json({"title": "PPA", "content": content}))
    _refused(response, "content.objectifs[obj-2].titre", _code_point(char))
    assert len(coord.get(url).json()) == before


def test_every_field_in_error_is_named(api_as: Any, demo: dict[str, Any]) -> None:
    cercle = build_cercle(api_as, demo)
    coord = api_as(COORD)
    response = coord.post(
        f"/api/ppas/{cercle.ppa_id}/validate",
        **_json({"structure": {"par": "Claire\x00"}, "personne": {"mode": "signe", "par": "\x07"}}),
    )
    assert response.status_code == 422, response.text
    paths = sorted(p["path"] for p in response.json()["problems"])
    assert paths == ["personne.par", "structure.par"]


ROUTE_FIELDS: dict[str, tuple[str, str, dict[str, Any], str]] = {
    "version label": ("POST", "/api/ppas/{ppa}/versions", {"label": "V1\x00"}, "label"),
    "PPA title": ("PATCH", "/api/ppas/{ppa}", {"title": "T\ufffe"}, "title"),
    "member display name": (
        "POST",
        "/api/persons/{person}/cercle",
        {"kind": "professional", "role": "reader", "professional_id": "x", "display_name": "\x01"},
        "display_name",
    ),
    "local id": ("PATCH", "/api/persons/{person}", {"local_id": "L\x00"}, "local_id"),
    "agenda label": (
        "POST",
        "/api/agenda-feeds",
        {"kind": "person", "person_id": "{person}", "label": "Tél\x00"},
        "label",
    ),
    "structure name": (
        "POST",
        "/api/structures",
        {"finess": "75000000" + luhn_key("75000000"), "name": "FAM\x00"},
        "name",
    ),
    "professional name": (
        "POST",
        "/api/professionals",
        {"first_name": "A\x00", "last_name": "B", "profession": "C"},
        "first_name",
    ),
}


@pytest.mark.parametrize("name", list(ROUTE_FIELDS))
def test_other_routes(name: str, api_as: Any, demo: dict[str, Any]) -> None:
    cercle = build_cercle(api_as, demo)
    method, url, body, field = ROUTE_FIELDS[name]
    url = url.format(ppa=cercle.ppa_id, person=cercle.person_id)
    body = {
        k: v.format(person=cercle.person_id) if k == "person_id" else v for k, v in body.items()
    }
    response = api_as(COORD).client.request(method, url, **_json(body))
    bad = next(c for v in body.values() if isinstance(v, str) for c in find_illegal_chars(v))
    _refused(response, field, bad.code_point)


@pytest.mark.parametrize("name", list(ACCEPTED))
def test_ordinary_text_is_accepted(name: str, api_as: Any) -> None:
    text = f"Léa{ACCEPTED[name]}Anne"
    response = api_as(COORD).post("/api/persons", **_json(person_body(first_names=text)))
    assert response.status_code == 201, response.text
    assert response.json()["first_names"] == text


def test_path_and_query(api_as: Any) -> None:
    coord = api_as(COORD)
    response = coord.get("/api/persons/abc%00def")
    _refused(response, "adresse", "U+0000")
    response = coord.get("/api/terminology/serafin", params={"q": "logement\x1b"})
    _refused(response, "paramètre q", "U+001B")


def test_login_form(live_server: LiveServer, api_as: Any) -> None:
    client = api_as("anonymous").client
    response = client.post("/api/auth/token", data={"username": "coord\x00", "password": "x"})
    _refused(response, "username", "U+0000")
    response = client.post("/api/auth/token", data={"username": "coord", "password": "\ufffe"})
    _refused(response, "password", "U+FFFE")
