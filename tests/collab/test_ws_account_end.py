"""An administrator deactivating a user or revoking an API client closes its live connections at
once (4401, French reason), against the real app: nothing the closed connection sends afterwards
reaches the document, and it cannot reconnect."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import anyio
import httpx
import pytest
import sqlalchemy as sa
from pycrdt import Text

from editor.collab.errors import CloseCode
from server.collab.fanout import RedisFanout, publish_end_principal
from server.collab.service import UNAUTHENTICATED_REASON
from server.people.accounts import DEACTIVATED_REASON, REVOKED_REASON
from tests.collab.app import fresh_ppa, stored_content, token_of, update_log
from tests.collab.live import WsClient
from tests.collab.test_ws_access import connect, round_trip, saved, user_id
from tests.conftest import DatabaseInfo, LiveServer
from tests.server.helpers import sql_login
from tests.server.versions.helpers import COORD, new_ppa, validate

PASSWORD = "mot de passe du compte"
REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture(scope="module")
def engine(database: DatabaseInfo) -> Iterator[sa.Engine]:
    engine = sa.create_engine(database.sync_url)
    yield engine
    engine.dispose()


def new_login(engine: sa.Engine, live_server: LiveServer) -> tuple[str, str]:
    """(id, token) of a fresh professional login (the demo logins serve other tests)."""
    account_id, username = sql_login(engine, PASSWORD, "Compte désactivé en direct")
    response = httpx.post(
        f"{live_server.url}/api/auth/token",
        data={"username": username, "password": PASSWORD},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return account_id, token


async def test_deactivated_user_is_closed_and_its_later_writes_are_dropped(
    ws_url: str,
    live_server: LiveServer,
    api_as: Any,
    demo: dict[str, Any],
    database: DatabaseInfo,
    engine: sa.Engine,
    open_clients: list[WsClient],
) -> None:
    account_id, token = new_login(engine, live_server)
    cercle = fresh_ppa(api_as, demo)
    added = api_as(COORD).post(
        f"/api/persons/{cercle.person_id}/cercle",
        json={"kind": "professional", "role": "contributor", "user_id": account_id},
    )
    assert added.status_code == 201, added.text
    witness = await connect(open_clients, ws_url, cercle.ppa_id, token_of(api_as, "infirmier"))
    writer = await connect(open_clients, ws_url, cercle.ppa_id, token)
    text = writer.doc.get("projet_de_vie", type=Text)
    text.insert(0, "avant")
    await saved(writer)

    response = api_as("admin").patch(f"/api/users/{account_id}", json={"is_active": False})
    assert response.status_code == 200, response.text
    # The admin route answered: the connection has left its room, whatever it sends now.
    text.insert(0, "APRES ")
    await writer.drain()
    assert await writer.wait_closed() == CloseCode.UNAUTHENTICATED
    assert writer.close_reason == DEACTIVATED_REASON

    witness_text = witness.doc.get("projet_de_vie", type=Text)
    witness_text.insert(len(witness_text), " fin")
    await saved(witness)
    assert str(witness_text) == "avant fin"
    assert stored_content(database, cercle.ppa_id).projet_de_vie == "avant fin"
    authors = [row.author for row in update_log(database, cercle.ppa_id)]
    assert authors.count(account_id) == 1  # its write before the deactivation only
    assert user_id(api_as, "infirmier") in authors

    again = await connect(open_clients, ws_url, cercle.ppa_id, token, sync=False)
    assert await again.wait_closed() == CloseCode.UNAUTHENTICATED
    assert again.close_reason == UNAUTHENTICATED_REASON


async def test_revoked_api_client_is_closed(
    ws_url: str,
    api_as: Any,
    demo: dict[str, Any],
    open_clients: list[WsClient],
) -> None:
    admin = api_as("admin")
    created = admin.post("/api/api-clients", json={"name": "Logiciel révoqué en direct"})
    assert created.status_code == 201, created.text
    token, client_id = created.json()["token"], created.json()["id"]
    setup = new_ppa(api_as, demo)
    added = api_as(COORD).post(
        f"/api/persons/{setup.cercle.person_id}/cercle",
        json={"kind": "structure_system", "role": "esms", "api_client_id": client_id},
    )
    assert added.status_code == 201, added.text
    validated = validate(api_as(COORD), setup.ppa_id)
    assert validated.status_code == 201, validated.text
    # esms reads validated PPAs only (read-only): there is nothing to write, only the close.
    reader = await connect(open_clients, ws_url, setup.ppa_id, token)
    witness = await connect(open_clients, ws_url, setup.ppa_id, token_of(api_as, COORD))

    assert admin.delete(f"/api/api-clients/{client_id}").status_code == 204
    assert await reader.wait_closed() == CloseCode.UNAUTHENTICATED
    assert reader.close_reason == REVOKED_REASON
    text = witness.doc.get("projet_de_vie", type=Text)
    text.insert(0, "encore ouvert ")  # the coordinator's connection stays open (and locked)
    await round_trip(witness)
    assert witness.close_code is None

    again = await connect(open_clients, ws_url, setup.ppa_id, token, sync=False)
    assert await again.wait_closed() == CloseCode.UNAUTHENTICATED


async def test_end_principal_crosses_processes_over_redis() -> None:
    """Another ``ppa serve`` process (the admin route's fan-out) or the ``ppa`` command line
    reaches a process's connections through the Redis control channel; a process ignores its
    own request (it closed its connections itself)."""
    prefix = f"ppa-test-{uuid.uuid4().hex[:8]}"
    here, there = RedisFanout(REDIS_URL, prefix), RedisFanout(REDIS_URL, prefix)
    ended: dict[str, list[tuple[str, str]]] = {"here": [], "there": []}
    arrived = asyncio.Event()

    def on_end(name: str) -> Callable[[str, str], None]:
        def record(principal_id: str, reason: str) -> None:
            ended[name].append((principal_id, reason))
            arrived.set()

        return record

    here.on_end_principal, there.on_end_principal = on_end("here"), on_end("there")

    async def until(predicate: Callable[[], bool]) -> None:
        while not predicate():
            arrived.clear()
            await asyncio.wait_for(arrived.wait(), 10)

    try:
        async with anyio.create_task_group() as tg:
            await here.run(tg)
            await there.run(tg)
            assert here.connected.is_set()
            assert there.connected.is_set()
            await here.end_principal_everywhere("compte-1", DEACTIVATED_REASON)
            await until(lambda: len(ended["there"]) == 1)
            await publish_end_principal(REDIS_URL, prefix, "client-2", REVOKED_REASON)
            # Redis delivers in order: "here" would have had its own request before this one.
            await until(lambda: len(ended["there"]) == 2 and len(ended["here"]) == 1)
            tg.cancel_scope.cancel()
    finally:
        await here.close()
        await there.close()
    assert ended["there"] == [("compte-1", DEACTIVATED_REASON), ("client-2", REVOKED_REASON)]
    assert ended["here"] == [("client-2", REVOKED_REASON)]
