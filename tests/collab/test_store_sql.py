"""The SQL update log (``ppa_updates``) on SQLite and PostgreSQL: contiguous sequence numbers also
from concurrent writers, load = state + tail, compaction that keeps authorship, retention of the
bytes, and the database refusing any other change."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa
from pycrdt import Doc, Text

from editor.collab.ports import StoredUpdate
from server.collab.store import SqlUpdateStore, client_ids_of, stored_state
from server.db import Database
from tests.collab.app import fresh_ppa, update_log
from tests.conftest import DatabaseInfo


@pytest.fixture
async def db(database: DatabaseInfo) -> AsyncIterator[Database]:
    db = Database(database.url)
    yield db
    await db.dispose()


@pytest.fixture
async def new_store() -> AsyncIterator[Callable[..., SqlUpdateStore]]:
    """``SqlUpdateStore(...)``, closed after the test (its appender holds a connection)."""
    made: list[SqlUpdateStore] = []

    def make(db: Database, retention: timedelta) -> SqlUpdateStore:
        made.append(SqlUpdateStore(db, retention=retention))
        return made[-1]

    yield make
    for store in made:
        await store.close()


@pytest.fixture
def ppa_id(api_as: Any, demo: dict[str, Any]) -> str:
    return fresh_ppa(api_as, demo).ppa_id


def edits(n: int, client_id: int = 7) -> list[bytes]:
    doc: Doc[Any] = Doc(client_id=client_id)
    text = doc.get("projet_de_vie", type=Text)
    updates: list[bytes] = []
    doc.observe(lambda event: updates.append(event.update))
    for i in range(n):
        text.insert(len(text), f"{i},")
    return updates


def text_of(state: bytes) -> str:
    doc: Doc[Any] = Doc()
    doc.apply_update(state)
    return str(doc.get("projet_de_vie", type=Text))


def stored(update: bytes, author: str = "u1", at: datetime | None = None) -> StoredUpdate:
    return StoredUpdate(update, author, at or datetime.now(UTC))


async def test_append_load_and_contiguous_sequence(
    db: Database, ppa_id: str, database: DatabaseInfo, new_store: Callable[..., SqlUpdateStore]
) -> None:
    store = new_store(db, timedelta(days=400))
    updates = edits(5)
    assert await store.append(ppa_id, [stored(updates[0])]) == 1
    assert await store.append(ppa_id, [stored(u, "u2") for u in updates[1:]]) == 5
    loaded = await store.load(ppa_id)
    assert loaded.last_seq == 5
    assert loaded.updates == updates
    assert loaded.locked is False
    rows = update_log(database, ppa_id)
    assert [r.author for r in rows] == ["u1", "u2", "u2", "u2", "u2"]
    assert all(r.client_ids == "7" and r.size == len(r.data or b"") for r in rows)
    assert client_ids_of(b"not an update") == ""


async def test_concurrent_writers_get_contiguous_sequence_numbers(
    database: DatabaseInfo, ppa_id: str, new_store: Callable[..., SqlUpdateStore]
) -> None:
    # Two engines (and appenders): as two server processes would.
    dbs = [Database(database.url), Database(database.url)]
    try:
        stores = [new_store(d, timedelta(days=1)) for d in dbs]
        updates = edits(40)

        async def write(store: SqlUpdateStore, part: list[bytes]) -> None:
            for i in range(0, len(part), 2):
                await store.append(ppa_id, [stored(u) for u in part[i : i + 2]])

        await asyncio.gather(write(stores[0], updates[:20]), write(stores[1], updates[20:]))
        seqs = [r.seq for r in update_log(database, ppa_id)]
        assert seqs == list(range(1, 41))
    finally:
        for d in dbs:
            await d.dispose()


async def test_compaction_folds_and_keeps_authorship(
    db: Database, ppa_id: str, database: DatabaseInfo, new_store: Callable[..., SqlUpdateStore]
) -> None:
    old = datetime.now(UTC) - timedelta(days=30)
    store = new_store(db, timedelta(days=7))
    updates = edits(6)
    await store.append(ppa_id, [stored(u, "ancien", old) for u in updates[:3]])
    await store.append(ppa_id, [stored(u, "recent") for u in updates[3:]])
    expected = "0,1,2,3,4,5,"
    assert await store.compact(ppa_id) == 6
    assert await store.compact(ppa_id) == 0  # nothing left to fold
    loaded = await store.load(ppa_id)
    assert loaded.updates == []
    assert loaded.last_seq == 6
    assert loaded.state is not None
    assert text_of(loaded.state) == expected
    rows = update_log(database, ppa_id)
    assert [(r.seq, r.author, r.data is None) for r in rows] == [
        (1, "ancien", True),
        (2, "ancien", True),
        (3, "ancien", True),
        (4, "recent", False),  # folded, but within the retention period
        (5, "recent", False),
        (6, "recent", False),
    ]
    assert all(r.size > 0 and r.client_ids == "7" for r in rows)
    # A tail after the folded state loads on top of it.
    more = edits(8)[6:]
    assert await store.append(ppa_id, [stored(u) for u in more]) == 8
    loaded = await store.load(ppa_id)
    assert loaded.updates == more
    async with db.sessionmaker() as session:
        assert text_of(await stored_state(session, ppa_id)) == expected + "6,7,"


async def test_database_refuses_any_other_change(
    db: Database, ppa_id: str, database: DatabaseInfo, new_store: Callable[..., SqlUpdateStore]
) -> None:
    store = new_store(db, timedelta(days=1))
    await store.append(ppa_id, [stored(u) for u in edits(2)])
    statements = [
        "DELETE FROM ppa_updates WHERE ppa_id = :p",
        "UPDATE ppa_updates SET author = 'autre' WHERE ppa_id = :p",
        "UPDATE ppa_updates SET data = X'00' WHERE ppa_id = :p"
        if database.backend == "sqlite"
        else "UPDATE ppa_updates SET data = '\\x00'::bytea WHERE ppa_id = :p",
        "UPDATE ppa_updates SET data = NULL, size = 0 WHERE ppa_id = :p",
    ]
    for statement in statements:
        with pytest.raises(sa.exc.DBAPIError):
            async with db.engine.begin() as conn:
                await conn.execute(sa.text(statement), {"p": ppa_id})
    assert len(update_log(database, ppa_id)) == 2
    async with db.engine.begin() as conn:  # what compaction does is allowed
        await conn.execute(
            sa.text("UPDATE ppa_updates SET data = NULL WHERE ppa_id = :p AND seq = 1"),
            {"p": ppa_id},
        )
    assert [r.data is None for r in update_log(database, ppa_id)] == [True, False]


async def test_sqlite_small_commits_skip_the_thread_unless_another_writer_holds_the_lock(
    db: Database, ppa_id: str, database: DatabaseInfo, new_store: Callable[..., SqlUpdateStore]
) -> None:
    """A small group commit runs on the event loop when SQLite's write lock is free; when another
    connection holds it (another process, a compaction), the commit waits for it on the writer
    thread (the event loop runs meanwhile) and is stored after it."""
    if database.backend != "sqlite":
        pytest.skip("SQLite's appender")
    store = new_store(db, timedelta(days=1))
    appender = store._sqlite
    assert appender is not None
    updates = edits(3)
    assert await store.append(ppa_id, [stored(updates[0])]) == 1
    assert (appender.inline_commits, appender.thread_commits) == (1, 0)
    inline = appender._inline
    assert inline is not None
    assert inline.execute("PRAGMA busy_timeout").fetchone() == (0,)  # never waits on the loop
    other = sqlite3.connect(sa.make_url(database.sync_url).database or "", isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        waiting = asyncio.ensure_future(store.append(ppa_id, [stored(u) for u in updates[1:]]))
        for _ in range(10):
            await asyncio.sleep(0.01)
        assert not waiting.done()
        other.execute("ROLLBACK")
    finally:
        other.close()
    assert await waiting == 3
    assert (appender.inline_commits, appender.thread_commits) == (1, 1)
    assert [r.seq for r in update_log(database, ppa_id)] == [1, 2, 3]


async def test_a_failed_group_commit_stores_nothing_and_the_next_one_succeeds(
    db: Database, ppa_id: str, database: DatabaseInfo, new_store: Callable[..., SqlUpdateStore]
) -> None:
    """A batch the database refuses (here a document that does not exist) fails the whole group
    commit: nothing of it is stored, not even the other documents' rows; the next commit works
    (on PostgreSQL on a new connection: the failed one is closed)."""
    store = new_store(db, timedelta(days=1))
    updates = edits(2)
    with pytest.raises((sqlite3.IntegrityError, psycopg.IntegrityError)):
        await store.append_many(
            [
                (ppa_id, [stored(updates[0])]),
                ("00000000-0000-0000-0000-000000000000", [stored(updates[1])]),
            ]
        )
    assert update_log(database, ppa_id) == []
    assert await store.append(ppa_id, [stored(updates[0])]) == 1
    assert [r.seq for r in update_log(database, ppa_id)] == [1]
