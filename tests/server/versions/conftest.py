"""Fixtures of the versions tests: recorded live rooms, failure injection, direct SQL."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from editor.schema import PPAContent
from exports.local_time import PARIS
from server.db import create_engine
from server.ppas.lock import LiveRooms, live_rooms
from server.versions_api.runtime import runtime
from tests.conftest import DatabaseInfo, LiveServer
from tests.server.versions.live import edit_over_websocket


class RecordingRooms:
    """Records what versions asks of the live rooms, and passes it on to the real ones."""

    def __init__(self, inner: LiveRooms) -> None:
        self.inner = inner
        self.locked: set[str] = set()
        self.calls: list[tuple[str, str]] = []

    async def lock(self, ppa_id: str) -> None:
        self.calls.append(("lock", ppa_id))
        self.locked.add(ppa_id)
        await self.inner.lock(ppa_id)

    async def unlock(self, ppa_id: str) -> None:
        self.calls.append(("unlock", ppa_id))
        self.locked.discard(ppa_id)
        await self.inner.unlock(ppa_id)

    async def current_state(self, ppa_id: str) -> bytes | None:
        return await self.inner.current_state(ppa_id)

    async def write(self, ppa_id: str, update: bytes, author: str) -> bool:
        self.calls.append(("write", ppa_id))
        return await self.inner.write(ppa_id, update, author)


@pytest.fixture
def rooms(live_server: LiveServer) -> Iterator[RecordingRooms]:
    state = live_server.app.state
    real = live_rooms(state)
    recorder = RecordingRooms(real)
    state.live_rooms = recorder
    yield recorder
    state.live_rooms = real


Edit = Callable[..., None]


@contextlib.contextmanager
def session_ended(live_server: LiveServer, ppa_id: str, within: float = 30.0) -> Iterator[None]:
    """Unload the PPA's room as soon as its last connection leaves, and wait until it is unloaded
    and its session-end checkpoint written: without this the checkpoint lands whenever the
    unload delay (30 s) runs out, possibly between a test's "before" and "after" (seen on a
    loaded machine)."""
    manager = live_server.app.state.collab.manager
    limits, hook = manager.limits, manager.on_unloaded
    unloaded: set[str] = set()

    async def record(unloaded_id: str) -> None:
        if hook is not None:
            await hook(unloaded_id)
        unloaded.add(unloaded_id)  # after the session-end hook, which runs before this one

    manager.limits = dataclasses.replace(limits, unload_after=0.0)
    manager.on_unloaded = record
    try:
        yield
        deadline = time.monotonic() + within
        while ppa_id not in unloaded:
            assert time.monotonic() < deadline, f"the room of {ppa_id} was not unloaded"
            time.sleep(0.02)
    finally:
        manager.limits, manager.on_unloaded = limits, hook


@pytest.fixture
def edit(live_server: LiveServer, api_as: Any) -> Edit:
    """``edit(ppa_id, mutate, as_="infirmier", end_session=False)``: a live edit over the
    collaboration WebSocket; with ``end_session`` the room's session ends before it returns."""

    def run(
        ppa_id: str,
        mutate: Callable[[PPAContent], Any],
        as_: str = "infirmier",
        end_session: bool = False,
    ) -> None:
        token = api_as(as_).token
        assert token is not None
        if not end_session:
            edit_over_websocket(live_server.ws_url, ppa_id, token, mutate)
            return
        with session_ended(live_server, ppa_id):
            edit_over_websocket(live_server.ws_url, ppa_id, token, mutate)

    return run


class Faults:
    """Raise at the ``occurrence``-th time a validation of PPA ``ppa_id`` reaches ``step``
    (steps of other PPAs, e.g. session-end checkpoints of earlier tests' rooms, are ignored)."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        self.target: tuple[str, int] | None = None
        self.ppa_id: str | None = None

    def __call__(self, step: str, ppa_id: str | None) -> None:
        if ppa_id != self.ppa_id:
            return
        self.seen.append(step)
        if self.target is not None and self.target == (step, self.seen.count(step)):
            raise RuntimeError(f"injected failure at {step}")


@pytest.fixture
def faults(live_server: LiveServer) -> Iterator[Faults]:
    """Failure injection in the live server's versions runtime."""
    recorder = Faults()
    rt = runtime(live_server.app.state)
    rt.faults = recorder
    yield recorder
    rt.faults = None


@contextlib.contextmanager
def clock_shifted(live_server: LiveServer, days: int) -> Iterator[None]:
    """The live server's versions clock moved ``days`` days back (validations on a past day)."""
    rt = runtime(live_server.app.state)
    real = rt.clock
    rt.clock = lambda: real() - dt.timedelta(days=days)
    try:
        yield
    finally:
        rt.clock = real


def shifted_day(days: int) -> dt.date:
    """The Paris day of the clock ``clock_shifted(days=...)`` sets: not ``today - days``, since a
    shift across a DST change moves the wall clock (23:30 in December is 00:30 in May)."""
    return (dt.datetime.now(dt.UTC) - dt.timedelta(days=days)).astimezone(PARIS).date()


def sql(database: DatabaseInfo, statement: str, **params: Any) -> list[Any]:
    """Run one statement in its own transaction on the test database; return the rows."""

    async def run() -> list[Any]:
        engine = create_engine(database.url)
        try:
            async with engine.begin() as conn:
                result = await conn.execute(sa.text(statement), params)
                return list(result.all()) if result.returns_rows else []
        finally:
            await engine.dispose()

    return asyncio.run(run())


def live_content(api: Any, ppa_id: str) -> dict[str, Any]:
    """The live document's content as the REST API shows it."""
    response = api.get(f"/api/ppas/{ppa_id}")
    assert response.status_code == 200, response.text
    content: dict[str, Any] = response.json()["content"]
    return content


def counts(database: DatabaseInfo, ppa_id: str) -> dict[str, int]:
    """Rows of the PPA in the insert-only tables; checks the log's invariants on the way (one
    signed head per leaf, ``n - popcount(n)`` stored nodes), which any leaf, node or head left
    behind by a failed transaction would break (other PPAs may append to the log meanwhile)."""
    (row,) = sql(
        database,
        "SELECT (SELECT count(*) FROM versions WHERE ppa_id = :id),"
        " (SELECT count(*) FROM version_accords WHERE ppa_id = :id),"
        " (SELECT count(*) FROM log_leaves WHERE ppa_id = :id),"
        " (SELECT count(*) FROM log_leaves), (SELECT count(*) FROM log_nodes),"
        " (SELECT count(*) FROM tree_heads), (SELECT max(tree_size) FROM tree_heads)",
        id=ppa_id,
    )
    versions, accords, leaves, size, nodes, heads, largest = (int(v or 0) for v in row)
    assert heads == size == largest, (heads, size, largest)
    assert nodes == size - bin(size).count("1"), (nodes, size)
    return {"versions": versions, "accords": accords, "leaves": leaves}
