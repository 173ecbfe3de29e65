"""One durable append pipeline for every room of a process, on the real stores (SQLite or
PostgreSQL): the writes of many rooms are stored in one transaction, none of them is relayed
before that transaction is durable, and a transaction that fails fails every room in it without
relaying anything of it.

The pipeline is held with the database's own locks (a writer holding SQLite's write lock, a
PostgreSQL transaction holding the first document's row): the store really waits, nothing is
stubbed. A failure is a trigger that refuses the rows of one document."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from typing import Any

import anyio
import psycopg
import pytest
from sqlalchemy import make_url

from editor.collab.errors import CloseCode
from editor.collab.manager import RoomManager
from editor.collab.ports import Limits
from editor.collab.protocol import SyncUpdate, decode_messages
from server.collab.store import SqlUpdateStore
from server.db import Database
from tests.collab.app import fresh_ppa, update_log
from tests.collab.channels import Session, join
from tests.collab.conftest import running_manager
from tests.conftest import DatabaseInfo

ROOMS = 6


@pytest.fixture
def ppa_ids(api_as: Any, demo: dict[str, Any]) -> list[str]:
    return [fresh_ppa(api_as, demo).ppa_id for _ in range(ROOMS)]


@pytest.fixture
async def manager(database: DatabaseInfo) -> AsyncIterator[RoomManager]:
    db = Database(database.url)
    store = SqlUpdateStore(db, retention=timedelta(days=1))
    try:
        limits = Limits(store_retries=2)
        async with running_manager(store, limits=limits) as manager:
            yield manager
    finally:
        await store.close()
        await db.dispose()


def _pg_conninfo(database: DatabaseInfo) -> str:
    url = make_url(database.url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


@contextlib.contextmanager
def held(database: DatabaseInfo, ppa_id: str) -> Iterator[None]:
    """The database makes the appends touching ``ppa_id`` wait until the block ends: SQLite's
    write lock (every append waits), or ``ppa_id``'s row locked on PostgreSQL."""
    if database.backend == "sqlite":
        path = make_url(database.url).database
        assert path
        conn = sqlite3.connect(path, isolation_level=None)
        try:
            conn.execute("BEGIN IMMEDIATE")
            yield
            conn.execute("COMMIT")
        finally:
            conn.close()
        return
    with psycopg.connect(_pg_conninfo(database)) as pg, pg.transaction():
        pg.execute("SELECT 1 FROM ppa_documents WHERE ppa_id = %s FOR UPDATE", (ppa_id,))
        yield


@contextlib.contextmanager
def refusing(database: DatabaseInfo, ppa_id: str) -> Iterator[None]:
    """A trigger that makes every insert of ``ppa_id``'s updates fail."""
    if database.backend == "sqlite":
        path = make_url(database.url).database
        assert path
        conn = sqlite3.connect(path, isolation_level=None)
        conn.execute(
            "CREATE TRIGGER refuse_test BEFORE INSERT ON ppa_updates "
            f"WHEN NEW.ppa_id = '{ppa_id}' BEGIN SELECT RAISE(ABORT, 'refused'); END"
        )
        try:
            yield
        finally:
            conn.execute("DROP TRIGGER refuse_test")
            conn.close()
        return
    with psycopg.connect(_pg_conninfo(database), autocommit=True) as pg:
        pg.execute(
            "CREATE FUNCTION refuse_test() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'refused'; END $$"
        )
        pg.execute(
            "CREATE TRIGGER refuse_test BEFORE INSERT ON ppa_updates FOR EACH ROW "
            f"WHEN (NEW.ppa_id = '{ppa_id}') EXECUTE FUNCTION refuse_test()"
        )
        try:
            yield
        finally:
            pg.execute("DROP TRIGGER refuse_test ON ppa_updates")
            pg.execute("DROP FUNCTION refuse_test()")


def relayed(session: Session) -> list[bytes]:
    """The updates the room sent this connection (read without delivering them)."""
    return [
        m.update
        for frame in session.channel.sent
        for m in decode_messages(frame)
        if isinstance(m, SyncUpdate)
    ]


async def until(condition: Any) -> None:
    with anyio.fail_after(30):
        while True:
            if condition():
                return
            await anyio.sleep(0.001)


async def write_while_held(
    manager: RoomManager, database: DatabaseInfo, ppa_ids: list[str]
) -> tuple[list[tuple[Session, Session]], Any]:
    """Two connections per room; the first room's write enters a transaction the database
    holds, then every other room writes (the pipeline's next transaction gathers them)."""
    pairs = [
        (await join(manager, ppa_id, "alice"), await join(manager, ppa_id, "bruno"))
        for ppa_id in ppa_ids
    ]
    first, *others = pairs
    hold = held(database, ppa_ids[0])
    hold.__enter__()
    first[0].client.text += "premier"
    first[0].pump()
    await until(lambda: manager.pipeline.in_flight == (ppa_ids[0],))
    for i, (writer, _) in enumerate(others, 1):
        writer.client.text += f"texte {i}"
        writer.pump()
    await anyio.sleep(0.05)  # time for a wrong relay to happen
    return pairs, hold


async def test_rooms_commit_together_and_relay_only_once_durable(
    manager: RoomManager, database: DatabaseInfo, ppa_ids: list[str]
) -> None:
    before = manager.pipeline.transactions
    pairs, hold = await write_while_held(manager, database, ppa_ids)
    try:
        for ppa_id, (_, reader) in zip(ppa_ids, pairs, strict=True):
            assert relayed(reader) == []
            assert update_log(database, ppa_id) == []
    finally:
        hold.__exit__(None, None, None)
    for ppa_id in ppa_ids:
        room = manager.room(ppa_id)
        assert room is not None
        await room.flush()
    # The first room's transaction, then one for every other room.
    assert manager.pipeline.transactions == before + 2
    for i, (ppa_id, (writer, reader)) in enumerate(zip(ppa_ids, pairs, strict=True)):
        assert len(update_log(database, ppa_id)) == 1
        writer.pump()
        reader.pump()
        assert reader.text == ("premier" if i == 0 else f"texte {i}")
        assert writer.client.saved()


async def test_a_failed_transaction_fails_every_room_in_it_and_relays_nothing(
    manager: RoomManager, database: DatabaseInfo, ppa_ids: list[str]
) -> None:
    with refusing(database, ppa_ids[-1]):
        pairs, hold = await write_while_held(manager, database, ppa_ids)
        hold.__exit__(None, None, None)
        rooms = [manager.room(ppa_id) for ppa_id in ppa_ids]
        for room in rooms:
            assert room is not None
            await room.flush()
    first, *others = pairs
    assert rooms[0] is not None
    assert not rooms[0].broken
    assert len(update_log(database, ppa_ids[0])) == 1
    assert relayed(first[1]) != []
    for ppa_id, room, (writer, reader) in zip(ppa_ids[1:], rooms[1:], others, strict=True):
        assert room is not None
        assert room.broken
        assert update_log(database, ppa_id) == []  # nothing of the transaction was stored
        assert relayed(reader) == []
        assert reader.channel.closed is not None
        assert reader.channel.closed[0] == CloseCode.INTERNAL_ERROR
        assert writer.channel.closed is not None
        assert not writer.client.saved()


async def test_under_load_a_transaction_waits_for_the_writes_of_other_rooms(
    database: DatabaseInfo, ppa_ids: list[str]
) -> None:
    db = Database(database.url)
    store = SqlUpdateStore(db, retention=timedelta(days=1))
    try:
        async with running_manager(store, limits=Limits(commit_gather=2.0)) as manager:
            pairs = [
                (await join(manager, ppa_id, "alice"), await join(manager, ppa_id, "bruno"))
                for ppa_id in ppa_ids
            ]
            pipeline = manager.pipeline
            # Idle: the first write is committed at once, without gathering.
            pairs[0][0].client.text += "premier"
            pairs[0][0].pump()
            await until(lambda: pipeline.transactions == 1)
            assert pipeline.gathered == 0
            # Right after a transaction (under load): the next one waits for the writes of
            # the other rooms, made one after the other with the event loop turning between.
            for i, (writer, _) in enumerate(pairs[1:], 1):
                writer.client.text += f"texte {i}"
                writer.pump()
                await anyio.sleep(0.01)
            for ppa_id in ppa_ids:
                room = manager.room(ppa_id)
                assert room is not None
                await room.flush()
            assert (pipeline.transactions, pipeline.gathered) == (2, 1)
            for ppa_id, (writer, reader) in zip(ppa_ids, pairs, strict=True):
                assert len(update_log(database, ppa_id)) == 1
                writer.pump()
                reader.pump()
                assert writer.client.saved()
                assert reader.text == str(writer.client.text)
            # One room writing again right after: it does not wait for others.
            pairs[1][0].client.text += " encore"
            pairs[1][0].pump()
            room = manager.room(ppa_ids[1])
            assert room is not None
            await room.flush()
            assert (pipeline.transactions, pipeline.gathered) == (3, 1)
    finally:
        await store.close()
        await db.dispose()
