from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import pytest

from editor.collab.manager import RoomManager
from editor.collab.ports import Limits, UpdateStore
from tests.collab.live import WsClient
from tests.collab.stores import MemoryStore
from tests.conftest import LiveServer


@contextlib.asynccontextmanager
async def running_manager(store: UpdateStore, **kwargs: Any) -> AsyncIterator[RoomManager]:
    """A RoomManager entered and exited in one task of its own (fixture set-up and tear-down
    run in different tasks, and a task group must be left by the task that entered it)."""
    manager = RoomManager(store, **kwargs)
    entered = asyncio.Event()
    leave = asyncio.Event()

    async def hold() -> None:
        async with manager:
            entered.set()
            await leave.wait()

    task = asyncio.ensure_future(hold())
    waiter = asyncio.ensure_future(entered.wait())
    await asyncio.wait([task, waiter], return_when=asyncio.FIRST_COMPLETED)
    if task.done():
        waiter.cancel()
        task.result()
    try:
        yield manager
    finally:
        leave.set()
        await task


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


@pytest.fixture
def limits() -> Limits:
    return Limits(unload_after=0.05)


@pytest.fixture
async def manager(store: MemoryStore, limits: Limits) -> AsyncIterator[RoomManager]:
    async with running_manager(store, limits=limits) as manager:
        yield manager


@pytest.fixture(autouse=True)
def _quick_unload(request: pytest.FixtureRequest) -> None:
    """Rooms of the shared test server unload right after their last client left, so that their
    end-of-session checkpoints happen during these tests, not in the middle of later ones."""
    if "live_server" not in request.fixturenames:
        return
    manager = request.getfixturevalue("live_server").app.state.collab.manager
    if manager.limits.unload_after > 0.1:
        manager.limits = dataclasses.replace(manager.limits, unload_after=0.1)


@pytest.fixture
async def open_clients() -> AsyncIterator[list[WsClient]]:
    """The WebSocket clients a test opens, closed after it."""
    clients: list[WsClient] = []
    yield clients
    await asyncio.gather(*(client.close() for client in clients))


@pytest.fixture
def ws_url(live_server: LiveServer) -> str:
    """The collaboration endpoint of the session's live server."""
    return f"{live_server.ws_url}/ws/ppa"
