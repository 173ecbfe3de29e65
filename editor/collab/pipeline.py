"""The durable append pipeline of a process: one group commit for the pending writes of every room.

A room with writes to store *submits* itself (:meth:`CommitPipeline.submit`); the pipeline's one
task takes the pending batch of every submitted room (:meth:`Committer.take_batch`) and appends
them all in **one** transaction (:meth:`~editor.collab.ports.UpdateStore.append_many`: one fsync
on SQLite, one round trip and commit on PostgreSQL); only once that transaction is committed does
each room relay and acknowledge its batch (:meth:`Committer.committed`). A batch that cannot be
stored (after ``retries`` attempts) fails every room in it (:meth:`Committer.failed`): nothing of
it is relayed or acknowledged, each room breaks and its clients resend their writes to a freshly
loaded room, as with one room.

Waiting: under light load a commit starts as soon as the pipeline is woken: a write waits for
nothing but the event loop's turn. Under load (the previous transaction ended less than
``4 x gather`` ago), when rooms other than the last transaction's have written, the pipeline
first waits ``gather`` seconds (2 ms by default) for the writes of other rooms to join the
transaction (one busy room alone does not wait: its writes gather while its transaction is in
flight): a transaction costs the same whatever its size, and on
SQLite, where a small one takes less than the time between two writes, each write would else
make its own. Writes that arrive while a transaction is in flight make the next one. So a write
waits at most ``gather`` plus the commit before it. Idle rooms cost nothing here (a room is known
to the pipeline only while it has something to store).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Protocol

import anyio
from anyio.abc import TaskStatus

from editor.collab.ports import StoredUpdate, UpdateStore

log = logging.getLogger(__name__)


class Committer(Protocol):
    """A room, as the pipeline sees it."""

    @property
    def ppa_id(self) -> str: ...

    def take_batch(self) -> list[StoredUpdate] | None:
        """The room's pending writes (held by the room until :meth:`committed` or
        :meth:`failed`), or ``None`` when there is nothing to store."""
        ...

    def committed(self, seq: int) -> None:
        """The batch taken last is durable, its last update stored as ``seq``: relay it."""
        ...

    def failed(self) -> None:
        """The batch taken last could not be stored: relay nothing of it."""
        ...


class CommitPipeline:
    """One per process and database: see the module's docstring. :meth:`run` is its task."""

    def __init__(
        self,
        store: UpdateStore,
        *,
        retries: int = 5,
        first_delay: float = 0.05,
        gather: float = 0.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._retries = retries
        self._first_delay = first_delay
        self._gather = gather
        self._monotonic = monotonic
        self._ended = -float("inf")
        """When the last transaction ended (:attr:`_monotonic`)."""
        self._last: frozenset[str] = frozenset()
        """The documents of the last transaction."""
        self.gathered = 0
        """Transactions that waited ``gather`` for more rooms (the process was under load)."""
        self._ready: dict[Committer, None] = {}
        self._wake = anyio.Event()
        self._running = False
        self.transactions = 0
        """Transactions committed (each may hold several rooms' batches)."""
        self.in_flight: tuple[str, ...] = ()
        """The documents of the transaction being stored."""

    def submit(self, room: Committer) -> None:
        """``room`` has writes to store: they go in the next transaction."""
        self._ready[room] = None
        self._wake.set()

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        if self._running:
            raise RuntimeError("commit pipeline already running")
        self._running = True
        task_status.started()
        while True:
            await self._wake.wait()
            self._wake = anyio.Event()
            if not self._ready:  # woken for writes an earlier transaction already took
                continue
            if self._should_gather():
                self.gathered += 1
                await anyio.sleep(self._gather)
            while self._ready:
                await self._commit_ready()

    def _should_gather(self) -> bool:
        """Under load, and rooms other than the last transaction's wrote: let more join. (One
        busy room alone gathers its own writes while its transaction is in flight: waiting
        would only add to its latency.)"""
        if not self._gather or self._monotonic() - self._ended >= 4 * self._gather:
            return False
        return any(room.ppa_id not in self._last for room in self._ready)

    def _take(self) -> list[tuple[Committer, list[StoredUpdate]]]:
        """One batch per document: a second room of the same document (a reloaded one) waits
        for the next transaction, so that sequence numbers stay contiguous per document."""
        ready = list(self._ready)
        self._ready.clear()
        taken: list[tuple[Committer, list[StoredUpdate]]] = []
        documents: set[str] = set()
        for room in ready:
            if room.ppa_id in documents:
                self._ready[room] = None
                continue
            stored = room.take_batch()
            if stored:
                documents.add(room.ppa_id)
                taken.append((room, stored))
        return taken

    async def _commit_ready(self) -> None:
        taken = self._take()
        if not taken:
            return
        self.in_flight = tuple(room.ppa_id for room, _ in taken)
        try:
            seqs = await self._append([(room.ppa_id, stored) for room, stored in taken])
        finally:
            self.in_flight = ()
            self._ended = self._monotonic()
            self._last = frozenset(room.ppa_id for room, _ in taken)
        if seqs is None:
            for room, _ in taken:
                room.failed()
            return
        self.transactions += 1
        for (room, _), seq in zip(taken, seqs, strict=True):
            room.committed(seq)

    async def _append(
        self, batches: Sequence[tuple[str, Sequence[StoredUpdate]]]
    ) -> list[int] | None:
        delay = self._first_delay
        for attempt in range(1, self._retries + 1):
            try:
                return await self._store.append_many(batches)
            except Exception:
                log.exception(
                    "collab.store.append_failed documents=%d attempt=%d", len(batches), attempt
                )
                if attempt == self._retries:
                    break
                await anyio.sleep(delay)
                delay *= 2
        return None
