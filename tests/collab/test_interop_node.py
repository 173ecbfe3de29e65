"""Stock Yjs + y-websocket clients (Node) against the room over real uvicorn sockets."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from typing import Any

import pytest
from pycrdt import Array, Doc, Text

from editor.collab.manager import RoomManager
from tests.collab.channels import CountingGuard
from tests.collab.conftest import running_manager
from tests.collab.live import Identity, LiveCollab, NodeClient, live_collab, node_available
from tests.collab.stores import MemoryStore

pytestmark = [
    pytest.mark.node,
    pytest.mark.skipif(not node_available(), reason="node is not installed"),
]

TOKENS = {
    "tok-alice": Identity("alice"),
    "tok-bruno": Identity("bruno"),
    "tok-reader": Identity("rachid", read_only=True),
}


@pytest.fixture
async def server(manager: RoomManager) -> AsyncIterator[LiveCollab]:
    async with live_collab(manager, TOKENS) as live:
        yield live


@pytest.fixture
async def clients() -> AsyncIterator[list[NodeClient]]:
    started: list[NodeClient] = []
    yield started
    await asyncio.gather(*(client.stop() for client in started))


async def start(clients: list[NodeClient], n: int) -> list[NodeClient]:
    new = await asyncio.gather(*(NodeClient.start() for _ in range(n)))
    clients.extend(new)
    return list(new)


def stored_text(store: MemoryStore, ppa_id: str) -> str:
    doc: Doc[Any] = Doc()
    doc.apply_update(store.stored_state(ppa_id))
    return str(doc.get("t", type=Text))


async def test_two_clients_joining_a_fresh_room_at_once_both_sync(
    server: LiveCollab, clients: list[NodeClient], store: MemoryStore, manager: RoomManager
) -> None:
    alice, bruno = await start(clients, 2)
    await asyncio.gather(
        alice.call("connect", url=server.url, room="ppa-fresh", token="tok-alice"),
        bruno.call("connect", url=server.url, room="ppa-fresh", token="tok-bruno"),
    )
    assert await alice.call("waitSynced") is True
    assert await bruno.call("waitSynced") is True
    assert manager.loads == 1

    await alice.call("insert", index=0, text="Bonjour")
    await bruno.call("waitText", value="Bonjour")
    await bruno.call("insert", index=7, text=" Marie")
    await alice.call("waitText", value="Bonjour Marie")
    await alice.call("waitSaved")
    await bruno.call("waitSaved")

    assert stored_text(store, "ppa-fresh") == "Bonjour Marie"
    assert await alice.call("errors") == []
    assert await bruno.call("errors") == []


async def test_concurrent_edits_in_one_field_merge(
    server: LiveCollab, clients: list[NodeClient], store: MemoryStore
) -> None:
    alice, bruno = await start(clients, 2)
    for client, token in ((alice, "tok-alice"), (bruno, "tok-bruno")):
        await client.call("connect", url=server.url, room="ppa-merge", token=token)
        await client.call("waitSynced")
    await alice.call("insert", index=0, text="objectif")
    await bruno.call("waitText", value="objectif")
    await asyncio.gather(
        alice.call("insert", index=0, text="Premier "),
        bruno.call("insert", index=8, text=" atteint"),
    )
    await alice.call("waitText", value="Premier objectif atteint")
    await bruno.call("waitText", value="Premier objectif atteint")
    await alice.call("waitSaved")
    await bruno.call("waitSaved")
    assert stored_text(store, "ppa-merge") == "Premier objectif atteint"


async def test_offline_edit_merges_on_reconnect(
    server: LiveCollab, clients: list[NodeClient], store: MemoryStore
) -> None:
    alice, bruno = await start(clients, 2)
    for client, token in ((alice, "tok-alice"), (bruno, "tok-bruno")):
        await client.call("connect", url=server.url, room="ppa-offline", token=token)
        await client.call("waitSynced")
    await alice.call("insert", index=0, text="ab")
    await bruno.call("waitText", value="ab")

    await bruno.call("disconnect")
    await bruno.call("insert", index=2, text="-hors-ligne")
    await alice.call("insert", index=0, text="en-ligne-")
    await alice.call("waitSaved")
    assert await bruno.call("saved") is False

    await bruno.call("connect", url=server.url, room="ppa-offline", token="tok-bruno")
    await bruno.call("waitSynced")
    expected = "en-ligne-ab-hors-ligne"
    await bruno.call("waitText", value=expected)
    await alice.call("waitText", value=expected)
    await bruno.call("waitSaved")
    assert stored_text(store, "ppa-offline") == expected
    assert await alice.call("state") is not None
    alice_doc: Doc[Any] = Doc()
    alice_doc.apply_update(base64.b64decode(await alice.call("state")))
    bruno_doc: Doc[Any] = Doc()
    bruno_doc.apply_update(base64.b64decode(await bruno.call("state")))
    assert alice_doc.get_state() == bruno_doc.get_state()


async def test_presence_crosses_and_is_removed_on_disconnect(
    server: LiveCollab, clients: list[NodeClient]
) -> None:
    alice, bruno = await start(clients, 2)
    for client, token in ((alice, "tok-alice"), (bruno, "tok-bruno")):
        await client.call("connect", url=server.url, room="ppa-presence", token=token)
        await client.call("waitSynced")
    await alice.call("setAwareness", state={"user": {"name": "Alice"}})
    await bruno.call("setAwareness", state={"user": {"name": "Bruno"}})
    await alice.call("waitAwareness", count=2)
    await bruno.call("waitAwareness", count=2)
    states = await bruno.call("awareness")
    assert {s["user"]["name"] for s in states.values()} == {"Alice", "Bruno"}

    await alice.call("disconnect")
    await bruno.call("waitAwareness", count=1)


async def test_reader_receives_document_but_its_writes_go_nowhere(
    server: LiveCollab, clients: list[NodeClient], store: MemoryStore
) -> None:
    alice, reader = await start(clients, 2)
    await alice.call("connect", url=server.url, room="ppa-ro", token="tok-alice")
    await alice.call("waitSynced")
    await alice.call("insert", index=0, text="texte")
    await alice.call("waitSaved")
    await reader.call("connect", url=server.url, room="ppa-ro", token="tok-reader")
    await reader.call("waitSynced")
    await reader.call("waitText", value="texte")

    await reader.call("insert", index=0, text="INTRUS ")
    warning = await reader.wait_event(
        lambda e: e.get("event") == "warn" and "Lecture seule" in e.get("text", "")
    )
    assert "Permission denied" in warning["text"]
    await alice.call("insert", index=5, text=" final")
    await reader.call("waitText", value="INTRUS texte final")
    await alice.call("waitSaved")
    assert await alice.call("text") == "texte final"
    assert stored_text(store, "ppa-ro") == "texte final"
    assert await reader.call("errors") == []


async def test_unauthenticated_is_closed_with_4401(
    server: LiveCollab, clients: list[NodeClient]
) -> None:
    [client] = await start(clients, 1)
    await client.call("connect", url=server.url, room="ppa-x", token="wrong")
    event = await client.wait_event(lambda e: e.get("event") == "close")
    assert event["code"] == 4401
    assert event["reason"] == "Authentification requise"


async def test_schema_guard_with_stock_clients(clients: list[NodeClient]) -> None:
    guard = CountingGuard()
    store = MemoryStore()
    async with (
        running_manager(store, guard=guard) as manager,
        live_collab(manager, TOKENS) as server,
    ):
        alice, bruno = await start(clients, 2)
        for client, token in ((alice, "tok-alice"), (bruno, "tok-bruno")):
            await client.call("connect", url=server.url, room="ppa-guard", token=token)
            await client.call("waitSynced")
        loaded = guard.checks  # the document checked once when its room loaded
        await alice.call("insert", field="projet_de_vie", index=0, text="Vivre seul")
        await bruno.call("waitText", field="projet_de_vie", value="Vivre seul")
        await alice.call("waitSaved")
        assert guard.checks == loaded  # stock Yjs typing is recognised as a text edit

        await alice.call("pushItem", root="objectifs", item={"id": "o1", "titre": "Marcher"})
        await alice.call("pushItem", root="objectifs", item={"titre": "sans identifiant"})
        await bruno.call("waitItemIds", root="objectifs", ids=["o1"])
        await alice.wait_event(lambda e: e.get("event") == "warn" and "refusée" in e["text"])
        room = manager.room("ppa-guard")
        assert room is not None
        assert guard.check(room.doc) == []
        assert [item["id"] for item in room.doc.get("objectifs", type=Array)] == ["o1"]
        assert await alice.call("errors") == []
        assert await bruno.call("errors") == []
