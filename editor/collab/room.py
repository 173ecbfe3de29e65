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
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, Final, NamedTuple

import anyio
from anyio.abc import TaskGroup, TaskStatus
from pycrdt import Doc, TransactionEvent, get_update

from editor.collab.awareness import Presence
from editor.collab.errors import (
    CloseCode,
    LimitExceededError,
    MalformedMessageError,
    StoreUnavailableError,
)
from editor.collab.guarding import GuardGate, codes
from editor.collab.lib0 import write_var_uint8_array
from editor.collab.ports import (
    GUARD_AUTHOR,
    Channel,
    Fanout,
    Limits,
    SchemaGuard,
    StoredUpdate,
    UpdateStore,
    WritePolicy,
)
from editor.collab.protocol import (
    AwarenessMessage,
    MessageType,
    Notice,
    NoticeCode,
    QueryAwareness,
    SyncStep1,
    SyncStep2,
    SyncUpdate,
    decode_messages,
    decode_state_vector,
    encode_awareness,
    encode_notice,
    encode_sync_step1,
    encode_update,
)
from editor.collab.served import ServedDocument
from editor.collab.updates import EMPTY_UPDATE, merge_many

log = logging.getLogger(__name__)


_MAX_BACKLOG: Final = 10_000
_MAX_HELD: Final = 256


READ_ONLY_NOTICE: Final = Notice(
    NoticeCode.READ_ONLY, "Lecture seule : vos modifications ne sont ni enregistrées ni transmises."
)
LOCKED_NOTICE: Final = Notice(NoticeCode.LOCKED, "Document verrouillé (validé) : lecture seule.")
REPAIRED_NOTICE: Final = Notice(
    NoticeCode.LAYOUT_REPAIRED,
    "Modification non conforme au schéma du document : elle a été corrigée.",
)
LAYOUT_REFUSED_NOTICE: Final = Notice(
    NoticeCode.LAYOUT_REFUSED,
    "Modification refusée : elle ne respecte pas la structure du document. Elle n'est ni "
    "enregistrée ni transmise. Rechargez la page pour continuer.",
)
"""Told to a writer whose write the schema guard refused."""
ILLEGAL_TEXT_NOTICE: Final = Notice(
    NoticeCode.ILLEGAL_TEXT,
    "Modification refusée : le texte contient un caractère interdit (caractère de contrôle, "
    "non-caractère Unicode ou demi-caractère isolé). Elle n'est ni enregistrée ni transmise. "
    "Rechargez la page pour continuer.",
)
"""Told to a writer whose write brings a character ``editor.text_rules`` refuses (the rule of
the REST inputs)."""
REFUSED_NOTICES: Final = {n.code: n for n in (LAYOUT_REFUSED_NOTICE, ILLEGAL_TEXT_NOTICE)}


class Peer:
    """The room's state of one connection."""

    __slots__ = (
        "_tokens",
        "_tokens_at",
        "ack_gen",
        "ack_pending",
        "awareness_ids",
        "backlog",
        "base_read_only",
        "channel",
        "closed",
        "last_ack",
        "policy",
        "room",
        "told_read_only",
        "user_id",
        "writes",
    )

    def __init__(
        self,
        room: Room,
        channel: Channel,
        now: float,
        burst: int,
        *,
        base_read_only: bool,
        policy: WritePolicy | None = None,
    ) -> None:
        self.room = room
        self.channel = channel
        self.user_id = channel.user_id
        self.base_read_only = base_read_only
        """Read-only whatever the lock (role, or a refused write): stays so after an unlock."""
        self.policy = policy
        self.writes = 0
        """Writes of this connection applied to the document."""
        self.awareness_ids: set[int] = set()
        self.backlog: list[bytes] | None = []
        """Relayed updates held until this connection got its sync step 2 (then ``None``), so
        that every client receives the document in causal order."""
        self.ack_gen = 0
        self.ack_pending = False
        self.last_ack = b""
        self.told_read_only = False
        self.closed = False
        self._tokens = float(burst)
        self._tokens_at = now

    @property
    def read_only(self) -> bool:
        return self.channel.read_only

    def receive(self, data: bytes) -> None:
        self.room.receive(self, data)

    def take_token(self, now: float, rate: float, burst: int) -> bool:
        tokens = min(float(burst), self._tokens + (now - self._tokens_at) * rate)
        self._tokens_at = now
        if tokens < 1.0:
            self._tokens = tokens
            return False
        self._tokens = tokens - 1.0
        return True


class _Entry(NamedTuple):
    update: bytes
    author: str
    at: datetime
    peer: Peer | None
    own: bool
    """The effective change is exactly what the peer sent (nothing of others integrated with it),
    so the peer needs no copy of it."""


class Room:
    """One PPA document being edited: the doc, its connections, presence and group commit.

    Everything runs on the event loop: :meth:`receive` is synchronous (apply, guard, queue); the
    committer task (:meth:`run`) appends each batch to the store, *then* relays it (one encoded
    message written to every connection) and acknowledges the writers.
    """

    def __init__(
        self,
        ppa_id: str,
        doc: Doc[Any],
        store: UpdateStore,
        *,
        last_seq: int = 0,
        tail_length: int = 0,
        limits: Limits | None = None,
        guard: SchemaGuard | None = None,
        fanout: Fanout | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        encoded: Sequence[bytes] = (),
    ) -> None:
        """``encoded``: updates that give ``doc`` when applied in order (what it was loaded
        from), so that the replies to clients start from them without encoding the document
        (without them, ``doc`` is encoded once here)."""
        self.ppa_id = ppa_id
        self.doc = doc
        self.limits = limits or Limits()
        self.last_seq = last_seq
        self.locked = False
        self.broken = False
        self.version = 0
        """Incremented by every transaction that changes the in-memory document."""
        self._store = store
        self._gate: GuardGate[Peer] | None = (
            None
            if guard is None
            else GuardGate(guard, lambda: self.limits.guard_interval, monotonic)
        )
        self._fanout = fanout
        self._monotonic = monotonic
        self._now = now
        self._peers: dict[Peer, None] = {}
        self._presence = Presence()
        self._pending: list[_Entry] = []
        self._deferred: list[tuple[int, Peer, list[bytes]]] = []
        self._applied_gen = 0
        self._committed_gen = 0
        self._durable_sv: bytes | None = doc.get_state()
        self._served: ServedDocument[Peer] = ServedDocument(encoded or [doc.get_update()])
        """The replies to sync step 1, encoded in a worker thread."""
        self._refreshing = False
        self._refreshed = anyio.Event()
        self._since_compaction = tail_length
        self._compacting = False
        self._compacted = anyio.Event()
        self._wake = anyio.Event()
        self._committed = anyio.Event()
        self._captured: list[bytes] | None = None
        self._held: list[tuple[bytes, str]] = []
        self._held_bytes = 0
        self._doc_bytes = len(doc.get_update())
        self._known_seq = last_seq
        """Every update stored up to this sequence number is in ``doc``."""
        self._ahead: dict[int, int] = {}
        """Ranges of sequence numbers received beyond a gap (first -> last)."""
        self._catching_up = False
        self.authors: dict[str, None] = {}
        """Who wrote to the document since the room was loaded (in order of first write)."""
        self._subscription = doc.observe(self._on_transaction)
        self._observing = True
        self._cancel: anyio.CancelScope | None = None
        self._task_group: TaskGroup | None = None

    # -- introspection -----------------------------------------------------------------------

    @property
    def peers(self) -> list[Peer]:
        return list(self._peers)

    @property
    def uncommitted(self) -> bool:
        return self._applied_gen != self._committed_gen

    @property
    def idle(self) -> bool:
        """Nothing pending, in flight, being encoded, deferred or compacting: the room may
        unload."""
        return (
            not self.uncommitted
            and not self._deferred
            and not self._compacting
            and not self._refreshing
        )

    @property
    def durable_state_vector(self) -> bytes:
        """The state vector of what is committed in the store."""
        if self._durable_sv is None:
            self._durable_sv = self.doc.get_state()
        return self._durable_sv

    # -- lifecycle ---------------------------------------------------------------------------

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """The committer: group-commits pending writes, then relays and acknowledges them."""
        if self._cancel is not None:
            raise RuntimeError("Room already running")
        with anyio.CancelScope() as scope:
            self._cancel = scope
            async with anyio.create_task_group() as tg:
                self._task_group = tg
                self._repair_loaded()
                task_status.started()
                while True:
                    await self._wake.wait()
                    self._wake = anyio.Event()
                    while self._pending and not self.broken:
                        await self._commit_pending()

    def _repair_loaded(self) -> None:
        """A document stored before its layout was enforced (or by a write that slipped by) is
        repaired as soon as it is loaded, in the first group commit."""
        entries = self._repair([])
        if entries:
            self.authors[GUARD_AUTHOR] = None
            for entry in entries:
                self._doc_bytes += len(entry.update)
            self._applied_gen += 1
            self._pending.extend(entries)
            self._wake.set()

    def stop(self) -> None:
        if self._cancel is not None:
            self._cancel.cancel()
        if self._observing:
            self._observing = False
            self.doc.unobserve(self._subscription)

    async def flush(self) -> None:
        """Wait until every write accepted so far is committed (and relayed)."""
        target = self._applied_gen
        while self._committed_gen < target and not self.broken:
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
            entries = [_Entry(captured, author, at, None, False)]
            if self._held:
                entries.extend(self._retry_held(at))
            for entry in entries:
                self._doc_bytes += len(entry.update)
            self.authors[author] = None
            self._applied_gen += 1
            self._pending.extend(entries)
            self._wake.set()
        await self.flush()
        if self.broken:
            raise StoreUnavailableError("Enregistrement impossible", CloseCode.SERVICE_RESTART)

    def close_all(self, code: int, reason: str) -> None:
        for peer in list(self._peers):
            self.leave(peer)
            peer.channel.close(code, reason)

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

    def leave(self, peer: Peer) -> None:
        if peer.closed:
            return
        peer.closed = True
        self._peers.pop(peer, None)
        gone = self._presence.remove(peer)
        if gone:
            message = encode_awareness(gone)
            self._broadcast(message, None)
            if self._fanout is not None:
                self._fanout.publish(self.ppa_id, message, None)

    def restrict(self, peer: Peer, notice: Notice) -> None:
        """Turn ``peer`` read-only for good (its rights were reduced), telling it ``notice``:
        nothing it sends from now on is applied, stored or relayed, even after an unlock."""
        peer.base_read_only = True
        peer.channel.read_only = True
        peer.told_read_only = True
        if not peer.closed:
            peer.channel.send(encode_notice(notice))

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

    def _on_sync_step1(self, peer: Peer, state_vector: bytes) -> None:
        """Answer with the whole document as of now, diffed against ``state_vector``, in one
        sync step 2 encoded in a worker thread (:class:`ServedDocument`) and sent once what it
        holds is committed (only durable content may be shown)."""
        decode_state_vector(state_vector)  # raises MalformedMessageError
        self._served.request(peer, state_vector)
        self._start_refresh()

    def _start_refresh(self) -> None:
        if not self._refreshing and self._task_group is not None:
            self._refreshing = True
            self._refreshed = anyio.Event()
            self._task_group.start_soon(self._refresh_served)

    def _send_step2(self, peer: Peer, reply: list[bytes]) -> None:
        for message in reply:
            peer.channel.send(message)
        backlog = peer.backlog
        if backlog is not None:
            peer.backlog = None
            for message in backlog:
                peer.channel.send(message)

    async def _refresh_served(self) -> None:
        """The work of :class:`ServedDocument`, one job at a time, in a worker thread; each
        reply is sent once the writes applied before its job started are committed."""
        failures = 0
        try:
            while (job := (served := self._served).next_job()) is not None:
                gen = self._applied_gen  # the job holds every transaction applied so far
                try:
                    install = await anyio.to_thread.run_sync(job)
                except Exception:
                    failures += 1
                    log.exception("collab.room.served_failed ppa=%s", self.ppa_id)
                    # The replica missed what the job held: start again from the document
                    # (encoded here, once), with the requests the job was to answer.
                    self._served = ServedDocument([self.doc.get_update()])
                    for peer, state_vector in [*served.in_flight, *served.requests]:
                        if failures > 1:
                            self._drop(peer, CloseCode.INTERNAL_ERROR, "Erreur interne")
                        else:
                            self._served.request(peer, state_vector)
                    continue
                if self._served is not served or self.broken:
                    continue
                for peer, reply in install():
                    if peer.closed:
                        continue
                    if reply is None:
                        self._drop(peer, CloseCode.MALFORMED_MESSAGE, "Vecteur d'état illisible")
                    elif self._committed_gen >= gen:
                        self._send_step2(peer, [reply])
                    else:
                        self._deferred.append((gen, peer, [reply]))
        finally:
            self._refreshing = False
            self._refreshed.set()

    def _drop(self, peer: Peer, code: int, reason: str) -> None:
        self.leave(peer)
        peer.channel.close(code, reason)

    def _on_write(self, peer: Peer, update: bytes) -> None:
        if update == EMPTY_UPDATE:
            return
        if peer.channel.read_only:
            if not peer.told_read_only:
                peer.told_read_only = True
                peer.channel.send(encode_notice(LOCKED_NOTICE if self.locked else READ_ONLY_NOTICE))
            return
        limits = self.limits
        if not peer.take_token(self._monotonic(), limits.updates_per_second, limits.update_burst):
            raise LimitExceededError("Trop de modifications par seconde", CloseCode.RATE_LIMITED)
        if self._doc_bytes + len(update) > limits.max_document_bytes:
            self._doc_bytes = len(self.doc.get_update())
            if self._doc_bytes + len(update) > limits.max_document_bytes:
                raise LimitExceededError("Document trop volumineux", CloseCode.DOCUMENT_TOO_LARGE)
        if peer.policy is not None:
            refusal = peer.policy.refuse(self, update)
            if refusal is not None:
                peer.base_read_only = True
                peer.channel.read_only = True
                peer.told_read_only = True
                peer.channel.send(encode_notice(refusal))
                log.warning("collab.write.refused ppa=%s user=%s", self.ppa_id, peer.user_id)
                return
        text_edit = False
        if self._gate is not None:
            verdict = self._gate.judge(self.doc, update)
            if verdict.refused is not None:
                self.restrict(peer, REFUSED_NOTICES[verdict.refused])
                log.warning(
                    "collab.write.refused ppa=%s user=%s code=%s problems=%s",
                    self.ppa_id,
                    peer.user_id,
                    verdict.refused,
                    verdict.problems,
                )
                return
            text_edit = verdict.text_edit
        if not self.uncommitted and self._durable_sv is None:
            self._durable_sv = self.doc.get_state()
        captured = self._apply(update)
        if captured is None:
            # Nothing new: a duplicate (e.g. resent after a reconnection while the original is
            # still being committed) or content whose dependencies are missing (kept pending;
            # the durable state vector does not cover it, so the client resends it).
            self._hold_if_pending(peer, update)
            if self.uncommitted:
                peer.ack_gen = self._applied_gen
                peer.ack_pending = True
            else:
                self._ack(peer, self.durable_state_vector, None)
            return
        peer.writes += 1
        self.authors[peer.user_id] = None
        at = self._now()
        own = captured == update
        entries = [_Entry(captured, peer.user_id, at, peer, own)]
        if self._held:
            entries.extend(self._retry_held(at))
        if not own:  # the very bytes sent were integrated: nothing of it can be pending
            self._hold_if_pending(peer, update)
        for entry in entries:
            self._doc_bytes += len(entry.update)
        if self._gate is not None:
            self._gate.applied(peer, text_edit=text_edit, exact=own and len(entries) == 1)
        self._applied_gen += 1
        self._pending.extend(entries)
        peer.ack_gen = self._applied_gen
        peer.ack_pending = True
        self._wake.set()

    def _hold_if_pending(self, peer: Peer, update: bytes) -> None:
        # yrs (pycrdt 0.14) sometimes leaves pending structs unintegrated when their
        # dependencies arrive in a later update, where Yjs integrates them (see
        # tests/collab/test_upstream.py). Keep such updates (bounded) and apply them again after
        # the next write that integrates something.
        try:
            missing = get_update(update, self.doc.get_state())
        except ValueError:
            return
        if missing[:1] == b"\x00":
            return  # every struct is known: a duplicate
        self._held.append((update, peer.user_id))
        self._held_bytes += len(update)
        while self._held and (
            len(self._held) > _MAX_HELD or self._held_bytes > self.limits.max_message_bytes * 4
        ):
            dropped, _ = self._held.pop(0)
            self._held_bytes -= len(dropped)

    def _retry_held(self, at: datetime) -> list[_Entry]:
        held, self._held, self._held_bytes = self._held, [], 0
        entries: list[_Entry] = []
        for update, author in held:
            captured = self._apply(update)
            if captured is not None:
                entries.append(_Entry(captured, author, at, None, False))
            else:
                missing = get_update(update, self.doc.get_state())
                if missing[:1] != b"\x00":
                    self._held.append((update, author))
                    self._held_bytes += len(update)
        if entries:
            log.info("collab.room.pending_integrated ppa=%s count=%d", self.ppa_id, len(entries))
            if self._gate is not None:  # never judged as they are now: check at this commit
                self._gate.applied(None, text_edit=False, exact=False)
        return entries

    def _guard_batch(self) -> list[_Entry]:
        """The full check when one is due (:class:`GuardGate`), repaired in the same group
        commit, so that only the repaired document is ever relayed or stored."""
        if self._gate is None:
            return []
        writers = self._gate.due()
        return [] if writers is None else self._repair(writers)

    def _repair(self, writers: list[Peer]) -> list[_Entry]:
        """Check the whole document; repair it with a compensating update (author
        :data:`GUARD_AUTHOR`), telling ``writers``; returns its entries."""
        if self._gate is None:
            return []
        guard = self._gate.guard
        violations = guard.check(self.doc)
        if not violations:
            return []
        log.warning(
            "collab.guard.violation ppa=%s writers=%s count=%d problems=%s",
            self.ppa_id,
            ",".join(p.user_id for p in writers),
            len(violations),
            codes(violations),
        )
        repair = guard.repair(self.doc)
        captured = None
        if repair is not None:
            try:
                captured = self._apply(repair)
            except MalformedMessageError:  # the room broke (a panic): it reloads from the store
                log.error("collab.guard.repair_refused ppa=%s", self.ppa_id)
        remaining = guard.check(self.doc)
        if remaining:
            log.error(
                "collab.guard.unrepaired ppa=%s count=%d problems=%s",
                self.ppa_id,
                len(remaining),
                codes(remaining),
            )
        notice = encode_notice(REPAIRED_NOTICE)
        for peer in writers:
            if not peer.closed:
                peer.channel.send(notice)
        if captured is None:
            return []
        return [_Entry(captured, GUARD_AUTHOR, self._now(), None, False)]

    def _apply(self, update: bytes) -> bytes | None:
        captured: list[bytes] = []
        self._captured = captured
        try:
            self.doc.apply_update(update)
        except ValueError as exc:
            raise MalformedMessageError("Mise à jour illisible") from exc
        except BaseException as exc:
            if type(exc).__name__ != "PanicException":
                raise
            # The CRDT core panicked mid-transaction: the in-memory doc can no longer be trusted.
            # Drop the room; it reloads from the durable store (nothing non-durable was shown).
            log.error("collab.room.panic ppa=%s", self.ppa_id)
            self._break("Erreur interne du document, reconnexion")
            raise MalformedMessageError("Mise à jour illisible") from None
        finally:
            self._captured = None
        if not captured:
            return None
        return merge_many(captured)

    def _on_transaction(self, event: TransactionEvent) -> None:
        self.version += 1
        update = event.update
        if self._captured is not None:
            self._captured.append(update)
        served = self._served
        served.note(update)
        if served.due:
            self._start_refresh()

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

    # -- outbound ----------------------------------------------------------------------------

    def _broadcast(self, message: bytes, exclude: Peer | None) -> None:
        for peer in self._peers:
            if peer is not exclude:
                peer.channel.send(message)

    def _relay(self, message: bytes, exclude: Peer | None) -> None:
        for peer in self._peers:
            if peer is exclude:
                continue
            backlog = peer.backlog
            if backlog is None:
                peer.channel.send(message)
            elif len(backlog) < _MAX_BACKLOG:
                backlog.append(message)
            else:  # a client that never asks for the document: stop holding relays for it
                peer.backlog = None
                for held in backlog:
                    peer.channel.send(held)
                peer.channel.send(message)

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
        self, batch: list[_Entry], gen: int, durable_sv: bytes, seqs: tuple[int, int]
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

    def _ack(self, peer: Peer, durable_sv: bytes, encoded: list[bytes] | None) -> None:
        """Send ``durable_sv`` (as a sync step 1) unless this peer was last told exactly that:
        a client answers a step 1 with a step 2, which must not start a ping-pong."""
        if peer.last_ack == durable_sv:
            return
        peer.last_ack = durable_sv
        if encoded is None:
            peer.channel.send(encode_sync_step1(durable_sv))
            return
        if not encoded:
            encoded.append(encode_sync_step1(durable_sv))
        peer.channel.send(encoded[0])

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

    def _break(self, reason: str) -> None:
        self.broken = True
        self._pending = []
        self._deferred = []
        self._committed_gen = self._applied_gen
        self._committed.set()
        self.close_all(CloseCode.INTERNAL_ERROR, reason)
