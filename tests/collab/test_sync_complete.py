""" "synced" means synced: the first sync step 2 a stock y-websocket client receives holds the whole
document as of its sync step 1 (the client says 'synced' on it), garbage-collected."""

from __future__ import annotations

import asyncio
import base64
import random
from collections.abc import AsyncIterator
from typing import Any

import pytest
from pycrdt import Doc, Text

from editor.collab.manager import RoomManager
from editor.collab.protocol import (
    EMPTY_STATE_VECTOR,
    SyncStep2,
    SyncUpdate,
    decode_messages,
    decode_state_vector,
    encode_sync_step1,
)
from tests.collab.channels import MemoryChannel, join
from tests.collab.conftest import running_manager
from tests.collab.live import Identity, NodeClient, WsClient, live_collab, node_available
from tests.collab.stores import MemoryStore

pytestmark = [
    pytest.mark.node,
    pytest.mark.skipif(not node_available(), reason="node is not installed"),
]

TOKENS = {f"tok-{name}": Identity(name) for name in ("alice", "bruno", "carla", "node")}


@pytest.fixture
async def clients() -> AsyncIterator[list[NodeClient]]:
    started: list[NodeClient] = []
    yield started
    await asyncio.gather(*(client.stop() for client in started))


def text_state_vector(state_b64: str) -> bytes:
    doc: Doc[Any] = Doc()
    doc.apply_update(base64.b64decode(state_b64))
    return doc.get_state()


def text_of(state_b64: str) -> str:
    doc: Doc[Any] = Doc()
    doc.apply_update(base64.b64decode(state_b64))
    return str(doc.get("t", type=Text))


async def first_synced_text(node: NodeClient) -> str:
    await node.call("waitSynced")
    states: list[str] = await node.call("syncedStates")
    return text_of(states[0])


async def test_after_a_restart_the_first_step2_holds_every_stored_edit(
    store: MemoryStore, clients: list[NodeClient]
) -> None:
    edits = 300
    async with running_manager(store) as manager:
        alice = await join(manager, "s1", "alice")
        room = manager.room("s1")
        assert room is not None
        for i in range(edits):
            alice.client.text.insert(0 if i % 2 else len(alice.client.text), f"<{i}>")
            alice.pump()
            if i % 7 == 0:
                await room.flush()
            if i == edits // 2:
                await room.flush()
                await store.compact("s1")  # a stored state and a log tail after it
        await room.flush()
        expected = str(alice.client.text)
    stored = store.docs["s1"]
    assert stored.state is not None  # a stored state and edits in the log tail after it
    assert [r for r in stored.rows if r.seq > stored.state_seq and r.update is not None]

    async with running_manager(store) as manager, live_collab(manager, TOKENS) as server:
        node = await NodeClient.start()
        clients.append(node)
        await node.call("connect", url=server.url, room="s1", token="tok-node")
        assert await first_synced_text(node) == expected
        room = manager.room("s1")
        assert room is not None
        assert str(room.doc.get("t", type=Text)) == expected


async def test_live_the_first_step2_holds_everything_committed_before_the_step1(
    store: MemoryStore, manager: RoomManager, clients: list[NodeClient]
) -> None:
    async with live_collab(manager, TOKENS) as server:
        writers = [WsClient(server.url, "s2", f"tok-{name}") for name in ("alice", "bruno")]
        for writer in writers:
            await writer.connect()
            await writer.synced.wait()
        rng = random.Random(11)
        stop = asyncio.Event()

        async def write(client: WsClient, name: str) -> None:
            n = 0
            while not stop.is_set():
                client.text.insert(rng.randint(0, len(client.text)), f"<{name}{n}>")
                n += 1
                await asyncio.sleep(0.002)

        tasks = [asyncio.ensure_future(write(c, n)) for c, n in zip(writers, "ab", strict=True)]
        try:
            await asyncio.sleep(0.5)
            room = manager.room("s2")
            assert room is not None
            # What was committed before the node client's step 1 reached the room: sample the
            # durable state when its connection is accepted, then again just before it is asked.
            node = await NodeClient.start()
            clients.append(node)
            committed_before = room.durable_state_vector
            await node.call("connect", url=server.url, room="s2", token="tok-node")
            await node.call("waitSynced")
            states: list[str] = await node.call("syncedStates")
        finally:
            stop.set()
            await asyncio.gather(*tasks)
        held = decode_state_vector(text_state_vector(states[0]))
        committed = decode_state_vector(committed_before)
        assert committed  # the writers' edits were committed before the client asked
        for client_id, clock in committed.items():
            assert held.get(client_id, 0) >= clock, (client_id, clock, held)
        for writer in writers:
            await writer.close()


async def test_the_step2_is_garbage_collected(
    manager: RoomManager, clients: list[NodeClient]
) -> None:
    alice = await join(manager, "s3", "alice")
    room = manager.room("s3")
    assert room is not None
    for i in range(60):  # 60 x 2 KiB typed then deleted
        alice.client.text.insert(0, f"{i:04d}" + "x" * 2044)
        alice.pump()
        del alice.client.text[0:2048]
        alice.client.text.insert(len(alice.client.text), f"{i};")
        alice.pump()
        await room.flush()
    channel = MemoryChannel("bruno")
    peer = await manager.join("s3", channel)
    peer.receive(encode_sync_step1(EMPTY_STATE_VECTOR))
    await room.settle()
    received = [m for f in channel.sent for m in decode_messages(f)]
    # Everything the joiner was sent to get the document (one step 2 now; a base then updates
    # before), against a fresh garbage-collected encoding of the document.
    sent = sum(len(m.update) for m in received if isinstance(m, SyncStep2 | SyncUpdate))
    assert sent <= 1.1 * len(room.doc.get_update())
    assert [type(m) for m in received if isinstance(m, SyncStep2 | SyncUpdate)] == [SyncStep2]
    async with live_collab(manager, TOKENS) as server:
        node = await NodeClient.start()
        clients.append(node)
        await node.call("connect", url=server.url, room="s3", token="tok-node")
        await node.call("waitSynced")
        states: list[str] = await node.call("syncedStates")
    assert text_of(states[0]) == str(alice.client.text)
    # What node y-websocket would send of the same document: Yjs's own encoding of it.
    node_encoding = base64.b64decode(states[0])
    assert sent <= 1.1 * len(node_encoding)
