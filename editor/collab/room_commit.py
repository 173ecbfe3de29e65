"""A room's durable commit pipeline: append the pending batch to the store, *then* relay it and
acknowledge its writers; compaction."""

from __future__ import annotations

import logging

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


class CommitMixin(RoomCore):
    async def _commit_pending(self) -> None:
        batch = self._pending
        batch.extend(self._guard_batch())
        self._pending = []
        gen = self._applied_gen
        durable_sv = self.doc.get_state()
        stored = [StoredUpdate(e.update, e.author, e.at) for e in batch]
        seq = await self._append(stored)
        if seq is None:
            return
        self.last_seq = seq
        self._committed_gen = gen
        self._durable_sv = durable_sv
        committed = self._committed
        self._committed = anyio.Event()
        seqs = (seq - len(stored) + 1, seq)
        self._after_commit(batch, gen, durable_sv, seqs)
        if self._note_seqs(*seqs):
            self._schedule_catch_up()
        committed.set()
        self._since_compaction += len(batch)
        if (
            self._since_compaction >= self.limits.compact_every
            and not self._compacting
            and self._task_group is not None
        ):
            self._compacting = True
            self._compacted = anyio.Event()
            self._task_group.start_soon(self._compact)

    async def _append(self, stored: list[StoredUpdate]) -> int | None:
        delay = 0.05
        for attempt in range(1, self.limits.store_retries + 1):
            try:
                return await self._store.append(self.ppa_id, stored)
            except Exception:
                log.exception("collab.store.append_failed ppa=%s attempt=%d", self.ppa_id, attempt)
                if attempt == self.limits.store_retries:
                    break
                await anyio.sleep(delay)
                delay *= 2
        # Nothing of the failed batch was relayed or acknowledged: clients still hold it and
        # resend it when they reconnect to a freshly loaded room.
        self._break("Enregistrement impossible, reconnexion")
        return None

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
