"""A client's sync step 1 is answered with the whole document in one sync step 2, encoded in a
worker thread from a garbage-collected replica (:class:`editor.collab.served.ServedDocument`)."""

from __future__ import annotations

import random
from typing import Any

import anyio
import pytest
from pycrdt import Doc, Text, TransactionEvent

from editor.collab.errors import MalformedMessageError
from editor.collab.manager import RoomManager
from editor.collab.protocol import SyncStep2, SyncUpdate, decode_messages
from editor.collab.served import ServedDocument
from tests.collab.channels import join
from tests.collab.conftest import running_manager
from tests.collab.stores import MemoryStore


def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    """The worker runs every 3 transactions: every path runs."""
    monkeypatch.setattr(ServedDocument, "BATCH_TRANSACTIONS", 3)


def sync_kinds(frames: list[bytes]) -> list[str]:
    kinds = []
    for frame in frames:
        for message in decode_messages(frame):
            if isinstance(message, SyncStep2):
                kinds.append("step2")
            elif isinstance(message, SyncUpdate):
                kinds.append("update")
    return kinds


async def test_late_joiner_right_after_an_edit_receives_it_in_step2(manager: RoomManager) -> None:
    alice = await join(manager, "l1", "alice")
    alice.client.text += "bonjour"
    alice.pump()
    room = manager.room("l1")
    assert room is not None
    await room.flush()
    first = await join(manager, "l1", "bruno")
    assert first.text == "bonjour"

    alice.client.text += " monde"
    alice.pump()
    await room.flush()
    carla = await join(manager, "l1", "carla", synced=False)
    await room.settle()
    frames = carla.channel.take()
    assert sync_kinds(frames) == ["step2"]  # the whole document, in one message
    for frame in frames:
        carla.client.handle(frame)
    assert carla.text == "bonjour monde"
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
    carla = await join(manager, "l2", "carla", synced=False)
    await anyio.sleep(0.2)  # encoded meanwhile, held until the commit
    assert sync_kinds(carla.channel.sent) == []  # nothing non-durable is shown
    store.gate.set()
    store.gate = None
    await room.flush()
    await room.settle()
    assert sync_kinds(carla.channel.sent)[0] == "step2"  # then the relay it held
    carla.client.handle(carla.channel.take()[0])
    assert carla.text == "un deux"  # the step 2 alone holds it


async def test_joiners_after_many_edits_and_a_reload_get_everything(
    store: MemoryStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    small_batches(monkeypatch)
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


@pytest.mark.parametrize("seed", range(4))
def test_served_replies_equal_the_document_whatever_the_worker_did(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    small_batches(monkeypatch)
    rng = random.Random(seed)
    doc: Doc[Any] = Doc()
    text = doc.get("t", type=Text)
    text += "debut"  # ASCII: pycrdt offsets are UTF-8 bytes, the random ranges count characters
    served: ServedDocument[int] = ServedDocument([doc.get_update()])

    def note(event: TransactionEvent) -> None:
        served.note(event.update)

    doc.observe(note)
    client: Doc[Any] = Doc()
    waiting: set[int] = set()
    for step in range(120):
        if len(text) > 3 and rng.random() < 0.3:
            start = rng.randrange(len(text) - 2)
            del text[start : start + 2]
        else:
            text.insert(rng.randint(0, len(text)), f"<{step}>")
        if rng.random() < 0.2:  # a client asks, holding some earlier state
            served.request(step, client.get_state())
            waiting.add(step)
        if rng.random() < 0.4:  # the worker: a job now and then
            job = served.next_job()
            if job is not None:
                for key, reply in job()():
                    assert reply is not None
                    (message,) = decode_messages(reply)
                    assert isinstance(message, SyncStep2)
                    client.apply_update(message.update)
                    waiting.remove(key)
                    # Everything as of the request, and what came since (the job runs now).
                    assert str(client.get("t", type=Text)) == str(text)
    while (job := served.next_job()) is not None:
        for key, _reply in job()():
            waiting.remove(key)
    assert not waiting


async def test_the_room_keeps_the_replica_current_in_the_background(
    manager: RoomManager, monkeypatch: pytest.MonkeyPatch
) -> None:
    small_batches(monkeypatch)
    alice = await join(manager, "l4", "alice")
    room = manager.room("l4")
    assert room is not None
    for i in range(40):
        alice.client.text.insert(0, f"{i};")
        alice.pump()
        await room.flush()
    await room.settle()
    assert not room._served.due  # applied to the replica as they came
    late = await join(manager, "l4", "carla")
    assert late.text == str(alice.client.text)


async def test_a_malformed_state_vector_closes_the_connection(manager: RoomManager) -> None:
    session = await join(manager, "l5", "alice")
    with pytest.raises(MalformedMessageError):
        session.peer.receive(b"\x00\x00\x03\x05\x01")


async def test_deleted_text_is_not_sent_to_joiners(manager: RoomManager) -> None:
    """The replica is garbage-collected: what was typed then deleted is not in the reply."""
    alice = await join(manager, "l6", "alice")
    room = manager.room("l6")
    assert room is not None
    for i in range(80):  # 80 x 2 KiB typed then deleted: 160 KiB of deleted text
        alice.client.text.insert(0, f"{i:04d}" + "x" * 2044)
        alice.pump()
        del alice.client.text[0:2048]
        alice.pump()
        await room.flush()
    alice.client.text += "reste"
    alice.pump()
    await room.flush()
    late = await join(manager, "l6", "carla", synced=False)
    await room.settle()
    (frame,) = late.channel.take()
    assert len(frame) < 1.1 * len(room.doc.get_update()) + 16
    late.client.handle(frame)
    assert late.text == "reste"
