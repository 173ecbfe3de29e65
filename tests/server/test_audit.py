"""Every access to personal data leaves exactly one trace; traces cannot be rewritten."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from server.db import create_engine
from tests.conftest import DatabaseInfo
from tests.server.helpers import Cercle, build_cercle


@pytest.fixture(scope="module")
def cercle(api_as: Any, demo: dict[str, Any]) -> Cercle:
    return build_cercle(api_as, demo)


def _events(api_as: Any, person_id: str) -> list[dict[str, Any]]:
    response = api_as("auditeur").get(f"/api/persons/{person_id}/audit", params={"limit": 5000})
    assert response.status_code == 200
    events: list[dict[str, Any]] = response.json()
    return events


def _new_events(api_as: Any, person_id: str, action: Callable[[], Any]) -> list[dict[str, Any]]:
    before = _events(api_as, person_id)
    action()
    after = _events(api_as, person_id)
    # The auditor's own listing is traced too: drop the trace of the "before" listing.
    new = [e for e in after[len(before) :] if e["action"] != "audit.list"]
    return new


ACCESSES: dict[str, tuple[str, Callable[[Cercle], tuple[str, str]], str, str]] = {
    "read person": (
        "infirmier",
        lambda c: ("GET", f"/api/persons/{c.person_id}"),
        "person.read",
        "contributor",
    ),
    "read ppa": (
        "assistante-sociale",
        lambda c: ("GET", f"/api/ppas/{c.ppa_id}"),
        "ppa.read",
        "reader",
    ),
    "read cercle": (
        "usager",
        lambda c: ("GET", f"/api/persons/{c.person_id}/cercle"),
        "cercle.list",
        "person",
    ),
    "list ppas of person": (
        "aidant",
        lambda c: ("GET", f"/api/persons/{c.person_id}/ppas"),
        "ppa.list",
        "aidant",
    ),
}


@pytest.mark.parametrize("name", list(ACCESSES))
def test_one_trace_per_access(name: str, cercle: Cercle, api_as: Any) -> None:
    username, request, action, role = ACCESSES[name]
    method, url = request(cercle)
    me = api_as(username).get("/api/auth/me").json()

    def access() -> None:
        assert api_as(username).client.request(method, url).status_code == 200

    new = _new_events(api_as, cercle.person_id, access)
    assert len(new) == 1, new
    event = new[0]
    assert event["action"] == action
    assert event["actor_id"] == me["id"]
    assert event["actor_type"] == "user"
    assert event["client_addr"] == "127.0.0.1"
    assert event["person_id"] == cercle.person_id
    if action != "ppa.list":
        assert event["role"] == role


def test_person_listing_traces_each_person(cercle: Cercle, api_as: Any) -> None:
    new = _new_events(api_as, cercle.person_id, lambda: api_as("infirmier").get("/api/persons"))
    assert [e["action"] for e in new] == ["person.list"]


def test_writes_are_traced(cercle: Cercle, api_as: Any) -> None:
    new = _new_events(
        api_as,
        cercle.person_id,
        lambda: api_as("coordinatrice").patch(f"/api/ppas/{cercle.ppa_id}", json={"title": "T2"}),
    )
    assert [(e["action"], e["object_id"]) for e in new] == [("ppa.update", cercle.ppa_id)]


def test_esms_access_is_traced_as_api_client(cercle: Cercle, api_as: Any) -> None:
    new = _new_events(
        api_as, cercle.person_id, lambda: api_as("esms").get(f"/api/persons/{cercle.person_id}")
    )
    assert len(new) == 1
    assert new[0]["actor_type"] == "api_client"
    assert new[0]["role"] == "esms"


def test_refused_access_leaves_no_read_trace(cercle: Cercle, api_as: Any) -> None:
    new = _new_events(
        api_as, cercle.person_id, lambda: api_as("esms").get(f"/api/ppas/{cercle.ppa_id}")
    )
    assert new == []


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
