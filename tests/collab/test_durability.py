"""Store hook: durable before relay, group commit, acknowledgements, store failures."""

from __future__ import annotations

import anyio

from editor.collab.errors import CloseCode
from editor.collab.manager import RoomManager
from editor.collab.ports import StoredUpdate
from tests.collab.channels import join
from tests.collab.stores import MemoryStore


async def test_update_is_committed_before_it_is_relayed(
    manager: RoomManager, store: MemoryStore
) -> None:
    alice = await join(manager, "p1", "alice")
    bruno = await join(manager, "p1", "bruno")
    store.gate = anyio.Event()
    alice.client.text += "bonjour"
    alice.pump()
    room = manager.room("p1")
    assert room is not None
    await anyio.sleep(0.01)
    assert bruno.channel.sent == []  # commit in flight: nothing shown yet
    assert store.docs["p1"].rows == []
    assert not alice.client.saved()

    store.gate.set()
    store.gate = None
    await room.flush()
    assert len(store.docs["p1"].rows) == 1
    bruno.pump()
    alice.pump()
    assert bruno.text == "bonjour"
    assert alice.client.saved()


async def test_writes_arriving_during_a_commit_are_batched(
    manager: RoomManager, store: MemoryStore
) -> None:
    sessions = [await join(manager, "p2", f"user{i}") for i in range(5)]
    room = manager.room("p2")
    assert room is not None
    store.gate = anyio.Event()
    sessions[0].client.text += "a"
    sessions[0].pump()
    await anyio.sleep(0.01)  # first commit now in flight, held by the gate
    for i, session in enumerate(sessions[1:], 1):
        session.client.text.insert(0, str(i))
        session.pump()
    store.gate.set()
    store.gate = None
    await room.flush()
    assert store.batch_sizes == [1, 4]
    for session in sessions:
        session.pump()
    texts = {session.text for session in sessions}
    assert len(texts) == 1
    assert len(texts.pop()) == 5
    assert all(session.client.saved() for session in sessions)


async def test_each_update_keeps_its_author_and_time(
    manager: RoomManager, store: MemoryStore
) -> None:
    alice = await join(manager, "p3", "alice")
    bruno = await join(manager, "p3", "bruno")
    alice.client.text += "x"
    alice.pump()
    bruno.client.text += "y"
    bruno.pump()
    room = manager.room("p3")
    assert room is not None
    await room.flush()
    rows = store.docs["p3"].rows
    assert [row.author for row in rows] == ["alice", "bruno"]
    assert all(row.at.tzinfo is not None for row in rows)


async def test_joiner_is_answered_only_with_durable_content(
    manager: RoomManager, store: MemoryStore
) -> None:
    alice = await join(manager, "p4", "alice")
    store.gate = anyio.Event()
    alice.client.text += "pas encore enregistré"
    alice.pump()
    await anyio.sleep(0.01)
    late = await join(manager, "p4", "late", synced=False)
    await anyio.sleep(0.2)  # its sync step 2 is encoded meanwhile, and waits for the commit
    late.pump()
    assert not late.client.synced
    assert late.text == ""
    store.gate.set()
    store.gate = None
    room = manager.room("p4")
    assert room is not None
    await room.flush()
    await late.synced()
    assert late.text == "pas encore enregistré"


async def test_duplicate_write_is_not_stored_twice(
    manager: RoomManager, store: MemoryStore
) -> None:
    alice = await join(manager, "p5", "alice")
    alice.client.text += "une fois"
    frames = list(alice.client.outbox)
    alice.pump()
    room = manager.room("p5")
    assert room is not None
    await room.flush()
    for frame in frames:
        alice.peer.receive(frame)
    await room.flush()
    assert len(store.docs["p5"].rows) == 1


async def test_store_failure_is_retried(manager: RoomManager, store: MemoryStore) -> None:
    alice = await join(manager, "p6", "alice")
    bruno = await join(manager, "p6", "bruno")
    store.fail_appends = 2
    alice.client.text += "tenace"
    alice.pump()
    room = manager.room("p6")
    assert room is not None
    await room.flush()
    bruno.pump()
    assert bruno.text == "tenace"
    assert store.append_calls == 3


async def test_store_outage_closes_connections_without_relaying_and_reloads(
    manager: RoomManager, store: MemoryStore
) -> None:
    alice = await join(manager, "p7", "alice")
    bruno = await join(manager, "p7", "bruno")
    store.fail_appends = manager.limits.store_retries
    alice.client.text += "perdu?"
    alice.pump()
    room = manager.room("p7")
    assert room is not None
    await room.flush()
    assert room.broken
    assert alice.channel.closed is not None
    assert alice.channel.closed[0] == CloseCode.INTERNAL_ERROR
    bruno.pump()
    assert bruno.text == ""
    assert not alice.client.saved()
    manager.leave(alice.peer)
    manager.leave(bruno.peer)

    # The client still holds its write and resends it to the freshly loaded room.
    alice.client.disconnect()
    again = await join(manager, "p7", "alice", client=alice.client)
    assert manager.room("p7") is not room
    fresh = manager.room("p7")
    assert fresh is not None
    await fresh.flush()
    again.pump()
    assert again.client.saved()
    assert [row.author for row in store.docs["p7"].rows] == ["alice"]


async def test_append_returns_sequence_numbers(store: MemoryStore) -> None:
    from datetime import UTC, datetime

    from pycrdt import Doc, Text

    doc: Doc[Text] = Doc()
    doc["t"] = Text("a")
    update = doc.get_update()
    now = datetime.now(UTC)
    assert await store.append("p", [StoredUpdate(update, "a", now)]) == 1
    assert await store.append("p", [StoredUpdate(update, "a", now)] * 2) == 3
