"""A client with nothing (empty state vector) gets the whole document: the encoded document is
kept and followed by the transactions since (not encoded again after every edit)."""

from __future__ import annotations

import anyio
import pytest

import editor.sync
from editor.sync import (
    RoomManager,
    SyncStep2,
    SyncUpdate,
    decode_messages,
)
from tests.collab.channels import MemoryChannel, SimClient, join
from tests.collab.conftest import running_manager
from tests.collab.stores import MemoryStore


def sync_kinds(frames: list[bytes]) -> list[str]:
    kinds = []
    for frame in frames:
        for message in decode_messages(frame):
            if isinstance(message, SyncStep2):
                kinds.append("step2")
            elif isinstance(message, SyncUpdate):
                kinds.append("update")
    return kinds


async def test_late_joiner_right_after_an_edit_receives_it(manager: RoomManager) -> None:
    alice = await join(manager, "l1", "alice")
    alice.client.text += "bonjour"
    alice.pump()
    room = manager.room("l1")
    assert room is not None
    await room.flush()
    first = await join(manager, "l1", "bruno")  # the whole document is encoded here
    assert first.text == "bonjour"

    alice.client.text += " monde"
    alice.pump()
    await room.flush()
    channel = MemoryChannel("carla")
    peer = await manager.join("l1", channel)
    client = SimClient()
    client.connect()
    for frame in client.outbox:
        peer.receive(frame)
    client.outbox.clear()
    frames = channel.take()
    # The document as encoded for the first joiner, then the edit since, as an update.
    assert sync_kinds(frames) == ["step2", "update"]
    for frame in frames:
        client.handle(frame)
    assert str(client.text) == "bonjour monde"
    first.pump()
    assert first.text == "bonjour monde"


async def test_late_joiner_during_a_commit_gets_the_edit_once_durable(
    manager: RoomManager, store: MemoryStore
) -> None:
    alice = await join(manager, "l2", "alice")
    alice.client.text += "un"
    alice.pump()
    room = manager.room("l2")
    assert room is not None
    await room.flush()
    await join(manager, "l2", "bruno")
    store.gate = anyio.Event()
    alice.client.text += " deux"
    alice.pump()
    await anyio.sleep(0.01)  # the commit is held
    channel = MemoryChannel("carla")
    peer = await manager.join("l2", channel)
    client = SimClient()
    client.connect()
    for frame in client.outbox:
        peer.receive(frame)
    client.outbox.clear()
    assert sync_kinds(channel.sent) == []  # nothing non-durable is shown
    store.gate.set()
    store.gate = None
    await room.flush()
    for frame in channel.take():
        client.handle(frame)
    assert str(client.text) == "un deux"


async def test_joiners_after_many_edits_and_a_reload_get_everything(
    store: MemoryStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(editor.sync, "_MAX_FULL_TAIL", 5)
    expected = ""
    async with running_manager(store) as manager:
        alice = await join(manager, "l3", "alice")
        room = manager.room("l3")
        assert room is not None
        for round_ in range(4):
            for i in range(round_ * 3 + 1):  # 1, 4, 7, 10 edits: below and beyond the limit
                alice.client.text.insert(0, f"{round_}{i}")
                expected = f"{round_}{i}" + expected
                alice.pump()
                await room.flush()
            joiner = await join(manager, "l3", f"j{round_}")
            assert joiner.text == expected
        await store.compact("l3")
        alice.client.text += "fin"
        expected += "fin"
        alice.pump()
        await room.flush()

    # Loaded from the stored state and the log tail: the first joiner gets them as stored.
    async with running_manager(store) as manager:
        bruno = await join(manager, "l3", "bruno")
        assert bruno.text == expected
        bruno.client.text += "!"
        bruno.pump()
        room = manager.room("l3")
        assert room is not None
        await room.flush()
        carla = await join(manager, "l3", "carla")
        assert carla.text == expected + "!"
