"""Read-only connections and the room lock (the versions issue calls ``lock``)."""

from __future__ import annotations

from editor.collab.manager import RoomManager
from editor.collab.protocol import AwarenessEntry, encode_awareness
from editor.collab.room import LOCKED_NOTICE, READ_ONLY_NOTICE
from tests.collab.channels import join
from tests.collab.stores import MemoryStore


async def test_reader_gets_document_and_is_told_it_is_read_only(manager: RoomManager) -> None:
    alice = await join(manager, "r1", "alice")
    alice.client.text += "contenu"
    alice.pump()
    room = manager.room("r1")
    assert room is not None
    await room.flush()
    reader = await join(manager, "r1", "rachid", read_only=True)
    assert reader.text == "contenu"
    assert reader.client.denied == [READ_ONLY_NOTICE]


async def test_reader_writes_are_not_applied_stored_or_relayed(
    manager: RoomManager, store: MemoryStore
) -> None:
    alice = await join(manager, "r2", "alice")
    reader = await join(manager, "r2", "rachid", read_only=True)
    room = manager.room("r2")
    assert room is not None
    before = room.doc.get_update()
    reader.client.text += "intrusion"
    reader.client.text += " encore"
    reader.pump()
    await room.flush()
    alice.pump()
    assert room.doc.get_update() == before
    assert alice.text == ""
    assert store.docs["r2"].rows == []
    assert reader.client.denied == [READ_ONLY_NOTICE]  # told once, not per write


async def test_reader_presence_is_not_relayed_by_default(manager: RoomManager) -> None:
    alice = await join(manager, "r3", "alice")
    reader = await join(manager, "r3", "rachid", read_only=True)
    alice.channel.take()
    reader.peer.receive(encode_awareness([AwarenessEntry(5, 1, '{"user":"r"}')]))
    assert alice.channel.sent == []


async def test_lock_turns_live_writers_read_only_at_once(
    manager: RoomManager, store: MemoryStore
) -> None:
    alice = await join(manager, "r4", "alice")
    bruno = await join(manager, "r4", "bruno")
    alice.client.text += "avant"
    alice.pump()
    assert manager.room("r4") is not None
    locked = await manager.lock("r4")
    assert locked
    assert alice.channel.read_only
    assert bruno.channel.read_only
    assert len(store.docs["r4"].rows) == 1  # accepted before the lock: committed by lock()

    bruno.pump()
    bruno.client.text += "après"
    bruno.pump()
    room = manager.room("r4")
    assert room is not None
    await room.flush()
    alice.pump()
    assert alice.text == "avant"
    assert len(store.docs["r4"].rows) == 1
    assert LOCKED_NOTICE in bruno.client.denied

    late = await join(manager, "r4", "claire")
    assert late.channel.read_only


async def test_lock_of_an_unloaded_room_is_a_no_op(manager: RoomManager) -> None:
    assert await manager.lock("absent") is False


async def test_unlock_restores_the_roles_given_at_join(manager: RoomManager) -> None:
    await join(manager, "r5", "alice")
    await join(manager, "r5", "rachid", read_only=True)
    room = manager.room("r5")
    assert room is not None
    await room.lock()
    room.unlock()
    assert [p.channel.read_only for p in room.peers] == [False, True]
