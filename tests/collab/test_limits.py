"""Limits: each answered with its own close code."""

from __future__ import annotations

import pytest

from editor.collab.errors import CloseCode, LimitExceededError
from editor.collab.ports import Limits
from editor.collab.protocol import encode_update
from tests.collab.channels import MemoryChannel, SimClient, join
from tests.collab.conftest import running_manager
from tests.collab.stores import MemoryStore


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_message_too_large() -> None:
    async with running_manager(MemoryStore(), limits=Limits(max_message_bytes=100)) as manager:
        alice = await join(manager, "l1", "alice")
        alice.client.text += "x" * 200
        frame = alice.client.outbox.pop()
        with pytest.raises(LimitExceededError) as caught:
            alice.peer.receive(frame)
        assert caught.value.code == CloseCode.MESSAGE_TOO_LARGE


async def test_document_too_large() -> None:
    limits = Limits(max_document_bytes=500)
    async with running_manager(MemoryStore(), limits=limits) as manager:
        alice = await join(manager, "l2", "alice")
        alice.client.text += "a" * 300
        alice.pump()
        alice.client.text += "b" * 300
        frame = alice.client.outbox.pop()
        room = manager.room("l2")
        assert room is not None
        before = room.doc.get_update()
        with pytest.raises(LimitExceededError) as caught:
            alice.peer.receive(frame)
        assert caught.value.code == CloseCode.DOCUMENT_TOO_LARGE
        assert room.doc.get_update() == before


async def test_connections_per_document() -> None:
    limits = Limits(max_connections_per_document=2)
    async with running_manager(MemoryStore(), limits=limits) as manager:
        await join(manager, "l3", "a")
        await join(manager, "l3", "b")
        with pytest.raises(LimitExceededError) as caught:
            await manager.join("l3", MemoryChannel("c"))
        assert caught.value.code == CloseCode.TOO_MANY_DOCUMENT_CONNECTIONS


async def test_connections_per_user_across_documents() -> None:
    limits = Limits(max_connections_per_user=2)
    async with running_manager(MemoryStore(), limits=limits) as manager:
        first = await join(manager, "l4", "alice")
        await join(manager, "l5", "alice")
        with pytest.raises(LimitExceededError) as caught:
            await manager.join("l6", MemoryChannel("alice"))
        assert caught.value.code == CloseCode.TOO_MANY_USER_CONNECTIONS
        manager.leave(first.peer)
        await manager.join("l6", MemoryChannel("alice"))
        assert manager.connections_of("alice") == 2


async def test_update_rate_per_connection() -> None:
    clock = Clock()
    limits = Limits(updates_per_second=2.0, update_burst=3)
    async with running_manager(MemoryStore(), limits=limits, monotonic=clock) as manager:
        alice = await join(manager, "l7", "alice")
        client = alice.client
        for i in range(3):
            client.text += str(i)
            alice.pump()
        client.text += "!"
        with pytest.raises(LimitExceededError) as caught:
            alice.pump()
        assert caught.value.code == CloseCode.RATE_LIMITED

        bruno = await join(manager, "l7", "bruno", client=SimClient())
        for i in range(3):
            bruno.client.text += str(i)
            bruno.pump()
        clock.now += 1.0  # two more tokens
        for _ in range(2):
            bruno.peer.receive(encode_update(b"\x00\x00"))  # empty updates are free
            bruno.client.text += "z"
            bruno.pump()
