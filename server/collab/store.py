"""The durable update log of the live documents (:class:`editor.collab.ports.UpdateStore` on SQL).

``ppa_documents.state`` holds the folded document up to ``compacted_seq``; ``ppa_updates`` holds
every update with its author and time. Loading = state + the log tail after ``compacted_seq``.

* ``append_many`` is one transaction for the pending batches of every room of the process (the
  process's group commit, :class:`editor.collab.pipeline.CommitPipeline`); on SQLite it runs on a
  connection and a thread of its own (``BEGIN IMMEDIATE``, the inserts, ``COMMIT``: one thread
  hop per batch instead of one per statement), or, for a batch of at most :data:`INLINE_ROWS`
  rows when SQLite's write lock is free, on the event loop through another connection whose
  ``BEGIN IMMEDIATE`` never waits (``busy_timeout=0``: when another writer holds the lock, the
  thread's connection waits for it instead): the same transaction without the thread hop.
  These two connections never checkpoint the WAL (``wal_autocheckpoint=0``): SQLite's automatic
  checkpoint runs inside the ``COMMIT`` that crosses 1,000 WAL pages and writes and fsyncs the
  database file there, which held a group commit, and so every update relayed after it, for 10
  to 40 ms about once a second under load. A third connection on a thread of its own runs a
  ``PASSIVE`` checkpoint every :data:`CHECKPOINT_EVERY` commits instead (it never blocks the
  appends; durability is
  unchanged: a commit is in the WAL either way). Sequence numbers are
  contiguous per PPA, also with several server processes: PostgreSQL serialises the appends of a
  PPA on its ``ppa_documents`` row (``FOR UPDATE``), SQLite on its single writer; each row takes
  ``MAX(seq) + 1`` (on PostgreSQL ``MAX(seq)`` + its position in the batch) inside the statement
  that inserts it. On PostgreSQL, too, the appends have a connection of their own
  (:class:`PgAppender`: psycopg pipeline, one round trip per group commit, its commit included).
* ``compact`` merges the tail into ``ppa_documents.state`` (:func:`pycrdt.merge_updates`, in a
  thread: it releases the GIL, where building a document would stall the event loop; optimistic:
  it writes only if no other compaction moved ``compacted_seq`` meanwhile) and clears the bytes
  of folded updates older than the retention period. Author, time, client ids and size are kept
  for ever. A lease (in-process, or Redis with several processes) keeps two compactions of one
  document from running at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import anyio
import psycopg
from sqlalchemy import bindparam, func, make_url, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.types import LargeBinary

from editor.collab.errors import MalformedMessageError
from editor.collab.ports import LoadedDocument, StoredUpdate
from editor.collab.updates import client_ids_text, merge_many, update_clients
from server.db import Database, UTCDateTime, utcnow
from server.errors import NotFound
from server.models import PPA, PPADocument, PPAUpdate

log = logging.getLogger(__name__)

_INSERT = text(
    "INSERT INTO ppa_updates (ppa_id, seq, data, author, created_at, client_ids, size) "
    "SELECT CAST(:ppa_id AS VARCHAR(36)), COALESCE(MAX(seq), 0) + 1, :data, "
    "CAST(:author AS VARCHAR(100)), :created_at, CAST(:client_ids AS TEXT), CAST(:size AS INTEGER) "
    "FROM ppa_updates WHERE ppa_id = CAST(:ppa_id AS VARCHAR(36))"
).bindparams(
    bindparam("data", type_=LargeBinary()),
    bindparam("created_at", type_=UTCDateTime()),
)

_PG_LOCK = (
    "SELECT 1 FROM ppa_documents WHERE ppa_id = ANY(%s::varchar[]) ORDER BY ppa_id FOR UPDATE"
)
_PG_APPEND = (
    # One document's batch (the usual group commit of one busy room): its MAX(seq) once.
    "INSERT INTO ppa_updates (ppa_id, seq, data, author, created_at, client_ids, size) "
    "SELECT %(ppa_id)s, last.seq + u.ord, u.data, u.author, u.created_at, u.client_ids, u.size "
    "FROM (SELECT COALESCE(MAX(seq), 0) AS seq FROM ppa_updates WHERE ppa_id = %(ppa_id)s) "
    "AS last, "
    "unnest(%(data)s::bytea[], %(author)s::varchar[], %(created_at)s::timestamptz[], "
    "%(client_ids)s::text[], %(size)s::integer[]) WITH ORDINALITY "
    "AS u(data, author, created_at, client_ids, size, ord) "
    "RETURNING %(ppa_id)s, seq"
)
_PG_APPEND_MANY = (
    # Each document's MAX(seq) once (an index lookup), then every row numbered after it.
    "WITH last AS (SELECT d.ppa_id, "
    "(SELECT COALESCE(MAX(p.seq), 0) FROM ppa_updates AS p WHERE p.ppa_id = d.ppa_id) AS seq "
    "FROM unnest(%(ids)s::varchar[]) AS d(ppa_id)) "
    "INSERT INTO ppa_updates (ppa_id, seq, data, author, created_at, client_ids, size) "
    "SELECT u.ppa_id, last.seq + u.ord, u.data, u.author, u.created_at, u.client_ids, u.size "
    "FROM unnest(%(ppa_id)s::varchar[], %(ord)s::integer[], %(data)s::bytea[], "
    "%(author)s::varchar[], %(created_at)s::timestamptz[], %(client_ids)s::text[], "
    "%(size)s::integer[]) AS u(ppa_id, ord, data, author, created_at, client_ids, size) "
    "JOIN last ON last.ppa_id = u.ppa_id "
    "RETURNING ppa_id, seq"
)
_LOAD_ATTEMPTS = 5
_SQLITE_INSERT = (
    "INSERT INTO ppa_updates (ppa_id, seq, data, author, created_at, client_ids, size) "
    "SELECT ?, COALESCE(MAX(seq), 0) + 1, ?, ?, ?, ?, ? FROM ppa_updates WHERE ppa_id = ?"
)
_SQLITE_DATETIME = "%Y-%m-%d %H:%M:%S.%f"  # how SQLAlchemy stores UTCDateTime on SQLite
CHECKPOINT_EVERY = 100
"""Commits of the update log between two WAL checkpoints (off the appends' thread)."""
INLINE_ROWS = 256
"""The largest SQLite group commit run on the event loop (when no other connection holds the
write lock): without a thread hop, at the cost of holding the loop while its rows are inserted
(WAL, ``synchronous=NORMAL``: the ``COMMIT`` appends to the WAL without waiting for the disk,
as on the writer thread)."""


def _sqlite_time(at: datetime) -> str:
    """``at`` as SQLAlchemy stores a UTCDateTime on SQLite (:data:`_SQLITE_DATETIME`):
    ``isoformat`` of the naive UTC time, a fraction of the cost of ``strftime``."""
    if at.tzinfo is not UTC:
        at = at.astimezone(UTC)
    return at.replace(tzinfo=None).isoformat(" ", "microseconds")


class UnknownDocument(NotFound):
    pass


def merge_state(state: bytes, updates: Sequence[bytes]) -> bytes:
    """The stored state and the updates after it as one update (:func:`pycrdt.merge_updates`:
    no document is built, so deleted content is kept, as it is in the log)."""
    return merge_many([state, merge_many(updates)]) if updates else state


def client_ids_of(update: bytes) -> str:
    """The Yjs client ids whose structs ``update`` holds, space-separated, ascending."""
    try:
        clients = update_clients(update)
    except MalformedMessageError:
        return ""
    return client_ids_text(clients)


def _client_ids(update: StoredUpdate) -> str:
    """The client ids the guard's scan read with ``update``, else read from its bytes."""
    return client_ids_of(update.update) if update.client_ids is None else update.client_ids


class CompactionLease(Protocol):
    """Keeps two compactions of one document from running at once (across processes)."""

    async def acquire(self, ppa_id: str) -> bool: ...

    async def release(self, ppa_id: str) -> None: ...


class LocalLease:
    """One process: a set of the documents being compacted."""

    def __init__(self) -> None:
        self._held: set[str] = set()

    async def acquire(self, ppa_id: str) -> bool:
        if ppa_id in self._held:
            return False
        self._held.add(ppa_id)
        return True

    async def release(self, ppa_id: str) -> None:
        self._held.discard(ppa_id)


class _Stored:
    __slots__ = ("compacted_seq", "locked", "rows", "state")

    def __init__(self, state: bytes, compacted_seq: int, locked: bool, rows: Sequence[Any]) -> None:
        self.state = state
        self.compacted_seq = compacted_seq
        self.locked = locked
        self.rows = rows

    @property
    def last_seq(self) -> int:
        return int(self.rows[-1].seq) if self.rows else self.compacted_seq


async def _read(conn: AsyncConnection | AsyncSession, ppa_id: str) -> _Stored:
    """The stored state and the log tail after it. Compaction may commit between the two reads
    (PostgreSQL's read committed, SQLite outside a write): a tail row whose bytes were cleared
    says so, and the caller reads again."""
    for _ in range(_LOAD_ATTEMPTS):
        head = (
            await conn.execute(
                select(PPADocument.state, PPADocument.compacted_seq, PPA.locked)
                .join(PPA, PPA.id == PPADocument.ppa_id)
                .where(PPADocument.ppa_id == ppa_id)
            )
        ).first()
        if head is None:
            raise UnknownDocument("Document du PPA introuvable.")
        rows = (
            await conn.execute(
                select(PPAUpdate.seq, PPAUpdate.data)
                .where(PPAUpdate.ppa_id == ppa_id, PPAUpdate.seq > head.compacted_seq)
                .order_by(PPAUpdate.seq)
            )
        ).all()
        if all(row.data is not None for row in rows):
            return _Stored(head.state, head.compacted_seq, bool(head.locked), rows)
    raise RuntimeError(f"update log of {ppa_id} kept changing while read")


async def stored_state(session: AsyncSession, ppa_id: str) -> bytes:
    """The durable document (stored state + log tail) as one Yjs update."""
    stored = await _read(session, ppa_id)
    if not stored.rows:
        return stored.state
    return await anyio.to_thread.run_sync(
        merge_state, stored.state, [row.data for row in stored.rows]
    )


class SqliteAppender:
    """The appends of SQLite: one ``sqlite3`` connection used by one thread; WAL checkpoints on
    another connection and thread (see the module's docstring)."""

    def __init__(self, path: str) -> None:
        self._path = path
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ppa-update-log")
        self._conn: sqlite3.Connection | None = None
        self._checkpointer = ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="ppa-update-log-checkpoint"
        )
        self._checkpoint_conn: sqlite3.Connection | None = None
        self._checkpointing: asyncio.Future[None] | None = None
        self._inline: sqlite3.Connection | None = None
        self.inline_commits = 0
        """Group commits run on the event loop (:data:`INLINE_ROWS`); the others on the thread."""
        self.thread_commits = 0
        self._since_checkpoint = 0

    def _open(self, *, check_same_thread: bool = True) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self._path, timeout=30, isolation_level=None, check_same_thread=check_same_thread
        )
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON"):
            conn.execute(f"PRAGMA {pragma}")
        conn.execute("PRAGMA busy_timeout=30000")
        return conn

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            conn = self._open()
            conn.execute("PRAGMA wal_autocheckpoint=0")
            self._conn = conn
        return self._conn

    def _checkpoint(self) -> None:
        if self._checkpoint_conn is None:
            self._checkpoint_conn = self._open()
        self._checkpoint_conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()

    def _committed(self) -> None:
        """After each commit (on the event loop): start a checkpoint every
        :data:`CHECKPOINT_EVERY` commits, unless one is still running."""
        self._since_checkpoint += 1
        if self._since_checkpoint < CHECKPOINT_EVERY or self._checkpointing is not None:
            return
        self._since_checkpoint = 0
        future = asyncio.get_running_loop().run_in_executor(self._checkpointer, self._checkpoint)
        self._checkpointing = future
        future.add_done_callback(self._checkpoint_done)

    def _checkpoint_done(self, future: asyncio.Future[None]) -> None:
        self._checkpointing = None
        if not future.cancelled() and future.exception() is not None:
            log.warning(
                "collab.store.checkpoint_failed error=%s", type(future.exception()).__name__
            )

    def _open_inline(self) -> sqlite3.Connection:
        # Opened on the writer thread (its pragmas may wait for a lock), used on the event loop.
        conn = self._open(check_same_thread=False)
        conn.execute("PRAGMA wal_autocheckpoint=0")
        conn.execute("PRAGMA busy_timeout=0")
        return conn

    def _append_inline(self, batches: list[tuple[str, list[tuple[Any, ...]]]]) -> list[int] | None:
        """:meth:`_append` on the event loop if SQLite's write lock is free now, else ``None``
        (another connection writes: :meth:`_append` on the writer thread waits for it)."""
        conn = self._inline
        if conn is None:
            return None
        try:
            conn.execute("BEGIN IMMEDIATE")  # busy_timeout=0: never waits
        except sqlite3.OperationalError:
            return None
        return self._insert(conn, batches)

    def _append(self, batches: list[tuple[str, list[tuple[Any, ...]]]]) -> list[int]:
        conn = self._connection()
        conn.execute("BEGIN IMMEDIATE")
        return self._insert(conn, batches)

    @staticmethod
    def _insert(
        conn: sqlite3.Connection, batches: list[tuple[str, list[tuple[Any, ...]]]]
    ) -> list[int]:
        """The rows, then ``COMMIT``, in the transaction ``conn`` began (rolled back on error)."""
        try:
            seqs: list[int] = []
            for ppa_id, rows in batches:
                conn.executemany(_SQLITE_INSERT, rows)
                (seq,) = conn.execute(
                    "SELECT MAX(seq) FROM ppa_updates WHERE ppa_id = ?", (ppa_id,)
                ).fetchone()
                seqs.append(int(seq))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return seqs

    async def append(self, ppa_id: str, updates: Sequence[StoredUpdate]) -> int:
        (seq,) = await self.append_many([(ppa_id, updates)])
        return seq

    async def append_many(self, batches: Sequence[tuple[str, Sequence[StoredUpdate]]]) -> list[int]:
        """Every batch in one transaction (one ``COMMIT``, one WAL write): on the event loop
        when the batch is small (:data:`INLINE_ROWS`) and SQLite's write lock is free, else on
        the writer thread."""
        rows = [
            (
                ppa_id,
                [
                    (
                        ppa_id,
                        u.update,
                        u.author[:100],
                        _sqlite_time(u.at),
                        _client_ids(u),
                        len(u.update),
                        ppa_id,
                    )
                    for u in updates
                ],
            )
            for ppa_id, updates in batches
        ]
        loop = asyncio.get_running_loop()
        seqs = None
        if sum(len(each) for _, each in rows) <= INLINE_ROWS:
            if self._inline is None:
                self._inline = await loop.run_in_executor(self._executor, self._open_inline)
            seqs = self._append_inline(rows)
        if seqs is None:
            seqs = await loop.run_in_executor(self._executor, self._append, rows)
            self.thread_commits += 1
        else:
            self.inline_commits += 1
        self._committed()
        return seqs

    def _compact(
        self,
        ppa_id: str,
        state: bytes,
        old_seq: int,
        last_seq: int,
        now: str,
        cutoff: str,
    ) -> bool:
        conn = self._connection()
        conn.execute("BEGIN IMMEDIATE")
        try:
            moved = conn.execute(
                "UPDATE ppa_documents SET state = ?, compacted_seq = ?, updated_at = ? "
                "WHERE ppa_id = ? AND compacted_seq = ?",
                (state, last_seq, now, ppa_id, old_seq),
            ).rowcount
            if moved == 1:
                conn.execute(
                    "UPDATE ppa_updates SET data = NULL WHERE ppa_id = ? AND seq <= ? "
                    "AND data IS NOT NULL AND created_at < ?",
                    (ppa_id, last_seq, cutoff),
                )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return moved == 1

    async def compact(
        self,
        ppa_id: str,
        state: bytes,
        old_seq: int,
        last_seq: int,
        now: datetime,
        cutoff: datetime,
    ) -> bool:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self._executor,
            self._compact,
            ppa_id,
            state,
            old_seq,
            last_seq,
            now.astimezone(UTC).strftime(_SQLITE_DATETIME),
            cutoff.astimezone(UTC).strftime(_SQLITE_DATETIME),
        )

    def _close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if self._inline is not None:
            self._inline.close()
            self._inline = None

    def _close_checkpointer(self) -> None:
        if self._checkpoint_conn is not None:
            self._checkpoint_conn.close()
            self._checkpoint_conn = None

    async def close(self) -> None:
        loop = asyncio.get_running_loop()
        if self._checkpointing is not None:
            with contextlib.suppress(Exception):
                await self._checkpointing
        await loop.run_in_executor(self._checkpointer, self._close_checkpointer)
        self._checkpointer.shutdown(wait=True)
        await loop.run_in_executor(self._executor, self._close)
        self._executor.shutdown(wait=True)


class PgAppender:
    """The appends of PostgreSQL: one ``psycopg`` connection of its own (no pool, no
    pre-ping), one group commit at a time: ``FOR UPDATE`` on the PPAs' ``ppa_documents`` rows,
    then one ``INSERT ... SELECT`` of every batch (each PPA's ``MAX(seq)`` + the position in its
    batch, read after the locks were granted: READ COMMITTED gives each statement a fresh
    snapshot) ``RETURNING ppa_id, seq``, sent
    with ``BEGIN`` and ``COMMIT`` in one pipeline: one round trip, next to six through the
    pooled SQLAlchemy engine, and little Python on the event loop (an autocommit connection:
    the transaction is the explicit ``BEGIN`` ... ``COMMIT``). A connection that failed or
    was interrupted mid-batch is closed (its state is unknown); the next batch opens another."""

    def __init__(self, url: str) -> None:
        self._conninfo = (
            make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        )
        self._conn: psycopg.AsyncConnection[Any] | None = None
        self._lock = asyncio.Lock()

    async def append(self, ppa_id: str, rows: Sequence[StoredUpdate]) -> int:
        (seq,) = await self.append_many([(ppa_id, rows)])
        return seq

    async def append_many(self, batches: Sequence[tuple[str, Sequence[StoredUpdate]]]) -> list[int]:
        """Every batch in one transaction: the documents' rows locked in id order (two processes
        never wait on each other in a cycle), then one ``INSERT`` of every row, each numbered
        after its document's ``MAX(seq)``, sent with ``BEGIN`` and ``COMMIT`` in one pipeline."""
        ids = [ppa_id for ppa_id, _ in batches]
        if len(set(ids)) != len(ids) or any(not rows for _, rows in batches):
            raise ValueError("one non-empty batch per document")
        rows = [(ppa_id, ord_, u) for ppa_id, us in batches for ord_, u in enumerate(us, 1)]
        params: dict[str, Any] = {
            "data": [r[2].update for r in rows],
            "author": [r[2].author[:100] for r in rows],
            "created_at": [r[2].at for r in rows],
            "client_ids": [_client_ids(r[2]) for r in rows],
            "size": [len(r[2].update) for r in rows],
        }
        # One document: the single-document statement (half the time of the general one for a
        # 200-update batch, measured on PostgreSQL 15); several: the general one.
        if len(ids) == 1:
            statement, params["ppa_id"] = _PG_APPEND, ids[0]
        else:
            statement = _PG_APPEND_MANY
            params.update(ids=ids, ppa_id=[r[0] for r in rows], ord=[r[1] for r in rows])
        async with self._lock:
            try:
                if self._conn is None or self._conn.closed:
                    self._conn = await psycopg.AsyncConnection.connect(
                        self._conninfo, autocommit=True
                    )
                conn = self._conn
                # BEGIN, locks, insert and COMMIT: one round trip. An error fails the pipeline
                # (what follows the failed statement, COMMIT included, is skipped): nothing of
                # the batch is committed, and the connection is closed below.
                async with conn.pipeline():
                    await conn.execute("BEGIN")
                    await conn.execute(_PG_LOCK, (sorted(ids),))
                    cursor = await conn.execute(statement, params)
                    await conn.execute("COMMIT")
                last: dict[str, int] = {}
                for ppa_id, seq in await cursor.fetchall():
                    last[ppa_id] = max(int(seq), last.get(ppa_id, 0))
            except BaseException:
                await self._discard()
                raise
        return [last[ppa_id] for ppa_id in ids]

    async def _discard(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with anyio.CancelScope(shield=True), contextlib.suppress(Exception):
                await conn.close()

    async def close(self) -> None:
        async with self._lock:
            await self._discard()


class SqlUpdateStore:
    def __init__(
        self,
        db: Database,
        *,
        retention: timedelta,
        lease: CompactionLease | None = None,
        now: Callable[[], datetime] = utcnow,
    ) -> None:
        self._db = db
        self._retention = retention
        self._lease = lease or LocalLease()
        self._now = now
        self._sqlite: SqliteAppender | None = None
        self._pg: PgAppender | None = None
        if db.is_sqlite:
            path = make_url(db.url).database
            if path and path != ":memory:":
                self._sqlite = SqliteAppender(path)
        elif make_url(db.url).get_backend_name() == "postgresql":
            self._pg = PgAppender(db.url)

    async def close(self) -> None:
        if self._sqlite is not None:
            await self._sqlite.close()
        if self._pg is not None:
            await self._pg.close()

    async def load(self, ppa_id: str) -> LoadedDocument:
        # Queued: a thousand rooms loading at once wait their turn, not the pool's timeout.
        async with self._db.queued(), self._db.engine.connect() as conn:
            stored = await _read(conn, ppa_id)
        return LoadedDocument(
            stored.state, [row.data for row in stored.rows], stored.last_seq, stored.locked
        )

    async def append(self, ppa_id: str, updates: Sequence[StoredUpdate]) -> int:
        (seq,) = await self.append_many([(ppa_id, updates)])
        return seq

    async def append_many(self, batches: Sequence[tuple[str, Sequence[StoredUpdate]]]) -> list[int]:
        if self._sqlite is not None:
            return await self._sqlite.append_many(batches)
        if self._pg is not None:
            return await self._pg.append_many(batches)
        # An in-memory SQLite database (a second connection would open another one): its engine.
        seqs: list[int] = []
        async with self._db.engine.begin() as conn:
            for ppa_id, updates in batches:
                rows = [
                    {
                        "ppa_id": ppa_id,
                        "data": u.update,
                        "author": u.author[:100],
                        "created_at": u.at,
                        "client_ids": _client_ids(u),
                        "size": len(u.update),
                    }
                    for u in updates
                ]
                await conn.execute(_INSERT, rows)
                seq = await conn.scalar(
                    select(func.max(PPAUpdate.seq)).where(PPAUpdate.ppa_id == ppa_id)
                )
                if seq is None:
                    raise RuntimeError(f"no update stored for {ppa_id}")
                seqs.append(int(seq))
        return seqs

    async def compact(self, ppa_id: str) -> int:
        async with self._leased(ppa_id) as leased:
            if not leased:
                return 0
            async with self._db.engine.connect() as conn:
                stored = await _read(conn, ppa_id)
            if not stored.rows:
                return 0
            updates = [row.data for row in stored.rows]
            # merge_updates releases the GIL (a Doc-based fold would stall the event loop)
            state = await anyio.to_thread.run_sync(merge_state, stored.state, updates)
            last = stored.last_seq
            now = self._now()
            if self._sqlite is not None:
                done = await self._sqlite.compact(
                    ppa_id, state, stored.compacted_seq, last, now, now - self._retention
                )
                return len(updates) if done else 0
            async with self._db.engine.begin() as conn:
                moved = await conn.execute(
                    update(PPADocument)
                    .where(
                        PPADocument.ppa_id == ppa_id,
                        PPADocument.compacted_seq == stored.compacted_seq,
                    )
                    .values(state=state, compacted_seq=last, updated_at=now)
                )
                if moved.rowcount != 1:
                    return 0  # another process compacted meanwhile
                await conn.execute(
                    update(PPAUpdate)
                    .where(
                        PPAUpdate.ppa_id == ppa_id,
                        PPAUpdate.seq <= last,
                        PPAUpdate.data.is_not(None),
                        PPAUpdate.created_at < now - self._retention,
                    )
                    .values(data=None)
                )
            return len(updates)

    @contextlib.asynccontextmanager
    async def _leased(self, ppa_id: str) -> AsyncIterator[bool]:
        acquired = await self._lease.acquire(ppa_id)
        try:
            yield acquired
        finally:
            if acquired:
                with anyio.CancelScope(shield=True):
                    await self._lease.release(ppa_id)
