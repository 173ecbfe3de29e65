"""The framework-free collaboration room of a document.

What the server tells a client, using only messages that every stock ``y-websocket`` client
(1.x to 3.x, and 4.0's multi-message frames) handles without an error:

* **Durably stored ("Enregistré")**: after the update log commit that holds the last write of a
  connection, the server sends that connection a *sync step 1* carrying the state vector of the
  durable document (``encode_sync_step1(durable_sv)``). A stock client answers it with a sync step
  2 of whatever it has that the durable state lacks (usually an empty update, 2 bytes); the
  browser editor peeks at step 1 messages (wrap ``provider.messageHandlers[0]``) and shows
  "Enregistré" when ``durable_sv[doc.clientID] >= local clock``. The same comparison is valid right
  after a (re)connection, since the first step 1 a connection receives also carries the durable
  state vector. Nothing a client receives (relayed updates, sync step 2 replies) is ever
  non-durable: relays and step 2 replies are sent only once the content they hold is committed.
* **Read-only / locked / write refused or corrected**: an AUTH *permission denied* message whose
  reason is a :class:`Notice` (a code and a French message; stock clients log it with
  ``console.warn``; the editor registers its own ``provider.messageHandlers[2]`` and decides on
  the code). A read-only connection is told once when it joins, when the room is locked, and on
  its first refused write; its updates are neither applied, stored nor relayed.

Schema guard (:class:`SchemaGuard`; the PPA's is :class:`editor.layout_guard.LayoutGuard`): a
write the document's layout does not allow is *refused*, never half-accepted. Each write is judged
before it touches the document (:class:`~editor.collab.guarding.GuardGate`): one that only
inserts characters into existing texts or deletes (:func:`text_edit_strings`, a scan of the update
bytes) by the characters it inserts; any other by applying it to a scratch copy of the document
and judging the result with the rule the readers apply (about 2 ms for a usual PPA, 15 ms for a
40-objective one: ``bench/bench_guard.py``). A refused write is neither applied, stored nor
relayed; the writer is told (AUTH message, :data:`LAYOUT_REFUSED_NOTICE` or
:data:`ILLEGAL_TEXT_NOTICE`) and its connection turns read-only for good: its replica holds the
change and its later writes build on it (same client, next clocks), so none of them could be
integrated; reloading the page starts a fresh replica (the browser editor never writes such
changes). What cannot be judged exactly is checked in full later and *repaired* by a compensating
update (author :data:`GUARD_AUTHOR`): in the very group commit that holds it for content
integrated after it was judged (pending structs whose dependencies arrived) and for a document
loaded broken (stored before the layout was enforced), so that nobody sees it; within
``Limits.guard_interval`` seconds after text-only writes (a crafted delete of an ``id`` key looks
like one; readers leave such content out meanwhile).

The log stores the *effective* change of each write (the transaction's update as pycrdt emits it:
duplicates and already-known content cost nothing and are never stored twice), with its author
and time. Compaction (:func:`fold_updates`, called by the store) folds the log into the stored
state; the store keeps each update's author, time and client ids for the versions issue.
"""

from __future__ import annotations

import logging

import anyio
from anyio.abc import TaskGroup, TaskStatus

from editor.collab.errors import (
    CloseCode,
    LimitExceededError,
    StoreUnavailableError,
)
from editor.collab.lib0 import write_var_uint8_array
from editor.collab.peers import (
    ILLEGAL_TEXT_NOTICE,
    LAYOUT_REFUSED_NOTICE,
    LOCKED_NOTICE,
    READ_ONLY_NOTICE,
    REFUSED_NOTICES,
    REPAIRED_NOTICE,
    Entry,
    Peer,
)
from editor.collab.pipeline import CommitPipeline
from editor.collab.ports import (
    Channel,
    WritePolicy,
)
from editor.collab.protocol import (
    AwarenessMessage,
    MessageType,
    Notice,
    QueryAwareness,
    SyncStep1,
    SyncStep2,
    SyncUpdate,
    decode_messages,
    encode_awareness,
    encode_notice,
    encode_sync_step1,
)
from editor.collab.room_commit import CommitMixin
from editor.collab.room_remote import RemoteMixin
from editor.collab.room_serving import ServingMixin
from editor.collab.room_writes import WritesMixin

log = logging.getLogger(__name__)

__all__ = [
    "ILLEGAL_TEXT_NOTICE",
    "LAYOUT_REFUSED_NOTICE",
    "LOCKED_NOTICE",
    "READ_ONLY_NOTICE",
    "REFUSED_NOTICES",
    "REPAIRED_NOTICE",
    "Peer",
    "Room",
]


class Room(WritesMixin, CommitMixin, RemoteMixin, ServingMixin):
    """One PPA document being edited: the doc, its connections, presence and group commit.

    Everything runs on the event loop: :meth:`receive` is synchronous (apply, guard, queue); the
    process's :class:`~editor.collab.pipeline.CommitPipeline` appends each batch to the store (in
    one transaction with the other rooms' batches), *then* the room relays it (one encoded message
    written to every connection) and acknowledges the writers. The room has no task of its own.
    """

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self, task_group: TaskGroup, pipeline: CommitPipeline) -> None:
        """Serve the room: its short tasks run in ``task_group``, its writes are stored by
        ``pipeline`` (the process's, shared by every room). No task of its own."""
        if self._task_group is not None:
            raise RuntimeError("Room already running")
        self._task_group = task_group
        self._pipeline = pipeline
        self._repair_loaded()

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Serve the room alone, with a commit pipeline of its own (tests, tools); the room
        manager uses :meth:`start` instead."""
        async with anyio.create_task_group() as tg:
            pipeline = CommitPipeline(
                self._store, retries=self.limits.store_retries, gather=self.limits.commit_gather
            )
            await tg.start(pipeline.run)
            self.start(tg, pipeline)
            task_status.started()
            await anyio.sleep_forever()

    def stop(self) -> None:
        self._stopped = True
        for scope in list(self._scopes):
            scope.cancel()
        if self._observing:
            self._observing = False
            self.doc.unobserve(self._subscription)

    async def flush(self) -> None:
        """Wait until every write accepted so far is committed (and relayed)."""
        target = self._applied_gen
        while self._committed_gen < target and not self.broken:
            if self._committed is None:
                self._committed = anyio.Event()
            await self._committed.wait()

    async def settle(self) -> None:
        """Wait until the room is idle (committed, replies sent, no compaction running)."""
        while not self.idle and not self.broken:
            await self.flush()
            if self._compacting:
                await self._compacted.wait()
            if self._refreshing:
                await self._refreshed.wait()

    async def lock(self, notice: Notice = LOCKED_NOTICE) -> None:
        """Turn every live connection (and every future one) read-only, then flush."""
        if not self.locked:
            self.locked = True
            message = encode_notice(notice)
            for peer in self._peers:
                peer.channel.read_only = True
                peer.told_read_only = True
                peer.channel.send(message)
            log.info("collab.room.locked ppa=%s connections=%d", self.ppa_id, len(self._peers))
        await self.flush()

    def unlock(self) -> None:
        """Give writers back their rights. Each is sent the durable state vector (a sync step 1):
        its client answers with what it holds that the room lacks (what it typed while locked),
        without which none of its later writes could be integrated."""
        if not self.locked:
            return
        self.locked = False
        durable_sv = self.durable_state_vector
        for peer in self._peers:
            if peer.base_read_only:
                continue
            peer.channel.read_only = False
            peer.told_read_only = False
            peer.last_ack = b""
            self._ack(peer, durable_sv, None)
        log.info("collab.room.unlocked ppa=%s connections=%d", self.ppa_id, len(self._peers))

    async def write(self, update: bytes, author: str) -> None:
        """Apply a server-made update (a restore, an avenant's content): stored under ``author``,
        relayed to every connection; also on a locked room. Returns once it is durable."""
        if self.broken:
            raise StoreUnavailableError(
                "Document indisponible, réessayez", CloseCode.SERVICE_RESTART
            )
        captured = self._apply(update)
        if captured is not None:
            if captured != update and self._gate is not None:
                self._gate.applied(None, text_edit=False, exact=False)  # held content came in
            at = self._now()
            entries = [Entry(captured, author, at, None, False)]
            if self._held:
                entries.extend(self._retry_held(at))
            for entry in entries:
                self._doc_bytes += len(entry.update)
            self.authors[author] = None
            self._applied_gen += 1
            self._pending.extend(entries)
            self._request_commit()
        await self.flush()
        if self.broken:
            raise StoreUnavailableError("Enregistrement impossible", CloseCode.SERVICE_RESTART)

    # -- connections -------------------------------------------------------------------------

    def join(self, channel: Channel, policy: WritePolicy | None = None) -> Peer:
        if self.broken:
            raise StoreUnavailableError(
                "Document indisponible, réessayez", CloseCode.SERVICE_RESTART
            )
        if len(self._peers) >= self.limits.max_connections_per_document:
            raise LimitExceededError(
                "Trop de connexions sur ce document", CloseCode.TOO_MANY_DOCUMENT_CONNECTIONS
            )
        base_read_only = channel.read_only
        if self.locked:
            channel.read_only = True
        peer = Peer(
            self,
            channel,
            self._monotonic(),
            self.limits.update_burst,
            base_read_only=base_read_only,
            policy=policy,
        )
        self._peers[peer] = None
        peer.last_ack = self.durable_state_vector
        channel.send(encode_sync_step1(peer.last_ack))
        states = self._presence.entries(self._monotonic())
        if states:
            channel.send(encode_awareness(states))
        if channel.read_only:
            peer.told_read_only = True
            channel.send(encode_notice(LOCKED_NOTICE if self.locked else READ_ONLY_NOTICE))
        return peer

    # -- inbound -----------------------------------------------------------------------------

    def receive(self, peer: Peer, data: bytes) -> None:
        """Handle one frame from ``peer``. Raises :class:`SyncError` (the caller closes)."""
        if peer.closed:
            return
        if len(data) > self.limits.max_message_bytes:
            raise LimitExceededError("Message trop volumineux", CloseCode.MESSAGE_TOO_LARGE)
        for message in decode_messages(data):
            if peer.closed:
                return
            if isinstance(message, SyncUpdate | SyncStep2):
                self._on_write(peer, message.update)
            elif isinstance(message, SyncStep1):
                self._on_sync_step1(peer, message.state_vector)
            elif isinstance(message, AwarenessMessage):
                self._on_awareness(peer, message)
            elif isinstance(message, QueryAwareness):
                peer.channel.send(encode_awareness(self._presence.entries(self._monotonic())))
            # AUTH from a client and unknown types are ignored.

    def _on_awareness(self, peer: Peer, message: AwarenessMessage) -> None:
        if peer.channel.read_only and not self.limits.read_only_presence:
            return
        accepted = self._presence.accept(peer, message.entries)
        if not accepted:
            return
        if len(accepted) == len(message.entries):
            relayed = bytes([MessageType.AWARENESS]) + write_var_uint8_array(message.payload)
        else:
            relayed = encode_awareness(accepted)
        self._broadcast(relayed, peer)
        if self._fanout is not None:
            self._fanout.publish(self.ppa_id, relayed, None)
