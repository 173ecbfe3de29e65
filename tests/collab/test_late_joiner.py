"""A client with nothing (empty state vector) gets the whole document: a base encoded once and
the transactions since, merged by chunks in the background
(:class:`editor.collab.served.ServedDocument`), never encoded again after every edit."""

from __future__ import annotations

import random
from typing import Any

import anyio
import pytest
from pycrdt import Doc, Text, TransactionEvent

from editor.collab.manager import RoomManager
from editor.collab.protocol import SyncStep2, SyncUpdate, decode_messages
from editor.collab.served import ServedDocument
from tests.collab.channels import MemoryChannel, SimClient, join
from tests.collab.conftest import running_manager
from tests.collab.stores import MemoryStore


def small_chunks(monkeypatch: pytest.MonkeyPatch, max_chunks: int = 100) -> None:
    """Chunks of 3 transactions, a rebase every 2 chunks: every path runs."""
    monkeypatch.setattr(ServedDocument, "CHUNK_TRANSACTIONS", 3)
    monkeypatch.setattr(ServedDocument, "REBASE_CHUNKS", 2)
    monkeypatch.setattr(ServedDocument, "MAX_CHUNKS", max_chunks)


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
    small_chunks(monkeypatch)
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


def apply_reply(messages: list[bytes]) -> str:
    """What a stock client holds after applying a reply (each message in order)."""
    doc: Doc[Any] = Doc()
    kinds = []
    for frame in messages:
        for message in decode_messages(frame):
            assert isinstance(message, SyncStep2 | SyncUpdate)
            kinds.append(type(message))
            doc.apply_update(message.update)
    assert kinds[0] is SyncStep2
    assert all(k is SyncUpdate for k in kinds[1:])
    return str(doc.get("t", type=Text))


@pytest.mark.parametrize("seed", range(4))
def test_served_document_equals_the_document_whatever_the_background_work_did(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    small_chunks(monkeypatch)
    rng = random.Random(seed)
    doc: Doc[Any] = Doc()
    text = doc.get("t", type=Text)
    text += "debut"  # ASCII: pycrdt offsets are UTF-8 bytes, the random ranges count characters
    served = ServedDocument(doc.get_update())

    def note(event: TransactionEvent) -> None:
        served.note(event.update)

    doc.observe(note)
    jobs_run = 0
    for step in range(120):
        if len(text) > 3 and rng.random() < 0.3:
            start = rng.randrange(len(text) - 2)
            del text[start : start + 2]
        else:
            text.insert(rng.randint(0, len(text)), f"<{step}>")
        if rng.random() < 0.4:  # the worker: a job now and then, its result installed later
            job = served.next_job()
            if job is not None:
                install = job()
                if rng.random() < 0.7:
                    install()
                    jobs_run += 1
        if rng.random() < 0.2:
            assert apply_reply(served.reply()) == str(text)
        assert len(served.chunks) <= 12  # merged and folded into the base as they close
    assert jobs_run > 5
    while (job := served.next_job()) is not None:
        job()()
    assert len(served.chunks) < ServedDocument.REBASE_CHUNKS
    assert apply_reply(served.reply()) == str(text)


async def test_the_room_keeps_the_reply_current_in_the_background(
    manager: RoomManager, monkeypatch: pytest.MonkeyPatch
) -> None:
    small_chunks(monkeypatch)
    alice = await join(manager, "l4", "alice")
    room = manager.room("l4")
    assert room is not None
    await join(manager, "l4", "bruno")  # the document is encoded here, once
    served = room._served
    assert served is not None
    for i in range(40):
        alice.client.text.insert(0, f"{i};")
        alice.pump()
        await room.flush()
    for _ in range(500):  # the worker runs its jobs in a thread, then installs them
        if served.next_job() is None:
            break
        await anyio.sleep(0.01)
    assert room._served is served  # kept current, never dropped nor encoded again
    assert len(served.chunks) < ServedDocument.REBASE_CHUNKS
    expected = str(alice.client.text)
    late = await join(manager, "l4", "carla")
    assert late.text == expected


async def test_a_reply_the_worker_cannot_keep_up_with_is_dropped_then_encoded(
    manager: RoomManager, monkeypatch: pytest.MonkeyPatch
) -> None:
    small_chunks(monkeypatch, max_chunks=2)
    alice = await join(manager, "l5", "alice")
    room = manager.room("l5")
    assert room is not None
    await join(manager, "l5", "bruno")
    assert room._served is not None
    for i in range(12):  # applied one after the other, the worker gets no turn in between
        alice.client.text.insert(0, f"{i};")
        alice.pump()
    assert room._served is None  # more than 2 chunks waiting: dropped, memory bounded
    await room.flush()
    late = await join(manager, "l5", "carla")  # the document is encoded for it
    assert late.text == str(alice.client.text)
    assert room._served is not None


async def test_deleted_text_does_not_grow_the_reply_for_ever(
    manager: RoomManager, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Merged updates keep deleted content; the room encodes a small document again once the
    base has doubled, so a session of typing and deleting does not inflate what joiners get."""
    small_chunks(monkeypatch)
    alice = await join(manager, "l6", "alice")
    room = manager.room("l6")
    assert room is not None
    await join(manager, "l6", "bruno")
    for i in range(80):  # 80 x 2 KiB typed then deleted: 160 KiB of deleted text
        alice.client.text.insert(0, f"{i:04d}" + "x" * 2044)
        alice.pump()
        del alice.client.text[0:2048]
        alice.pump()
        await room.flush()
    alice.client.text += "reste"
    alice.pump()
    await room.flush()
    for _ in range(500):
        served = room._served
        if served is not None and served.next_job() is None:
            break
        await anyio.sleep(0.01)
    assert served is not None
    assert len(served.base) < 2 * len(room.doc.get_update()) + 2 * ServedDocument.CHUNK_BYTES
    late = await join(manager, "l6", "carla")
    assert late.text == "reste"
