"""A room's durable commit pipeline: append the pending batch to the store, *then* relay it and
acknowledge its writers; compaction."""

from __future__ import annotations

import logging
from typing import NamedTuple

import anyio

from editor.collab.peers import Entry
from editor.collab.ports import (
    StoredUpdate,
)
from editor.collab.protocol import (
    encode_update,
)
from editor.collab.room_core import RoomCore
from editor.collab.updates import merge_many

log = logging.getLogger(__name__)


class _InFlight(NamedTuple):
    batch: list[Entry]
    gen: int
    durable_sv: bytes


class CommitMixin(RoomCore):
    """The room's side of the process's :class:`~editor.collab.pipeline.CommitPipeline`."""

    _in_flight: _InFlight | None = None

    def take_batch(self) -> list[StoredUpdate] | None:
        if self.broken or not self._pending or self._in_flight is not None:
            return None
        batch = self._pending
        batch.extend(self._guard_batch())
        self._pending = []
        self._in_flight = _InFlight(batch, self._applied_gen, self.doc.get_state())
        return [StoredUpdate(e.update, e.author, e.at, e.client_ids) for e in batch]

    def committed(self, seq: int) -> None:
        flight, self._in_flight = self._in_flight, None
        if flight is None:
            raise RuntimeError(f"no batch of {self.ppa_id} in flight")
        batch, gen, durable_sv = flight
        self.last_seq = seq
        self._committed_gen = gen
        self._durable_sv = durable_sv
        committed, self._committed = self._committed, None
        seqs = (seq - len(batch) + 1, seq)
        self._after_commit(batch, gen, durable_sv, seqs)
        if self._note_seqs(*seqs):
            self._schedule_catch_up()
        if committed is not None:
            committed.set()
        if self._pending:
            self._request_commit()
        self._since_compaction += len(batch)
        if (
            self._since_compaction >= self.limits.compact_every
            and not self._compacting
            and self._spawn(self._compact)
        ):  # the task starts later: the flag is set first
            self._compacting = True
            self._compacted = anyio.Event()

    def failed(self) -> None:
        # Nothing of the failed batch was relayed or acknowledged: clients still hold it and
        # resend it when they reconnect to a freshly loaded room.
        self._in_flight = None
        self._break("Enregistrement impossible, reconnexion")

    def _after_commit(
        self, batch: list[Entry], gen: int, durable_sv: bytes, seqs: tuple[int, int]
    ) -> None:
        senders = {e.peer for e in batch}
        update = merge_many([e.update for e in batch])
        message = encode_update(update)
        # A write may integrate content of others held pending until then: the writer is spared
        # the copy only when the batch is exactly what it sent.
        exclude = batch[0].peer if len(senders) == 1 and all(e.own for e in batch) else None
        self._relay(message, exclude)
        if self._fanout is not None:
            self._fanout.publish(self.ppa_id, message, seqs)
        ack: list[bytes] = []
        for peer in self._peers:
            if peer.ack_pending and peer.ack_gen <= gen:
                peer.ack_pending = False
                self._ack(peer, durable_sv, ack)
        if self._deferred:
            ready = [d for d in self._deferred if d[0] <= gen]
            self._deferred = [d for d in self._deferred if d[0] > gen]
            for _, peer, reply in ready:
                if not peer.closed:
                    self._send_step2(peer, reply)

    async def _compact(self) -> None:
        try:
            folded = await self._store.compact(self.ppa_id)
            self._since_compaction = max(0, self._since_compaction - folded)
            log.info("collab.room.compacted ppa=%s folded=%d", self.ppa_id, folded)
        except Exception:
            log.exception("collab.room.compaction_failed ppa=%s", self.ppa_id)
        finally:
            self._compacting = False
            self._compacted.set()
