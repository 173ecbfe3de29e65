"""The durable update log of the live documents (:class:`editor.sync.UpdateStore` on SQL).

``ppa_documents.state`` holds the folded document up to ``compacted_seq``; ``ppa_updates`` holds
every update with its author and time. Loading = state + the log tail after ``compacted_seq``.

* ``append`` is one transaction per batch (the room's group commit). Sequence numbers are
  contiguous per PPA, also with several server processes: PostgreSQL serialises the appends of a
  PPA on its ``ppa_documents`` row (``FOR UPDATE``), SQLite on its single writer; each row takes
  ``MAX(seq) + 1`` inside the statement that inserts it.
* ``compact`` folds the tail into ``ppa_documents.state`` (optimistic: it writes only if no other
  compaction moved ``compacted_seq`` meanwhile) and clears the bytes of folded updates older than
  the retention period. Author, time, client ids and size are kept for ever. A lease (in-process,
  or Redis with several processes) keeps two compactions of one document from running at once.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol

import anyio
from sqlalchemy import bindparam, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.types import LargeBinary

from editor.sync import (
    LoadedDocument,
    MalformedMessage,
    StoredUpdate,
    fold_updates,
    update_clients,
)
from server.db import Database, UTCDateTime, utcnow
from server.errors import NotFound
from server.models import PPA, PPADocument, PPAUpdate

_INSERT = text(
    "INSERT INTO ppa_updates (ppa_id, seq, data, author, created_at, client_ids, size) "
    "SELECT CAST(:ppa_id AS VARCHAR(36)), COALESCE(MAX(seq), 0) + 1, :data, "
    "CAST(:author AS VARCHAR(100)), :created_at, CAST(:client_ids AS TEXT), CAST(:size AS INTEGER) "
    "FROM ppa_updates WHERE ppa_id = CAST(:ppa_id AS VARCHAR(36))"
).bindparams(
    bindparam("data", type_=LargeBinary()),
    bindparam("created_at", type_=UTCDateTime()),
)

_LOAD_ATTEMPTS = 5


class UnknownDocument(NotFound):
    pass


def client_ids_of(update: bytes) -> str:
    """The Yjs client ids whose structs ``update`` holds, space-separated, ascending."""
    try:
        clients = update_clients(update)
    except MalformedMessage:
        return ""
    return " ".join(str(client) for client in sorted(set(clients)))


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
    return fold_updates(stored.state, [row.data for row in stored.rows])


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

    async def load(self, ppa_id: str) -> LoadedDocument:
        async with self._db.engine.connect() as conn:
            stored = await _read(conn, ppa_id)
        return LoadedDocument(
            stored.state, [row.data for row in stored.rows], stored.last_seq, stored.locked
        )

    async def append(self, ppa_id: str, updates: Sequence[StoredUpdate]) -> int:
        rows = [
            {
                "ppa_id": ppa_id,
                "data": u.update,
                "author": u.author[:100],
                "created_at": u.at,
                "client_ids": client_ids_of(u.update),
                "size": len(u.update),
            }
            for u in updates
        ]
        async with self._db.engine.begin() as conn:
            if not self._db.is_sqlite:
                await conn.execute(
                    select(PPADocument.ppa_id).where(PPADocument.ppa_id == ppa_id).with_for_update()
                )
            await conn.execute(_INSERT, rows)
            seq = await conn.scalar(
                select(func.max(PPAUpdate.seq)).where(PPAUpdate.ppa_id == ppa_id)
            )
        assert seq is not None
        return int(seq)

    async def compact(self, ppa_id: str) -> int:
        async with self._leased(ppa_id) as leased:
            if not leased:
                return 0
            async with self._db.engine.connect() as conn:
                stored = await _read(conn, ppa_id)
            if not stored.rows:
                return 0
            updates = [row.data for row in stored.rows]
            state = await anyio.to_thread.run_sync(fold_updates, stored.state, updates)
            last = stored.last_seq
            now = self._now()
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
