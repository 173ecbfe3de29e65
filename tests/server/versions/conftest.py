"""Fixtures of the versions tests: recorded live rooms, failure injection, direct SQL."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from editor.crdt import doc_from_state, doc_to_content, encode_state, write_content
from editor.schema import PPAContent
from server.db import create_engine
from server.versions_api import service
from tests.conftest import DatabaseInfo, LiveServer


class RecordingRooms:
    """A :class:`server.ppas.lock.LiveRooms` that records what versions asks of the rooms."""

    def __init__(self) -> None:
        self.locked: set[str] = set()
        self.calls: list[tuple[str, str]] = []

    async def lock(self, ppa_id: str) -> None:
        self.calls.append(("lock", ppa_id))
        self.locked.add(ppa_id)

    async def unlock(self, ppa_id: str) -> None:
        self.calls.append(("unlock", ppa_id))
        self.locked.discard(ppa_id)

    async def current_state(self, ppa_id: str) -> bytes | None:
        return None

    async def write(self, ppa_id: str, update: bytes, author: str) -> bool:
        self.calls.append(("write", ppa_id))
        return False


@pytest.fixture
def rooms(live_server: LiveServer) -> Iterator[RecordingRooms]:
    state = live_server.app.state
    previous = getattr(state, "live_rooms", None)
    recorder = RecordingRooms()
    state.live_rooms = recorder
    yield recorder
    state.live_rooms = previous


class Faults:
    """Raise at the ``occurrence``-th time a validation reaches ``step``."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        self.target: tuple[str, int] | None = None

    def __call__(self, step: str) -> None:
        self.seen.append(step)
        if self.target is not None and self.target == (step, self.seen.count(step)):
            raise RuntimeError(f"injected failure at {step}")


@pytest.fixture
def faults() -> Iterator[Faults]:
    recorder = Faults()
    service.faults = recorder
    yield recorder
    service.faults = None


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


def live_content(database: DatabaseInfo, ppa_id: str) -> PPAContent:
    (row,) = sql(database, "SELECT state FROM ppa_documents WHERE ppa_id = :id", id=ppa_id)
    return doc_to_content(doc_from_state(bytes(row[0])))


def edit_live(database: DatabaseInfo, ppa_id: str, mutate: Callable[[PPAContent], None]) -> None:
    """Edit the stored live document as the collaboration engine would store an edit."""
    (row,) = sql(database, "SELECT state FROM ppa_documents WHERE ppa_id = :id", id=ppa_id)
    doc = doc_from_state(bytes(row[0]))
    content = doc_to_content(doc)
    mutate(content)
    write_content(doc, content)
    sql(
        database,
        "UPDATE ppa_documents SET state = :state WHERE ppa_id = :id",
        state=encode_state(doc),
        id=ppa_id,
    )


def counts(database: DatabaseInfo, ppa_id: str) -> dict[str, int]:
    """Rows of the insert-only tables (versions, accords of the PPA; whole log and heads)."""
    one = {
        "versions": "SELECT count(*) FROM versions WHERE ppa_id = :id",
        "accords": "SELECT count(*) FROM version_accords WHERE ppa_id = :id",
        "leaves": "SELECT count(*) FROM log_leaves",
        "nodes": "SELECT count(*) FROM log_nodes",
        "heads": "SELECT count(*) FROM tree_heads",
    }
    return {name: int(sql(database, q, id=ppa_id)[0][0]) for name, q in one.items()}
