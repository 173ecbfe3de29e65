"""What the room needs from the outside: connections, the update log, the schema guard,
the other server processes, write policies, and its limits."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final, NamedTuple, Protocol

from pycrdt import Doc

from editor.collab.protocol import Notice

if TYPE_CHECKING:
    from editor.collab.room import Room


GUARD_AUTHOR: Final = "system:schema-guard"
"""Author recorded for the compensating changes written by the schema guard."""

ILLEGAL_CHARACTER: Final = "illegal_character"
"""Violation code (``<where>:illegal_character``) of a string a person may not write."""
UNREADABLE: Final = "unreadable"
"""Violation code of a write whose result the guard could not read at all."""


class Channel(Protocol):
    """One client connection, as the room sees it.

    ``send`` and ``close`` must not block: queue the bytes (or the close) and return. The room
    sends the very same ``bytes`` object to every recipient of a broadcast.
    """

    @property
    def user_id(self) -> str: ...

    read_only: bool

    def send(self, message: bytes) -> None: ...

    def close(self, code: int, reason: str) -> None: ...


class StoredUpdate(NamedTuple):
    update: bytes
    author: str
    at: datetime
    client_ids: str | None = None
    """The update's client ids as the store keeps them
    (:func:`~editor.collab.updates.client_ids_text`) when the room already read them (the guard's
    scan of a text edit); ``None``: the store reads them."""


class LoadedDocument(NamedTuple):
    state: bytes | None
    """The folded state (``None`` for a document never compacted)."""
    updates: Sequence[bytes]
    """The log tail after the folded state, in commit order."""
    last_seq: int
    locked: bool = False
    """The document is locked (validated): its room starts read-only for every connection."""


class UpdateStore(Protocol):
    """The durable update log of the PPA documents.

    ``append`` returns once the updates are committed (durable); it returns the sequence number of
    the last one. Sequence numbers of a document are contiguous (the batch of ``n`` updates that
    returns ``s`` holds ``s - n + 1 .. s``), also across server processes. ``compact`` folds the
    log into the stored state (:func:`fold_updates`) and must keep, per update, its author and
    time; it returns the number of updates folded. The rooms of a process store their writes
    through :meth:`append_many` (:class:`~editor.collab.pipeline.CommitPipeline`).
    """

    async def load(self, ppa_id: str) -> LoadedDocument: ...

    async def append(self, ppa_id: str, updates: Sequence[StoredUpdate]) -> int: ...

    async def append_many(self, batches: Sequence[tuple[str, Sequence[StoredUpdate]]]) -> list[int]:
        """Append the batches of several documents (each document at most once, each batch
        non-empty) in **one** transaction: all are durable or none is. Returns the sequence number
        of each batch's last update, in order."""
        ...

    async def compact(self, ppa_id: str) -> int: ...


class SchemaGuard(Protocol):
    """Judges writes against the documented layout of the document, and repairs a document.

    Violations are ``<path>:<code>`` strings (never content). ``text_roots``: roots that are
    plain ``Text``, so that typing into them is known harmless.
    """

    text_roots: frozenset[str]

    def check_update(self, doc: Doc[Any], update: bytes) -> Sequence[str]:
        """The violations ``update`` would bring to ``doc`` (empty: accept it); ``doc`` is not
        modified. Raises :class:`~editor.collab.errors.MalformedMessageError` for bytes that are not
        an update."""
        ...

    def check_strings(self, strings: Iterable[str]) -> Sequence[str]:
        """The violations of the characters a text-only write inserts (empty: accept them)."""
        ...

    def check(self, doc: Doc[Any]) -> Sequence[str]:
        """The violations of ``doc`` (empty when the layout is sound)."""
        ...

    def repair(self, doc: Doc[Any]) -> bytes | None:
        """The update that restores the layout (computed without touching ``doc``: the room
        applies it), or ``None`` when there is nothing to repair."""
        ...


class Fanout(Protocol):
    """Shares a room with the other server processes serving the same document (Redis).

    ``publish`` sends what a room relays: committed updates (with the sequence numbers they were
    stored under, so that a process missing some notices the gap and reads them from the store)
    and awareness messages; never sync step 2 replies, which are one client's view. ``subscribe``
    starts receiving a document's messages (called before the room is loaded from the store, so
    that nothing committed meanwhile is missed: what arrives early is held), ``attach`` hands
    them to the loaded room (:meth:`Room.receive_remote`), ``unsubscribe`` stops (subscriptions
    are counted).
    """

    def publish(self, ppa_id: str, message: bytes, seqs: tuple[int, int] | None) -> None: ...

    async def subscribe(self, ppa_id: str) -> None: ...

    def attach(self, room: Room) -> None: ...

    async def unsubscribe(self, ppa_id: str) -> None: ...


class WritePolicy(Protocol):
    """Decides, per connection, whether a write may be applied (e.g. a person who may only write
    their own fields). It sees the room (``room.doc`` before the write, ``room.version``) and the
    update; it must not change the document. A refused write is neither applied, stored nor
    relayed, and the connection turns read-only (its later updates could not be integrated
    anyway: they build on the refused one).
    """

    def refuse(self, room: Room, update: bytes) -> Notice | None:
        """``None`` to accept, or the notice (its message shown to the writer) to refuse."""
        ...


@dataclass(frozen=True, slots=True)
class Limits:
    max_message_bytes: int = 2 * 1024 * 1024
    max_document_bytes: int = 32 * 1024 * 1024
    max_connections_per_document: int = 256
    max_connections_per_user: int = 32
    updates_per_second: float = 60.0
    update_burst: int = 600
    read_only_presence: bool = False
    """Relay the presence (awareness) of read-only connections (off: nothing of theirs is)."""
    compact_every: int = 1000
    """Fold the log once this many updates were appended since the last compaction."""
    unload_after: float = 30.0
    """Seconds an empty, fully committed room stays loaded."""
    store_retries: int = 5
    commit_gather: float = 0.002
    """Seconds a group commit waits for more rooms' writes when the process is under load
    (:class:`~editor.collab.pipeline.CommitPipeline`); 0: never."""
    guard_interval: float = 10.0
    """Seconds between full layout checks while only text edits arrive (which skip the check)."""
