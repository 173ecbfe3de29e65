"""An in-memory :class:`editor.collab.ports.UpdateStore` for tests, with failure and delay
injection.

It follows the contract the database store implements: ``append`` is atomic and returns the last
sequence number; ``compact`` folds the log into the state and keeps, per update, its author and
time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import anyio

from editor.collab.ports import LoadedDocument, StoredUpdate
from editor.collab.updates import fold_updates


@dataclass
class LogRow:
    seq: int
    update: bytes | None
    author: str
    at: datetime


@dataclass
class StoredDoc:
    state: bytes | None = None
    state_seq: int = 0
    rows: list[LogRow] = field(default_factory=list)


class StoreFailureError(Exception):
    pass


class MemoryStore:
    def __init__(self, *, delay: float = 0.0) -> None:
        self.docs: dict[str, StoredDoc] = {}
        self.delay = delay
        self.fail_appends = 0
        self.append_calls = 0
        self.batch_sizes: list[int] = []
        self.loads = 0
        self.gate: anyio.Event | None = None
        """When set, ``append`` waits for it (to hold a commit in flight)."""

    def _doc(self, ppa_id: str) -> StoredDoc:
        return self.docs.setdefault(ppa_id, StoredDoc())

    async def load(self, ppa_id: str) -> LoadedDocument:
        self.loads += 1
        await anyio.sleep(self.delay)
        doc = self._doc(ppa_id)
        tail = [row.update for row in doc.rows if row.seq > doc.state_seq]
        updates = [u for u in tail if u is not None]
        last_seq = doc.rows[-1].seq if doc.rows else doc.state_seq
        return LoadedDocument(doc.state, updates, last_seq)

    async def append(self, ppa_id: str, updates: Sequence[StoredUpdate]) -> int:
        (seq,) = await self.append_many([(ppa_id, updates)])
        return seq

    async def append_many(self, batches: Sequence[tuple[str, Sequence[StoredUpdate]]]) -> list[int]:
        """All batches or none (a failure is injected before anything is written)."""
        self.append_calls += 1
        if self.gate is not None:
            await self.gate.wait()
        await anyio.sleep(self.delay)
        if self.fail_appends:
            self.fail_appends -= 1
            raise StoreFailureError("injected")
        seqs: list[int] = []
        for ppa_id, updates in batches:
            doc = self._doc(ppa_id)
            seq = doc.rows[-1].seq if doc.rows else doc.state_seq
            for update in updates:
                seq += 1
                doc.rows.append(LogRow(seq, update.update, update.author, update.at))
            self.batch_sizes.append(len(updates))
            seqs.append(seq)
        return seqs

    async def compact(self, ppa_id: str) -> int:
        doc = self._doc(ppa_id)
        tail = [row for row in doc.rows if row.seq > doc.state_seq and row.update is not None]
        if not tail:
            return 0
        await anyio.sleep(self.delay)
        state = fold_updates(doc.state, [row.update for row in tail if row.update is not None])
        doc.state = state
        doc.state_seq = tail[-1].seq
        for row in tail:
            row.update = None  # folded: the bytes go, the authorship stays
        return len(tail)

    def stored_state(self, ppa_id: str) -> bytes:
        doc = self._doc(ppa_id)
        tail = [row.update for row in doc.rows if row.seq > doc.state_seq]
        return fold_updates(doc.state, [u for u in tail if u is not None])

    def authors(self, ppa_id: str) -> list[str]:
        return [row.author for row in self._doc(ppa_id).rows]
