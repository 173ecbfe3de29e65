"""Load hook: single-flight loading of stored state + log tail."""

from __future__ import annotations

import asyncio

import anyio
import pytest

from editor.collab.errors import StoreUnavailableError
from editor.collab.manager import RoomManager
from editor.collab.ports import LoadedDocument
from tests.collab.channels import MemoryChannel, SimClient, join
from tests.collab.conftest import running_manager
from tests.collab.stores import MemoryStore


async def test_simultaneous_joins_share_one_load() -> None:
    store = MemoryStore(delay=0.02)
    async with running_manager(store) as manager:
        peers = []

        async def connect(user: str) -> None:
            peers.append(await manager.join("d1", MemoryChannel(user)))

        async with anyio.create_task_group() as tg:
            for user in ("alice", "bruno", "claire"):
                tg.start_soon(connect, user)
        assert store.loads == 1
        assert len({id(peer.room) for peer in peers}) == 1


async def test_room_is_loaded_from_state_plus_tail(store: MemoryStore) -> None:
    async with running_manager(store) as manager:
        alice = await join(manager, "d2", "alice")
        alice.client.text += "début"
        alice.pump()
        room = manager.room("d2")
        assert room is not None
        await room.flush()
        await store.compact("d2")
        alice.client.text += " suite"
        alice.pump()
        await room.flush()
    assert store.docs["d2"].state is not None
    assert [row.update is None for row in store.docs["d2"].rows] == [True, False]

    async with running_manager(store) as manager:
        fresh = await join(manager, "d2", "bruno")
        assert fresh.text == "début suite"


async def test_load_failure_reaches_every_waiter_and_is_retried() -> None:
    class FailingOnce(MemoryStore):
        failed = False

        async def load(self, ppa_id: str) -> LoadedDocument:
            if not self.failed:
                self.failed = True
                await anyio.sleep(0.01)
                raise OSError("disk")
            return await super().load(ppa_id)

    store = FailingOnce()
    async with running_manager(store) as manager:
        errors: list[BaseException] = []

        async def connect(user: str) -> None:
            try:
                await manager.join("d3", MemoryChannel(user))
            except StoreUnavailableError as error:
                errors.append(error)

        async with anyio.create_task_group() as tg:
            tg.start_soon(connect, "alice")
            tg.start_soon(connect, "bruno")
        assert len(errors) == 2
        session = await join(manager, "d3", "alice", client=SimClient())
        assert session.peer.room is manager.room("d3")


async def test_manager_outside_context_refuses(store: MemoryStore) -> None:
    manager = RoomManager(store)
    with pytest.raises(RuntimeError, match="async with"):
        await manager.join("d4", MemoryChannel("alice"))


async def test_idle_rooms_hold_no_task(store: MemoryStore) -> None:
    """Open rooms whose connections are idle cost no task (nor timer): one pipeline commits
    for them all."""
    async with running_manager(store) as manager:
        sessions = [await join(manager, "idle-0", "alice")]
        room = manager.room("idle-0")
        assert room is not None
        await room.settle()
        tasks = len(asyncio.all_tasks())
        for i in range(1, 21):
            session = await join(manager, f"idle-{i}", "alice")
            session.client.text += "x"
            session.pump()
            sessions.append(session)
        for i in range(21):
            loaded = manager.room(f"idle-{i}")
            assert loaded is not None
            await loaded.settle()
        for session in sessions:
            session.pump()
        assert len(manager.rooms) == 21
        assert len(asyncio.all_tasks()) == tasks
