"""One membership rule for adding a cercle member and for changing its role.

The same table of (kind, role, account) cases goes through ``POST .../cercle`` (a new member) and
``PATCH .../cercle/{id}`` (a member already stored with that kind and account, e.g. written before
the rule existed, whose role is changed): accepted by both, or refused by both with a French
reason. Only the person's own account (a login of kind ``person``) is a member of kind ``person``;
a structure's software is a ``structure_system`` with the role ``esms`` and no other.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from server.cercle.rules import role_problem
from server.models import ApiClient, CercleMember, Professional, User
from server.models.person import MemberKind, Role
from tests.conftest import DatabaseInfo
from tests.server.helpers import person_body

COORD = "coordinatrice"


@dataclass(frozen=True)
class Case:
    kind: str
    role: str
    account: str
    """``user:<kind>`` (a login of that kind), ``client`` (an API client) or ``directory``
    (a professional of the directory, without a login)."""
    accepted: bool
    extra: tuple[tuple[str, str], ...] = ()
    """Other fields of the request (a legal representative's measure, rule 3)."""


CASES: dict[str, Case] = {
    "the person's own account": Case("person", "person", "user:person", True),
    "kind person, a professional's account": Case("person", "person", "user:professional", False),
    "kind person, an aidant's account": Case("person", "person", "user:aidant", False),
    "kind person, a directory professional": Case("person", "person", "directory", False),
    "kind person, role reader": Case("person", "reader", "user:person", False),
    "a person's account as aidant": Case("aidant", "aidant", "user:person", False),
    "role person, kind aidant": Case("aidant", "person", "user:aidant", False),
    "aidant": Case("aidant", "aidant", "user:aidant", True),
    "legal representative, contributor": Case(
        "legal_representative",
        "contributor",
        "user:aidant",
        True,
        (("mesure", "curatelle_renforcee"), ("mesure_portee", "personne_et_biens")),
    ),
    "auditor": Case("auditor", "auditor", "user:auditor", True),
    "structure software, esms": Case("structure_system", "esms", "client", True),
    "structure software as coordinator": Case("structure_system", "coordinator", "client", False),
    "structure software as reader": Case("structure_system", "reader", "client", False),
    "professional as esms": Case("professional", "esms", "user:professional", False),
    "professional coordinator": Case("professional", "coordinator", "user:professional", True),
    "professional's account as aidant": Case("aidant", "aidant", "user:professional", False),
    "directory professional, reader": Case("professional", "reader", "directory", True),
}


@pytest.fixture(scope="module")
def engine(database: DatabaseInfo) -> Iterator[sa.Engine]:
    engine = sa.create_engine(database.sync_url)
    yield engine
    engine.dispose()


def _account(engine: sa.Engine, account: str) -> dict[str, str]:
    """A fresh principal of the given kind, written in SQL; the member's designation fields."""
    tag = uuid.uuid4().hex[:8]
    with Session(engine) as session, session.begin():
        if account == "client":
            client = ApiClient(
                name=f"Logiciel {tag}", token_prefix=f"t{tag}", token_hash=secrets.token_hex(32)
            )
            session.add(client)
            session.flush()
            return {"api_client_id": client.id}
        if account == "directory":
            pro = Professional(first_name="Annuaire", last_name=tag, profession="Éducateur")
            session.add(pro)
            session.flush()
            return {"professional_id": pro.id}
        user = User(
            username=f"membre-{tag}",
            password_hash="x",
            display_name=f"Compte {tag}",
            kind=account.removeprefix("user:"),
        )
        session.add(user)
        session.flush()
        return {"user_id": user.id}


def _fresh_person(api_as: Any) -> str:
    response = api_as(COORD).post("/api/persons", json=person_body())
    assert response.status_code == 201, response.text
    person_id: str = response.json()["id"]
    return person_id


def _assert_refused(response: Any, case: Case, *, create: bool) -> None:
    # On create, what the request alone decides is a 422 (and in the request schema); what
    # depends on the stored account or member is a 409.
    by_request = create and role_problem(MemberKind(case.kind), Role(case.role)) is not None
    assert response.status_code == (422 if by_request else 409), response.text
    body = response.json()
    assert body["error"] == ("InvalidInput" if by_request else "Conflict")
    assert body["detail"].split(" : ")[0] in {"kind", "role"}, body


@pytest.mark.parametrize("name", list(CASES))
def test_add_member(name: str, api_as: Any, engine: sa.Engine) -> None:
    case = CASES[name]
    person_id = _fresh_person(api_as)
    response = api_as(COORD).post(
        f"/api/persons/{person_id}/cercle",
        json={
            "kind": case.kind,
            "role": case.role,
            **_account(engine, case.account),
            **dict(case.extra),
        },
    )
    if case.accepted:
        assert response.status_code == 201, response.text
        assert (response.json()["kind"], response.json()["role"]) == (case.kind, case.role)
    else:
        _assert_refused(response, case, create=True)
    members = api_as(COORD).get(f"/api/persons/{person_id}/cercle").json()
    assert len(members) == (2 if case.accepted else 1)


@pytest.mark.parametrize("name", list(CASES))
def test_change_role(name: str, api_as: Any, engine: sa.Engine) -> None:
    case = CASES[name]
    person_id = _fresh_person(api_as)
    account = _account(engine, case.account)
    with Session(engine) as session, session.begin():
        member = CercleMember(
            person_id=person_id,
            kind=case.kind,
            role="reader" if case.role != "reader" else "aidant",
            display_name="Membre existant",
            **account,
        )
        session.add(member)
        session.flush()
        member_id = member.id
    response = api_as(COORD).patch(
        f"/api/persons/{person_id}/cercle/{member_id}", json={"role": case.role}
    )
    if case.accepted:
        assert response.status_code == 200, response.text
        assert response.json()["role"] == case.role
    else:
        _assert_refused(response, case, create=False)


def test_one_person_member_per_cercle(api_as: Any, engine: sa.Engine) -> None:
    person_id = _fresh_person(api_as)
    url = f"/api/persons/{person_id}/cercle"
    first = {"kind": "person", "role": "person", **_account(engine, "user:person")}
    assert api_as(COORD).post(url, json=first).status_code == 201
    second = {"kind": "person", "role": "person", **_account(engine, "user:person")}
    response = api_as(COORD).post(url, json=second)
    assert response.status_code == 409, response.text
    assert "un seul membre person" in response.json()["detail"]


def test_a_member_kind_never_changes(api_as: Any, engine: sa.Engine) -> None:
    """PATCH takes the role only: replacing who a member is goes through removal and addition."""
    person_id = _fresh_person(api_as)
    url = f"/api/persons/{person_id}/cercle"
    added = api_as(COORD).post(
        url, json={"kind": "aidant", "role": "aidant", **_account(engine, "user:aidant")}
    )
    assert added.status_code == 201, added.text
    member = added.json()
    response = api_as(COORD).patch(
        f"{url}/{member['id']}", json={"role": "aidant", "kind": "professional"}
    )
    assert response.status_code == 422, response.text
    assert response.json()["error"] == "InvalidInput"
    stored = {m["id"]: m for m in api_as(COORD).get(url).json()}[member["id"]]
    assert (stored["kind"], stored["role"]) == ("aidant", "aidant")
