"""The reply to a client with nothing, kept current without encoding on the event loop."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Final

from editor.collab.lib0 import Decoder
from editor.collab.protocol import encode_sync_step2, encode_update
from editor.collab.updates import EMPTY_UPDATE, merge_many


class _Chunk:
    """Consecutive transactions of the served document's tail, merged into one update once
    closed (by the room's refresh worker, in a thread)."""

    __slots__ = ("message", "size", "updates")

    def __init__(self) -> None:
        self.updates: list[bytes] = []
        self.size = 0
        self.message: bytes | None = None
        """The merged transactions as one update message, once merged."""

    def merge(self) -> bytes:
        return encode_update(merge_many(self.updates))


class ServedDocument:
    """What a client with nothing (empty state vector) receives, kept current without encoding
    the document on the event loop.

    The reply is a *base* (the whole document at some point, as a sync step 2 encoded once),
    then the transactions since as a few update messages: closed *chunks* of up to
    :data:`CHUNK_TRANSACTIONS` transactions or :data:`CHUNK_BYTES` bytes, each merged once, and
    the open chunk, merged when asked (a few small updates: microseconds). Stock clients apply
    the step 2 and every update after it. Merging is the room's background work
    (:meth:`next_job`, run in a worker thread: :func:`pycrdt.merge_updates` releases the GIL):
    closed chunks are merged, and once the chunks hold :data:`REBASE_CHUNKS` chunks or more
    bytes than a quarter of the base, the base and the chunks are merged into a new base.
    Encoding a 100,000-item document takes 25-60 ms on the event loop; with this the reply to a
    late joiner is ready at any time (merging a lagging chunk costs under a millisecond).
    """

    CHUNK_TRANSACTIONS: Final = 256
    CHUNK_BYTES: Final = 1 << 16
    REBASE_CHUNKS: Final = 16
    MAX_CHUNKS: Final = 512
    """Closed chunks past this (the worker cannot keep up): :attr:`overflowing`."""

    def __init__(self, base: bytes) -> None:
        self._base_update = base
        self.base = encode_sync_step2(base)
        self.chunks: list[_Chunk] = []
        self._open = _Chunk()
        self._open_merged: tuple[int, bytes] | None = None

    @property
    def overflowing(self) -> bool:
        return len(self.chunks) > self.MAX_CHUNKS

    def note(self, update: bytes) -> bool:
        """One more transaction of the document (in the order they were applied); ``True`` when
        it closed a chunk (there is background work)."""
        if update == EMPTY_UPDATE:
            return False
        chunk = self._open
        chunk.updates.append(update)
        chunk.size += len(update)
        if len(chunk.updates) >= self.CHUNK_TRANSACTIONS or chunk.size >= self.CHUNK_BYTES:
            if self._open_merged is not None and self._open_merged[0] == len(chunk.updates):
                chunk.message = self._open_merged[1]
            elif len(chunk.updates) == 1:
                chunk.message = encode_update(update)
            self.chunks.append(chunk)
            self._open = _Chunk()
            self._open_merged = None
            return True
        return False

    def reply(self) -> list[bytes]:
        """The whole document: the base, then every transaction since (merged)."""
        messages = [self.base]
        for chunk in self.chunks:
            if chunk.message is None:  # the worker lags: merge it here, once
                chunk.message = chunk.merge()
            messages.append(chunk.message)
        open_ = self._open
        if open_.updates:
            count = len(open_.updates)
            merged = self._open_merged
            if merged is None:
                message = encode_update(merge_many(open_.updates))
            elif merged[0] < count:
                # Merge the previous merge (an update message: skip its 2-byte prefix and length)
                # with what came since.
                previous = _update_of(merged[1])
                message = encode_update(merge_many([previous, *open_.updates[merged[0] :]]))
            else:
                message = merged[1]
            self._open_merged = (count, message)
            messages.append(message)
        return messages

    def next_job(self) -> Callable[[], Callable[[], None]] | None:
        """Background work, if any: a function to run in a worker thread, which returns the
        function that installs its result (to call on the event loop)."""
        for chunk in self.chunks:
            if chunk.message is None:
                return functools.partial(self._merge_chunk, chunk)
        chunks = self.chunks
        merged_bytes = sum(len(c.message or b"") for c in chunks)
        if chunks and (
            len(chunks) >= self.REBASE_CHUNKS
            or merged_bytes > max(len(self._base_update) // 4, self.CHUNK_BYTES)
        ):
            return functools.partial(self._rebase, self._base_update, list(chunks))
        return None

    def _merge_chunk(self, chunk: _Chunk) -> Callable[[], None]:
        message = chunk.merge()

        def install() -> None:
            if chunk.message is None:
                chunk.message = message

        return install

    def _rebase(self, base: bytes, chunks: list[_Chunk]) -> Callable[[], None]:
        updates = [_update_of(c.message) for c in chunks if c.message is not None]
        new_base = merge_many([base, *updates])
        step2 = encode_sync_step2(new_base)

        def install() -> None:  # one worker per room: nothing else moved the base meanwhile
            self._base_update = new_base
            self.base = step2
            del self.chunks[: len(chunks)]

        return install


def _update_of(message: bytes) -> bytes:
    """The update inside a sync step 2 or update message (it ends the message)."""
    size = Decoder(message, 2).read_var_uint()
    return message[len(message) - size :]
