"""Every access to personal data leaves exactly one trace; traces cannot be rewritten.

The traces are read straight from ``audit_events`` (the auditor's own listing would add its
trace to every count): each access must leave exactly one row naming who (actor type and id),
with which role, the action, the object (type and id), the person and the client address.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from server.auth.security import hash_password
from server.db import create_engine
from server.models import User
from tests.conftest import DatabaseInfo
from tests.factories import recent_start, valid_ppa
from tests.server.exports_api.support import feed_until, validate
from tests.server.helpers import Cercle, build_cercle, person_body, random_rpps

CLIENT_ADDR = "127.0.0.1"


@pytest.fixture(scope="module")
def cercle(api_as: Any, demo: dict[str, Any]) -> Cercle:
    return build_cercle(api_as, demo)


@pytest.fixture(scope="module")
def trail(database: DatabaseInfo) -> Iterator[sa.Engine]:
    """A synchronous connection to the test database, to read the audit rows themselves."""
    engine = sa.create_engine(database.sync_url)
    _engines.append(engine)
    yield engine
    _engines.remove(engine)
    engine.dispose()


_engines: list[sa.Engine] = []
"""The ``trail`` engine while the module runs (the calls below make accounts with it)."""


def _last_id(trail: sa.Engine) -> int:
    with trail.connect() as conn:
        return int(conn.scalar(sa.text("SELECT COALESCE(MAX(id), 0) FROM audit_events")) or 0)


def _traces_since(trail: sa.Engine, after: int, actor_id: str) -> list[dict[str, Any]]:
    """The rows written after ``after`` by this actor, oldest first."""
    with trail.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT actor_type, actor_id, role, action, object_type, object_id, person_id,"
                " client_addr, outcome FROM audit_events WHERE id > :after AND actor_id = :actor"
                " ORDER BY id"
            ),
            {"after": after, "actor": actor_id},
        )
        return [dict(row._mapping) for row in rows]


def _me(api_as: Any, username: str) -> dict[str, Any]:
    me: dict[str, Any] = api_as(username).get("/api/auth/me").json()
    return me


def _new_professional(api_as: Any) -> str:
    body = {
        "first_name": "Aud",
        "last_name": "It",
        "profession": "Éducateur",
        "rpps": random_rpps(),
    }
    response = api_as("coordinatrice").post("/api/professionals", json=body)
    assert response.status_code == 201, response.text
    pro_id: str = response.json()["id"]
    return pro_id


def _new_member(c: Cercle, api_as: Any) -> str:
    """A fresh reader of the cercle (its addition is traced before the access under test)."""
    response = api_as("coordinatrice").post(
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


_validated: dict[str, tuple[str, int]] = {}
"""person id -> (id of a validated PPA of that person, its validated version)."""


def _validated_ppa(c: Cercle, api_as: Any) -> tuple[str, int]:
    """A validated PPA of the cercle's person (built once): in the ESMS feed and review-due."""
    if c.person_id not in _validated:
        coord = api_as("coordinatrice")
        structure = coord.get("/api/structures").json()[0]["id"]
        response = coord.patch(f"/api/persons/{c.person_id}", json={"structure_id": structure})
        assert response.status_code == 200, response.text
        content = valid_ppa(fresh_ids=True, start=recent_start()).model_dump(mode="json")
        created = coord.post(f"/api/persons/{c.person_id}/ppas", json={"content": content})
        assert created.status_code == 201, created.text
        ppa_id: str = created.json()["id"]
        _validated[c.person_id] = (ppa_id, validate(coord, ppa_id))
    return _validated[c.person_id]


def _esms_feed_item(c: Cercle, api_as: Any) -> Call:
    """The feed page holding exactly the validated version of the cercle's PPA."""
    ppa_id, version = _validated_ppa(c, api_as)
    items = feed_until(api_as("esms"), ppa_id, version)
    position = next(
        i["position"] for i in items if (i["ppa_id"], i["version"]) == (ppa_id, version)
    )
    return ("GET", f"/api/esms/feed?cursor={position - 1}&limit=1", None, ppa_id)


Call = tuple[str, str, dict[str, Any] | None, str | None]
"""method, URL, JSON body, id of the object the trace names (None: the created object's id)."""


def _remove_member(c: Cercle, api_as: Any) -> Call:
    member = _new_member(c, api_as)
    return ("DELETE", f"/api/persons/{c.person_id}/cercle/{member}", None, member)


def _opposition(*, opposed: bool) -> Callable[[Cercle, Any], Call]:
    def call(c: Cercle, api_as: Any) -> Call:
        member = _new_member(c, api_as)
        url = f"/api/persons/{c.person_id}/cercle/{member}/opposition"
        return ("PUT", url, {"opposed": opposed}, member)

    return call


def _agenda_feed(c: Cercle, api_as: Any, username: str) -> dict[str, Any]:
    """A new subscription of ``username`` to the agenda of the cercle's person."""
    response = api_as(username).post(
        "/api/agenda-feeds", json={"kind": "person", "person_id": c.person_id}
    )
    assert response.status_code == 201, response.text
    feed: dict[str, Any] = response.json()
    return feed


def _revoke_feed(c: Cercle, api_as: Any) -> Call:
    feed = _agenda_feed(c, api_as, "infirmier")
    return ("DELETE", f"/api/agenda-feeds/{feed['id']}", None, feed["id"])


def _read_feed(c: Cercle, api_as: Any) -> Call:
    """The person's feed holds one PPA: the validated one (the cercle's draft has no version)."""
    ppa_id, _version = _validated_ppa(c, api_as)
    feed = _agenda_feed(c, api_as, "infirmier")
    path = "/" + feed["url"].split("://", 1)[1].split("/", 1)[1]
    return ("GET", path, None, ppa_id)


def _new_api_client(api_as: Any) -> str:
    response = api_as("admin").post("/api/api-clients", json={"name": "DUI de l'audit"})
    assert response.status_code == 201, response.text
    client_id: str = response.json()["id"]
    return client_id


def _new_user() -> str:
    """A fresh active login (written in the database: the API creates no accounts)."""
    with Session(_engines[0]) as session, session.begin():
        user = User(
            username=f"audit-{uuid.uuid4().hex[:8]}",
            password_hash=hash_password("mot de passe de l'audit"),
            display_name="Compte de l'audit",
            kind="professional",
        )
        session.add(user)
        session.flush()
        user_id: str = user.id
    return user_id


def _revoke_client(c: Cercle, api_as: Any) -> Call:
    client = _new_api_client(api_as)
    return ("DELETE", f"/api/api-clients/{client}", None, client)


def _deactivate_user(c: Cercle, api_as: Any) -> Call:
    user = _new_user()
    return ("PATCH", f"/api/users/{user}", {"is_active": False}, user)


def _reactivate_user(c: Cercle, api_as: Any) -> Call:
    user = _deactivated_user(api_as)
    return ("PATCH", f"/api/users/{user}", {"is_active": True}, user)


def _deactivated_user(api_as: Any) -> str:
    user_id = _new_user()
    response = api_as("admin").patch(f"/api/users/{user_id}", json={"is_active": False})
    assert response.status_code == 200, response.text
    return user_id


@dataclass(frozen=True)
class Access:
    username: str
    call: Callable[[Cercle, Any], Call]
    status: int
    action: str
    role: str
    object_type: str
    creates_person: bool = False
    """The trace's person is the one created (not the cercle's)."""
    no_person: bool = False
    """The access concerns no person (account administration, a professional's own agenda)."""


ACCESSES: dict[str, Access] = {
    "create person": Access(
        "coordinatrice",
        lambda c, _: ("POST", "/api/persons", person_body(), None),
        201,
        "person.create",
        "coordinator",
        "person",
        creates_person=True,
    ),
    "read person": Access(
        "infirmier",
        lambda c, _: ("GET", f"/api/persons/{c.person_id}", None, c.person_id),
        200,
        "person.read",
        "contributor",
        "person",
    ),
    "read person (esms software)": Access(
        "esms",
        lambda c, _: ("GET", f"/api/persons/{c.person_id}", None, c.person_id),
        200,
        "person.read",
        "esms",
        "person",
    ),
    "update person": Access(
        "coordinatrice",
        lambda c, _: ("PATCH", f"/api/persons/{c.person_id}", {"local_id": "AUD-1"}, c.person_id),
        200,
        "person.update",
        "coordinator",
        "person",
    ),
    "read cercle": Access(
        "usager",
        lambda c, _: ("GET", f"/api/persons/{c.person_id}/cercle", None, c.person_id),
        200,
        "cercle.list",
        "person",
        "cercle",
    ),
    "add cercle member": Access(
        "coordinatrice",
        lambda c, api_as: (
            "POST",
            f"/api/persons/{c.person_id}/cercle",
            {
                "kind": "professional",
                "role": "reader",
                "professional_id": _new_professional(api_as),
            },
            None,
        ),
        201,
        "cercle.add",
        "coordinator",
        "cercle_member",
    ),
    "update cercle member": Access(
        "coordinatrice",
        lambda c, _: (
            "PATCH",
            f"/api/persons/{c.person_id}/cercle/{c.members['assistante-sociale']}",
            {"role": "reader"},
            c.members["assistante-sociale"],
        ),
        200,
        "cercle.update",
        "coordinator",
        "cercle_member",
    ),
    "remove cercle member": Access(
        "coordinatrice",
        _remove_member,
        204,
        "cercle.remove",
        "coordinator",
        "cercle_member",
    ),
    "record opposition": Access(
        "usager",
        _opposition(opposed=True),
        200,
        "cercle.opposition",
        "person",
        "cercle_member",
    ),
    "lift opposition": Access(
        "coordinatrice",
        _opposition(opposed=False),
        200,
        "cercle.opposition_lifted",
        "coordinator",
        "cercle_member",
    ),
    "create ppa": Access(
        "infirmier",
        lambda c, _: ("POST", f"/api/persons/{c.person_id}/ppas", {"title": "Audit"}, None),
        201,
        "ppa.create",
        "contributor",
        "ppa",
    ),
    "list ppas of person": Access(
        "aidant",
        lambda c, _: ("GET", f"/api/persons/{c.person_id}/ppas", None, c.person_id),
        200,
        "ppa.list",
        "aidant",
        "person",
    ),
    "read ppa": Access(
        "assistante-sociale",
        lambda c, _: ("GET", f"/api/ppas/{c.ppa_id}", None, c.ppa_id),
        200,
        "ppa.read",
        "reader",
        "ppa",
    ),
    "read ppa problems": Access(
        "usager",
        lambda c, _: ("GET", f"/api/ppas/{c.ppa_id}/problems", None, c.ppa_id),
        200,
        "ppa.read",
        "person",
        "ppa",
    ),
    "rename ppa": Access(
        "infirmier",
        lambda c, _: ("PATCH", f"/api/ppas/{c.ppa_id}", {"title": "Renommé"}, c.ppa_id),
        200,
        "ppa.update",
        "contributor",
        "ppa",
    ),
    "read esms feed": Access(
        "esms",
        _esms_feed_item,
        200,
        "esms.feed",
        "esms",
        "ppa",
    ),
    "subscribe to the person's agenda": Access(
        "infirmier",
        lambda c, _: (
            "POST",
            "/api/agenda-feeds",
            {"kind": "person", "person_id": c.person_id},
            None,
        ),
        201,
        "agenda.feed.create",
        "contributor",
        "agenda_feed",
    ),
    "subscribe to one's own agenda": Access(
        "infirmier",
        lambda c, _: ("POST", "/api/agenda-feeds", {"kind": "professional"}, None),
        201,
        "agenda.feed.create",
        "professional",
        "agenda_feed",
        no_person=True,
    ),
    "revoke an agenda subscription": Access(
        "infirmier",
        _revoke_feed,
        204,
        "agenda.feed.revoke",
        "contributor",
        "agenda_feed",
    ),
    # The token in the path is the credential: the trace names the feed's owner.
    "read the person's agenda feed": Access(
        "infirmier",
        _read_feed,
        200,
        "agenda.feed.read",
        "contributor",
        "ppa",
    ),
    "create api client": Access(
        "admin",
        lambda c, _: ("POST", "/api/api-clients", {"name": "DUI tracé"}, None),
        201,
        "api_client.create",
        "admin",
        "api_client",
        no_person=True,
    ),
    "revoke api client": Access(
        "admin",
        _revoke_client,
        204,
        "api_client.revoke",
        "admin",
        "api_client",
        no_person=True,
    ),
    "deactivate user": Access(
        "admin",
        _deactivate_user,
        200,
        "user.deactivate",
        "admin",
        "user",
        no_person=True,
    ),
    "reactivate user": Access(
        "admin",
        _reactivate_user,
        200,
        "user.activate",
        "admin",
        "user",
        no_person=True,
    ),
    "read audit trail": Access(
        "auditeur",
        lambda c, _: ("GET", f"/api/persons/{c.person_id}/audit", None, c.person_id),
        200,
        "audit.list",
        "auditor",
        "person",
    ),
}


@pytest.mark.parametrize("name", list(ACCESSES))
def test_one_trace_per_access(name: str, cercle: Cercle, api_as: Any, trail: sa.Engine) -> None:
    access = ACCESSES[name]
    me = _me(api_as, access.username)
    method, url, body, object_id = access.call(cercle, api_as)
    before = _last_id(trail)
    response = api_as(access.username).client.request(method, url, json=body)
    assert response.status_code == access.status, response.text
    if object_id is None:
        object_id = response.json()["id"]
    person_id = object_id if access.creates_person else cercle.person_id
    if access.no_person:
        person_id = None
    assert _traces_since(trail, before, me["id"]) == [
        {
            "actor_type": "api_client" if access.username == "esms" else "user",
            "actor_id": me["id"],
            "role": access.role,
            "action": access.action,
            "object_type": access.object_type,
            "object_id": object_id,
            "person_id": person_id,
            "client_addr": CLIENT_ADDR,
            "outcome": "ok",
        }
    ]


def _role_in_cercle(trail: sa.Engine, person_id: str, me: dict[str, Any]) -> str:
    """The caller's role in the person's cercle, read from the cercle's own rows."""
    with trail.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT role FROM cercle_members WHERE person_id = :person AND opposed = :no"
                " AND (user_id = :user OR professional_id = :pro)"
            ),
            {"person": person_id, "no": False, "user": me["id"], "pro": me["professional_id"]},
        ).all()
    assert len(rows) == 1, (person_id, rows)
    role: str = rows[0][0]
    return role


@pytest.mark.parametrize(
    ("url", "action", "object_type", "id_key"),
    [
        ("/api/persons", "person.list", "person", "id"),
        ("/api/ppas", "ppa.list", "ppa", "id"),
        # Every validated PPA the caller reads whose review falls in the next ten years.
        ("/api/ppas/review-due?within_days=3660", "ppa.review_due", "ppa", "ppa_id"),
    ],
)
def test_listings_trace_each_item_with_its_role(
    url: str,
    action: str,
    object_type: str,
    id_key: str,
    cercle: Cercle,
    api_as: Any,
    trail: sa.Engine,
) -> None:
    _validated_ppa(cercle, api_as)
    me = _me(api_as, "infirmier")
    before = _last_id(trail)
    response = api_as("infirmier").get(url)
    assert response.status_code == 200, response.text
    listed = response.json()
    person_of = {
        item[id_key]: item["id"] if object_type == "person" else item["person_id"]
        for item in listed
    }
    assert cercle.person_id in person_of.values()
    traces = _traces_since(trail, before, me["id"])
    assert len(traces) == len(listed)
    assert {t["object_id"] for t in traces} == set(person_of)
    for t in traces:
        assert t["actor_type"] == "user"
        assert t["action"] == action
        assert t["object_type"] == object_type
        assert t["person_id"] == person_of[t["object_id"]]
        assert t["client_addr"] == CLIENT_ADDR
        assert t["role"] == _role_in_cercle(trail, t["person_id"], me)
    assert {t["role"] for t in traces if t["person_id"] == cercle.person_id} == {"contributor"}


def test_the_overview_is_the_listings_in_one_request_traced_alike(
    cercle: Cercle, api_as: Any, trail: sa.Engine
) -> None:
    """GET /api/overview answers what /api/persons, then each person's /ppas and /timeline
    answer, and traces each person and each PPA as those listings do."""
    _validated_ppa(cercle, api_as)
    me = _me(api_as, "infirmier")
    nurse = api_as("infirmier")
    before = _last_id(trail)
    response = nurse.get("/api/overview")
    assert response.status_code == 200, response.text
    overview = response.json()
    traces = _traces_since(trail, before, me["id"])
    assert [row["person"] for row in overview] == nurse.get("/api/persons").json()
    assert cercle.person_id in {row["person"]["id"] for row in overview}
    for row in overview:
        person_id = row["person"]["id"]
        assert row["ppas"] == nurse.get(f"/api/persons/{person_id}/ppas").json()
        assert row["timeline"] == nurse.get(f"/api/persons/{person_id}/timeline").json()
    ppas = [(p["id"], p["person_id"]) for row in overview for p in row["ppas"]]
    assert cercle.ppa_id in {ppa_id for ppa_id, _ in ppas}
    persons = [(t["object_id"], t["person_id"]) for t in traces if t["object_type"] == "person"]
    assert persons == [(row["person"]["id"],) * 2 for row in overview]
    assert {t["action"] for t in traces if t["object_type"] == "person"} == {"person.list"}
    traced_ppas = [(t["object_id"], t["person_id"]) for t in traces if t["object_type"] == "ppa"]
    assert sorted(traced_ppas) == sorted(ppas)
    assert {t["action"] for t in traces if t["object_type"] == "ppa"} == {"ppa.list"}
    assert len(traces) == len(overview) + len(ppas)
    for t in traces:
        assert t["role"] == _role_in_cercle(trail, t["person_id"], me)


def test_professional_feed_read_traces_each_ppa_with_its_role(
    cercle: Cercle, api_as: Any, trail: sa.Engine
) -> None:
    """A professional's own agenda spans every person whose cercle they are in: one read trace
    per PPA, each with the professional's role in that person's cercle."""
    ppa_id, _version = _validated_ppa(cercle, api_as)
    me = _me(api_as, "infirmier")
    response = api_as("infirmier").post("/api/agenda-feeds", json={"kind": "professional"})
    assert response.status_code == 201, response.text
    path = "/" + response.json()["url"].split("://", 1)[1].split("/", 1)[1]
    before = _last_id(trail)
    feed = api_as("anonymous").get(path)
    assert feed.status_code == 200, feed.text
    traces = _traces_since(trail, before, me["id"])
    assert ppa_id in {t["object_id"] for t in traces}
    for t in traces:
        assert (t["actor_type"], t["action"], t["object_type"], t["client_addr"]) == (
            "user",
            "agenda.feed.read",
            "ppa",
            CLIENT_ADDR,
        )
        assert t["role"] == _role_in_cercle(trail, t["person_id"], me)
    assert len(traces) == len({t["object_id"] for t in traces})
    assert {t["role"] for t in traces if t["object_id"] == ppa_id} == {"contributor"}


def test_the_auditor_lists_the_traces(cercle: Cercle, api_as: Any) -> None:
    me = _me(api_as, "infirmier")
    assert api_as("infirmier").get(f"/api/persons/{cercle.person_id}").status_code == 200
    events = api_as("auditeur").get(
        f"/api/persons/{cercle.person_id}/audit", params={"limit": 5000}
    )
    assert events.status_code == 200
    last_read = [e for e in events.json() if e["action"] == "person.read"][-1]
    assert (last_read["actor_id"], last_read["role"], last_read["object_id"]) == (
        me["id"],
        "contributor",
        cercle.person_id,
    )


def test_audit_rows_cannot_be_updated_or_deleted(database: DatabaseInfo, cercle: Cercle) -> None:
    async def attempt(statement: str) -> None:
        engine = create_engine(database.url)
        try:
            async with engine.begin() as conn:
                await conn.execute(sa.text(statement))
        finally:
            await engine.dispose()

    for statement in (
        "UPDATE audit_events SET action = 'x'",
        "DELETE FROM audit_events",
    ):
        with pytest.raises(DBAPIError, match="append-only"):
            asyncio.run(attempt(statement))
