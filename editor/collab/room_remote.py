"""A room shared with other server processes: what they committed, and catching up on what
this process missed."""

from __future__ import annotations

import logging

import anyio

from editor.collab.protocol import (
    AwarenessMessage,
    SyncStep2,
    SyncUpdate,
    decode_messages,
    encode_update,
)
from editor.collab.room_core import RoomCore
from editor.collab.updates import merge_many

log = logging.getLogger(__name__)


class RemoteMixin(RoomCore):
    def receive_remote(self, message: bytes, seqs: tuple[int, int] | None = None) -> None:
        """Apply a message published by another server process (durable there already).

        ``seqs``: the sequence numbers the update was stored under; a gap before them (a message
        this process missed) is filled from the store shortly after, unless it closes by itself.
        """
        if self.broken:
            return
        for decoded in decode_messages(message):
            if isinstance(decoded, SyncUpdate | SyncStep2):
                self._integrate_durable(decoded.update)
            elif isinstance(decoded, AwarenessMessage):
                self._presence.receive_remote(decoded.entries, self._monotonic())
                self._broadcast(message, None)
        if seqs is not None and self._note_seqs(*seqs):
            self._schedule_catch_up()

    def note_stored(self, seq: int) -> None:
        """Another process says the store holds updates up to ``seq``: read any missing."""
        if seq > self._known_seq:
            self._ahead[seq] = max(seq, self._ahead.get(seq, 0))
            self._schedule_catch_up()

    def _integrate_durable(self, update: bytes) -> None:
        captured = self._apply(update)
        if captured is not None:
            self._doc_bytes += len(captured)
            if not self.uncommitted:
                self._durable_sv = None
            self._relay(encode_update(captured), None)

    def _note_seqs(self, first: int, last: int) -> bool:
        """Record that the updates stored as ``first..last`` are in the document; returns whether
        some stored update is known to be missing."""
        if first <= self._known_seq + 1:
            self._known_seq = max(self._known_seq, last)
            while self._ahead:
                joined = [f for f in self._ahead if f <= self._known_seq + 1]
                if not joined:
                    break
                for f in joined:
                    self._known_seq = max(self._known_seq, self._ahead.pop(f))
        else:
            self._ahead[first] = max(last, self._ahead.get(first, 0))
        return bool(self._ahead)

    def _schedule_catch_up(self) -> None:
        if not self._catching_up and self._task_group is not None:
            self._catching_up = True
            self._task_group.start_soon(self._catch_up_later)

    async def _catch_up_later(self) -> None:
        try:
            await anyio.sleep(0.2)  # messages may just be out of order: give them time
            if self._ahead:
                await self.catch_up()
        finally:
            self._catching_up = False

    async def catch_up(self) -> None:
        """Read the store and integrate what this process missed (after a gap in the sequence
        numbers published by other processes, or after the fan-out reconnected)."""
        try:
            stored = await self._store.load(self.ppa_id)
        except Exception:
            log.exception("collab.room.catch_up_failed ppa=%s", self.ppa_id)
            return
        if self.broken:
            return
        if stored.state is not None:
            self._integrate_durable(stored.state)
        if stored.updates:
            self._integrate_durable(merge_many(stored.updates))
        self._known_seq = max(self._known_seq, stored.last_seq)
        self._ahead = {f: last for f, last in self._ahead.items() if last > self._known_seq}
        self._note_seqs(self._known_seq + 1, self._known_seq)
        log.info("collab.room.caught_up ppa=%s seq=%d", self.ppa_id, stored.last_seq)
