"""The replies to sync step 1, encoded in a worker thread from a garbage-collected replica."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Final, Generic, TypeVar

from pycrdt import Doc

from editor.collab.protocol import encode_sync_step2
from editor.collab.updates import EMPTY_UPDATE

K = TypeVar("K")


class ServedDocument(Generic[K]):
    """What clients are sent in answer to their sync step 1, never encoded on the event loop.

    The room notes every transaction of its document (:meth:`note`: an append); a worker thread
    applies them, in order, to a *replica* (a pycrdt document of its own, garbage-collected, so
    that deleted text is not sent) and encodes each waiting request's sync step 2 from it: the
    whole state as of the request (and possibly later transactions), diffed against the
    client's state vector, in one message. So the first step 2 a stock client receives holds the
    document ("synced" means synced), without the room encoding a large document on its loop.
    Work is one job at a time (:meth:`next_job`), started when a request waits or
    :data:`BATCH_TRANSACTIONS` transactions / :data:`BATCH_BYTES` bytes are noted, so the
    replica stays close to the document and a request costs an encoding in the thread.
    """

    BATCH_TRANSACTIONS: Final = 256
    BATCH_BYTES: Final = 1 << 16

    def __init__(self, encoded: Sequence[bytes]) -> None:
        """``encoded``: updates that give the document when applied in order."""
        self._noted: list[bytes] = [u for u in encoded if u != EMPTY_UPDATE]
        self._noted_bytes = sum(len(u) for u in self._noted)
        self._replica: Doc[Any] | None = None
        self.requests: list[tuple[K, bytes]] = []
        """Waiting sync step 1s: (whom to answer, their state vector)."""
        self.in_flight: list[tuple[K, bytes]] = []
        """The requests of the job running (to answer otherwise if it fails)."""

    @property
    def due(self) -> bool:
        """There is work for the worker."""
        return bool(self.requests) or (
            len(self._noted) >= self.BATCH_TRANSACTIONS or self._noted_bytes >= self.BATCH_BYTES
        )

    def note(self, update: bytes) -> None:
        """One more transaction of the document (in the order they were applied)."""
        if update != EMPTY_UPDATE:
            self._noted.append(update)
            self._noted_bytes += len(update)

    def request(self, key: K, state_vector: bytes) -> None:
        self.requests.append((key, state_vector))

    def next_job(self) -> Callable[[], Callable[[], list[tuple[K, bytes | None]]]] | None:
        """The next job, if any: a function to run in a worker thread, which returns the function
        that installs its result (on the event loop) and returns the replies, ``None`` for a
        state vector that could not be read. The job holds every transaction noted so far."""
        if not self.due:
            return None
        noted, self._noted, self._noted_bytes = self._noted, [], 0
        requests, self.requests = self.requests, []
        self.in_flight = requests
        replica = self._replica
        return lambda: self._work(replica, noted, requests)

    def _work(
        self, replica: Doc[Any] | None, noted: list[bytes], requests: list[tuple[K, bytes]]
    ) -> Callable[[], list[tuple[K, bytes | None]]]:
        if replica is None:
            replica = Doc(allow_multithreading=True)  # one job at a time, any pool thread
        if noted:
            with replica.transaction():
                for update in noted:
                    replica.apply_update(update)
        replies: list[tuple[K, bytes | None]] = []
        for key, state_vector in requests:
            try:
                replies.append((key, encode_sync_step2(replica.get_update(state_vector))))
            except ValueError:
                replies.append((key, None))
        built = replica

        def install() -> list[tuple[K, bytes | None]]:
            self._replica = built
            self.in_flight = []
            return replies

        return install
