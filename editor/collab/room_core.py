"""The state every part of a room shares: the document, its connections, what is pending and
what is durable, and how messages go out (:class:`RoomCore`); the parts are mixins of it."""

from __future__ import annotations

import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any, Final

import anyio
from anyio.abc import TaskGroup
from pycrdt import Doc, TransactionEvent

from editor.collab.awareness import Presence
from editor.collab.errors import (
    CloseCode,
    MalformedMessageError,
)
from editor.collab.guarding import GuardGate
from editor.collab.peers import Entry, Peer
from editor.collab.pipeline import CommitPipeline
from editor.collab.ports import (
    Fanout,
    Limits,
    SchemaGuard,
    StoredUpdate,
    UpdateStore,
)
from editor.collab.protocol import (
    Notice,
    encode_awareness,
    encode_notice,
    encode_sync_step1,
)
from editor.collab.served import ServedDocument
from editor.collab.updates import merge_many

log = logging.getLogger(__name__)


_MAX_BACKLOG: Final = 10_000


class RoomCore(ABC):
    """The state a room's parts share, and how messages go out.

    The parts (:class:`~editor.collab.room.Room` combines them) are mixins of it: writes
    (``room_writes``), the durable commit (``room_commit``), other processes (``room_remote``)
    and late joiners (``room_serving``); what one part needs of another is an abstract hook below.
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
        self._pending: list[Entry] = []
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
        self._committed: anyio.Event | None = None
        """Set at the next commit (or break); created by the first waiter (:meth:`flush`), so
        that a commit nobody waits for creates no event."""
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
        self._task_group: TaskGroup | None = None
        """Where the room's short tasks run (encoding replies, compaction, catch-up): the room
        manager's; an idle room has none."""
        self._pipeline: CommitPipeline | None = None
        self._scopes: set[anyio.CancelScope] = set()
        self._stopped = False

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

    def close_all(self, code: int, reason: str) -> None:
        for peer in list(self._peers):
            self.leave(peer)
            peer.channel.close(code, reason)

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

    def _drop(self, peer: Peer, code: int, reason: str) -> None:
        self.leave(peer)
        peer.channel.close(code, reason)

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

    def _send_step2(self, peer: Peer, reply: list[bytes]) -> None:
        for message in reply:
            peer.channel.send(message)
        backlog = peer.backlog
        if backlog is not None:
            peer.backlog = None
            for message in backlog:
                peer.channel.send(message)

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

    def _break(self, reason: str) -> None:
        self.broken = True
        self._pending = []
        self._deferred = []
        self._committed_gen = self._applied_gen
        committed, self._committed = self._committed, None
        if committed is not None:
            committed.set()
        self.close_all(CloseCode.INTERNAL_ERROR, reason)

    # -- tasks and commits -------------------------------------------------------------------

    def _spawn(self, work: Callable[[], Awaitable[None]]) -> bool:
        """Run ``work`` in the room's task group (cancelled by :meth:`stop`); returns whether
        it was started."""
        if self._task_group is None or self._stopped:
            return False
        self._task_group.start_soon(self._scoped, work)
        return True

    async def _scoped(self, work: Callable[[], Awaitable[None]]) -> None:
        with anyio.CancelScope() as scope:
            if self._stopped:
                scope.cancel()  # still entered, so that its ``finally`` clauses run
            self._scopes.add(scope)
            try:
                await work()
            finally:
                self._scopes.discard(scope)

    def _request_commit(self) -> None:
        """The room has pending writes: they go in the pipeline's next transaction."""
        if self._pipeline is not None:
            self._pipeline.submit(self)

    # -- the other parts' hooks ----------------------------------------------------------------

    @abstractmethod
    def take_batch(self) -> list[StoredUpdate] | None: ...

    @abstractmethod
    def committed(self, seq: int) -> None: ...

    @abstractmethod
    def failed(self) -> None: ...

    @abstractmethod
    def _start_refresh(self) -> None: ...

    @abstractmethod
    def _guard_batch(self) -> list[Entry]: ...

    @abstractmethod
    def _note_seqs(self, first: int, last: int) -> bool: ...

    @abstractmethod
    def _schedule_catch_up(self) -> None: ...
