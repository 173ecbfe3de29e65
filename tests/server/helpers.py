"""Builders for HTTP tests: fresh persons with a complete cercle, valid identifiers."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from server.auth.security import hash_password
from server.models import User
from server.people.identifiers import ins_key, luhn_key
from tests.conftest import Api

_rng = random.Random()


def sql_login(engine: sa.Engine, password: str, display_name: str) -> tuple[str, str]:
    """(id, username) of a fresh active professional login written in SQL (the API creates no
    accounts; the demo logins serve other tests)."""
    username = f"compte-{uuid.uuid4().hex[:8]}"
    with Session(engine) as session, session.begin():
        user = User(
            username=username,
            password_hash=hash_password(password),
            display_name=display_name,
            kind="professional",
        )
        session.add(user)
        session.flush()
        user_id: str = user.id
    return user_id, username


def random_ins() -> str:
    number = (
        f"{_rng.choice('12')}{_rng.randint(40, 99):02d}{_rng.randint(1, 12):02d}"
        f"{_rng.randint(1, 95):02d}{_rng.randint(1, 999):03d}{_rng.randint(1, 999):03d}"
    )
    return f"{number}{ins_key(number):02d}"


def random_rpps() -> str:
    payload = f"1{_rng.randint(0, 999_999_999):09d}"
    return payload + luhn_key(payload)


def person_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "ins_matricule": random_ins(),
        "ins_system": "test",
        "birth_family_name": "DUPONT",
        "first_names": "Jean Paul",
        "birth_date": "1975-03-14",
        "sex": "M",
        "birthplace_insee": "75056",
    }
    body.update(overrides)
    return body


@dataclass
class Cercle:
    person_id: str
    ppa_id: str
    members: dict[str, str] = field(default_factory=dict)
    """username -> member id"""


ROLES = {
    "infirmier": ("professional", "contributor"),
    "assistante-sociale": ("professional", "reader"),
    "usager": ("person", "person"),
    "aidant": ("aidant", "aidant"),
    "auditeur": ("auditor", "auditor"),
    "ergotherapeute": ("professional", "contributor"),
}


def build_cercle(api_as: Any, demo: dict[str, Any], *, opposed: tuple[str, ...] = ()) -> Cercle:
    """A fresh person whose coordinator is ``coordinatrice``, with every role represented.

    Members named in ``opposed`` are added then opposed by the person.
    """
    coord: Api = api_as("coordinatrice")
    response = coord.post("/api/persons", json=person_body())
    assert response.status_code == 201, response.text
    person_id = response.json()["id"]
    me = coord.get(f"/api/persons/{person_id}/cercle").json()
    members = {"coordinatrice": me[0]["id"]}
    users = {u["username"]: u for u in demo["logins"]}
    user_ids = _user_ids(api_as, demo)
    for username, (kind, role) in ROLES.items():
        response = coord.post(
            f"/api/persons/{person_id}/cercle",
            json={"kind": kind, "role": role, "user_id": user_ids[username]},
        )
        assert response.status_code == 201, response.text
        members[username] = response.json()["id"]
    assert users
    esms_client_id = _esms_client_id(api_as)
    response = coord.post(
        f"/api/persons/{person_id}/cercle",
        json={"kind": "structure_system", "role": "esms", "api_client_id": esms_client_id},
    )
    assert response.status_code == 201, response.text
    members["esms"] = response.json()["id"]
    response = coord.post(f"/api/persons/{person_id}/ppas", json={"title": "PPA test"})
    assert response.status_code == 201, response.text
    ppa_id = response.json()["id"]
    for username in opposed:
        response = api_as("usager").put(
            f"/api/persons/{person_id}/cercle/{members[username]}/opposition",
            json={"opposed": True},
        )
        assert response.status_code == 200, response.text
    return Cercle(person_id, ppa_id, members)


_cache: dict[str, Any] = {}


def _user_ids(api_as: Any, demo: dict[str, Any]) -> dict[str, str]:
    if "users" not in _cache:
        ids = {}
        for login in demo["logins"]:
            ids[login["username"]] = api_as(login["username"]).get("/api/auth/me").json()["id"]
        _cache["users"] = ids
    users: dict[str, str] = _cache["users"]
    return users


def _esms_client_id(api_as: Any) -> str:
    if "esms" not in _cache:
        _cache["esms"] = api_as("esms").get("/api/auth/me").json()["id"]
    client_id: str = _cache["esms"]
    return client_id
