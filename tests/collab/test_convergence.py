"""Convergence: several pycrdt replicas, random disconnects, reordering, duplicated messages and
server restarts; at the end every replica, the room and the stored state are identical.

Frames from a client reach the server in any order (several connections interleave, and a
misbehaving client may send non-causal updates); frames from the server reach a client in order,
as on a WebSocket, sometimes delivered again later. (Reordering *into* a pycrdt replica would
exercise a yrs bug, not the room: see test_upstream.py.)"""

from __future__ import annotations

import contextlib
import random
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pycrdt import Doc, Map, Text

from editor.collab.manager import RoomManager
from editor.collab.ports import Limits
from editor.collab.protocol import decode_state_vector
from editor.collab.room import Peer
from tests.collab.channels import MemoryChannel, SimClient
from tests.collab.conftest import running_manager
from tests.collab.stores import MemoryStore

PPA = "conv"
LIMITS = Limits(updates_per_second=1e6, update_burst=10**6, compact_every=15)


class Replica:
    def __init__(self, index: int, client_id: int) -> None:
        self.user = f"user{index}"
        self.client = SimClient(client_id)
        self.meta = self.client.doc.get("m", type=Map)
        self.peer: Peer | None = None
        self.channel: MemoryChannel | None = None

    async def connect(self, manager: RoomManager) -> None:
        self.channel = MemoryChannel(self.user)
        self.peer = await manager.join(PPA, self.channel)
        self.client.connect()

    def disconnect(self, manager: RoomManager) -> None:
        if self.peer is not None:
            manager.leave(self.peer)
        self.peer = None
        self.channel = None
        self.client.disconnect()

    def edit(self, rng: random.Random) -> None:
        # pycrdt Text offsets are UTF-8 byte offsets: pick character boundaries.
        text = self.client.text
        chars = str(text)
        length = len(chars)

        def offset(index: int) -> int:
            return len(chars[:index].encode())

        if length > 4 and rng.random() < 0.3:
            start = rng.randrange(length - 2)
            end = start + rng.randint(1, 2)
            del text[offset(start) : offset(end)]
        elif rng.random() < 0.2:
            self.meta[rng.choice("abc")] = rng.randint(0, 99)
        else:
            text.insert(offset(rng.randint(0, length)), rng.choice(["a", "bé", "c d", "€"]))

    def deliver_to_server(self, rng: random.Random) -> None:
        if self.peer is None or not self.client.outbox:
            return
        index = rng.randrange(len(self.client.outbox))
        frame = self.client.outbox[index]
        if rng.random() > 0.2:  # sometimes deliver it again later (duplicate)
            del self.client.outbox[index]
        self.peer.receive(frame)

    def deliver_to_client(self, rng: random.Random) -> None:
        if self.channel is None or not self.channel.sent:
            return
        frame = self.channel.sent.pop(0)
        if rng.random() < 0.1:
            self.channel.sent.append(frame)  # delivered again later
        self.client.handle(frame)

    def drain(self) -> int:
        moved = 0
        if self.channel is None or self.peer is None:
            return 0
        while self.channel.sent or self.client.outbox:
            frames = self.channel.take()
            outgoing, self.client.outbox = self.client.outbox, []
            for frame in frames:
                self.client.handle(frame)
            for frame in outgoing:
                self.peer.receive(frame)
            moved += len(frames) + len(outgoing)
        return moved


def snapshot(doc: Doc[Any]) -> tuple[dict[int, int], str, dict[str, Any]]:
    return (
        decode_state_vector(doc.get_state()),
        str(doc.get("t", type=Text)),
        doc.get("m", type=Map).to_py() or {},
    )


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(seed=st.integers(min_value=0, max_value=2**32 - 1), clients=st.integers(2, 5))
# A random-operation loop: one branch per operation kind (edit, sync, disconnect, ...).
async def test_replicas_and_store_converge(seed: int, clients: int) -> None:  # noqa: C901
    rng = random.Random(seed)
    store = MemoryStore()
    replicas = [Replica(i, rng.randrange(1, 2**31)) for i in range(clients)]
    async with contextlib.AsyncExitStack() as stack:
        manager = await stack.enter_async_context(running_manager(store, limits=LIMITS))
        for replica in replicas:
            await replica.connect(manager)
        for _ in range(rng.randint(40, 120)):
            replica = rng.choice(replicas)
            action = rng.random()
            if action < 0.35:
                replica.edit(rng)
            elif action < 0.6:
                replica.deliver_to_server(rng)
            elif action < 0.85:
                replica.deliver_to_client(rng)
            elif action < 0.93:
                room = manager.room(PPA)
                if room is not None:
                    await room.flush()
            elif action < 0.985:
                if replica.peer is None:
                    await replica.connect(manager)
                else:
                    replica.disconnect(manager)
            else:  # server restart: whatever was not committed is only on the clients now
                for r in replicas:
                    r.disconnect(manager)
                await stack.aclose()
                manager = await stack.enter_async_context(running_manager(store, limits=LIMITS))
                for r in replicas:
                    await r.connect(manager)

        for replica in replicas:
            if replica.peer is None:
                await replica.connect(manager)
        room = manager.room(PPA)
        assert room is not None
        while True:
            moved = sum(replica.drain() for replica in replicas)
            await room.settle()
            if not moved and not any(r.channel and r.channel.sent for r in replicas):
                break

        expected = snapshot(room.doc)
        for replica in replicas:
            assert snapshot(replica.client.doc) == expected
            assert replica.client.saved()
        stored: Doc[Any] = Doc()
        stored.apply_update(store.stored_state(PPA))
        assert snapshot(stored) == expected
