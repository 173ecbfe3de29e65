"""Unload hook: idle rooms unload only when nothing is pending; shutdown flushes."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Sequence

import anyio

from editor.collab.errors import CloseCode
from editor.collab.ports import Limits
from tests.collab.channels import join, text_of
from tests.collab.conftest import running_manager
from tests.collab.stores import MemoryStore


async def wait_until(predicate: object, attempts: int = 500) -> None:
    for _ in range(attempts):
        if predicate():  # type: ignore[operator]
            return
        await anyio.sleep(0.005)
    raise AssertionError("condition not reached")


async def test_empty_room_unloads_and_releases_its_memory() -> None:
    store = MemoryStore()
    async with running_manager(store, limits=Limits(unload_after=0.01)) as manager:
        alice = await join(manager, "u1", "alice")
        alice.client.text += "x" * 10_000
        alice.pump()
        room = manager.room("u1")
        assert room is not None
        await room.flush()
        room_ref = weakref.ref(room)
        doc_ref = weakref.ref(room.doc)
        manager.leave(alice.peer)
        del room, alice
        await wait_until(lambda: manager.room("u1") is None)

        def released() -> bool:
            gc.collect()
            return room_ref() is None and doc_ref() is None

        await wait_until(released)  # the committer task ends a loop turn after the unload


async def test_room_with_a_pending_commit_is_not_unloaded() -> None:
    store = MemoryStore()
    async with running_manager(store, limits=Limits(unload_after=0.01)) as manager:
        alice = await join(manager, "u2", "alice")
        store.gate = anyio.Event()
        alice.client.text += "en vol"
        alice.pump()
        manager.leave(alice.peer)
        await anyio.sleep(0.1)
        assert manager.room("u2") is not None  # commit still in flight
        store.gate.set()
        await wait_until(lambda: manager.room("u2") is None)
        assert len(store.docs["u2"].rows) == 1


async def test_rejoining_cancels_the_unload() -> None:
    async with running_manager(MemoryStore(), limits=Limits(unload_after=0.05)) as manager:
        alice = await join(manager, "u3", "alice")
        room = manager.room("u3")
        manager.leave(alice.peer)
        await join(manager, "u3", "bruno")
        await anyio.sleep(0.1)
        assert manager.room("u3") is room


async def test_shutdown_commits_pending_writes_and_closes_connections() -> None:
    store = MemoryStore(delay=0.01)
    async with running_manager(store) as manager:
        alice = await join(manager, "u4", "alice")
        for i in range(5):
            alice.client.text += str(i)
            alice.pump()
        await manager.shutdown()
        assert alice.channel.closed == (CloseCode.GOING_AWAY, "Arrêt du serveur")
    assert text_of(store.stored_state("u4")) == "01234"


async def test_unload_hook_runs_after_the_session_end() -> None:
    calls: list[tuple[str, str]] = []

    async def session_end(ppa_id: str, authors: Sequence[str]) -> None:
        calls.append(("session_end", ppa_id))

    async def unloaded(ppa_id: str) -> None:
        calls.append(("unloaded", ppa_id))

    async with running_manager(
        MemoryStore(),
        limits=Limits(unload_after=0.01),
        on_session_end=session_end,
        on_unloaded=unloaded,
    ) as manager:
        alice = await join(manager, "u5", "alice")
        alice.client.text += "x"
        alice.pump()
        manager.leave(alice.peer)
        await wait_until(lambda: len(calls) == 2)
    assert calls == [("session_end", "u5"), ("unloaded", "u5")]


async def test_freed_memory_is_given_back_on_glibc() -> None:
    from server.collab import memory

    assert memory._TRIM is not None  # this machine runs glibc (Debian)
    assert memory._TRIM() in (0, 1)
    await memory.release_freed_memory("u6")
