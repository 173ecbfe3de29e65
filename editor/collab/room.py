"""y-websocket protocol and the framework-free collaboration room of a PPA.

Wire protocol (what a stock ``y-websocket`` ``WebsocketProvider`` speaks; lib0 encoding)::

    frame        := message*                       (stock clients send one message per frame)
    message      := varUint(type) payload
    SYNC (0)     := varUint(0 step1) varUint8Array(state vector)
                  | varUint(1 step2) varUint8Array(update)
                  | varUint(2 update) varUint8Array(update)
    AWARENESS(1) := varUint8Array(varUint(n) (varUint(client) varUint(clock) varString(json))^n)
    AUTH (2)     := varUint(0 permission denied) varString(reason)       (server -> client only)
    QUERY_AWARENESS (3) := (empty)

Unknown message types are ignored (the rest of the frame is skipped since its length is unknown).
A malformed message raises :class:`MalformedMessage` *before* anything of its frame is applied,
so the document stays byte-identical; the server closes the socket with ``error.code`` and
``error.reason``. Limits raise :class:`LimitExceeded`, with their own close codes
(:class:`CloseCode`).

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
* **Read-only / locked / write corrected**: an AUTH *permission denied* message whose reason is a
  French sentence (stock clients log it with ``console.warn``; the editor can register its own
  ``provider.messageHandlers[2]``). A read-only connection is told once when it joins, when the
  room is locked, and on its first refused write; its updates are neither applied, stored nor
  relayed.

Schema guard (:class:`LayoutGuard`, on :func:`editor.crdt.check_layout`): writes are *repaired*,
not rejected. A full layout check costs milliseconds (3 ms for a usual PPA, 23 ms for a 40-objective
one), so it runs once per group commit, and only when the batch holds a structural write: a write
that only inserts characters into existing texts or deletes (:func:`is_text_edit`, a scan of the
update bytes) skips it, and a full check still runs every ``Limits.guard_interval`` seconds while
only such writes arrive (a crafted delete of an ``id`` key would otherwise slip by). A violation is
repaired by a compensating server transaction (author :data:`GUARD_AUTHOR`) committed in the same
group commit as the faulty write, and only the merged result is relayed, so no other client and no
projection ever sees the broken layout; the writer is told (AUTH message). Rejecting instead is not
possible with a CRDT: the writer's replica already holds the change and would resend it on every
reconnection, and its later edits that build on it could never be integrated by the server.

The log stores the *effective* change of each write (the transaction's update as pycrdt emits it:
duplicates and already-known content cost nothing and are never stored twice), with its author
and time. Compaction (:func:`fold_updates`, called by the store) folds the log into the stored
state; the store keeps each update's author, time and client ids for the versions issue.
"""

from __future__ import annotations

import functools
import json
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import IntEnum
from typing import Any, Final, NamedTuple, Protocol, TypeAlias

import anyio
from anyio.abc import TaskGroup, TaskStatus
from pycrdt import Array, Doc, Map, Text, TransactionEvent, get_update, merge_updates

log = logging.getLogger(__name__)

__all__ = [
    "EMPTY_UPDATE",
    "GUARD_AUTHOR",
    "AuthMessage",
    "AwarenessEntry",
    "AwarenessMessage",
    "Channel",
    "ClockRange",
    "CloseCode",
    "Decoder",
    "Fanout",
    "LayoutGuard",
    "LimitExceeded",
    "Limits",
    "LoadedDocument",
    "MalformedMessage",
    "Message",
    "MessageType",
    "Peer",
    "QueryAwareness",
    "Room",
    "RoomManager",
    "SchemaGuard",
    "ServedDocument",
    "SessionEnd",
    "StoreUnavailable",
    "StoredUpdate",
    "SyncError",
    "SyncMessageType",
    "SyncStep1",
    "SyncStep2",
    "SyncUpdate",
    "UnknownMessage",
    "UpdateStore",
    "WritePolicy",
    "decode_awareness",
    "decode_messages",
    "decode_state_vector",
    "encode_awareness",
    "encode_permission_denied",
    "encode_query_awareness",
    "encode_sync_step1",
    "encode_sync_step2",
    "encode_update",
    "fold_updates",
    "is_text_edit",
    "merge_many",
    "update_clients",
    "update_ranges",
    "write_var_string",
    "write_var_uint",
    "write_var_uint8_array",
]

EMPTY_UPDATE: Final = b"\x00\x00"
"""A Yjs update with no struct and no deletion (what a client sends when it has nothing new)."""

EMPTY_STATE_VECTOR: Final = b"\x00"

GUARD_AUTHOR: Final = "system:schema-guard"
"""Author recorded for the compensating changes written by the schema guard."""

_MAX_SAFE_INTEGER: Final = 2**53 - 1  # lib0 numbers are JavaScript numbers
_MAX_BACKLOG: Final = 10_000
_MAX_HELD: Final = 256
_REENCODE_MAX_BYTES: Final = 1 << 18
"""Largest document (as last encoded) that the room encodes again on the event loop to drop the
deleted content its served base accumulated (a few milliseconds)."""


# --------------------------------------------------------------------------------------------
# Errors and close codes


class CloseCode(IntEnum):
    """WebSocket close codes used by the collaboration endpoint."""

    GOING_AWAY = 1001
    INTERNAL_ERROR = 1011
    SERVICE_RESTART = 1012
    MALFORMED_MESSAGE = 4400
    UNAUTHENTICATED = 4401
    FORBIDDEN = 4403
    UNKNOWN_DOCUMENT = 4404
    SLOW_CONSUMER = 4408
    MESSAGE_TOO_LARGE = 4413
    RATE_LIMITED = 4429
    TOO_MANY_USER_CONNECTIONS = 4430
    TOO_MANY_DOCUMENT_CONNECTIONS = 4431
    DOCUMENT_TOO_LARGE = 4507


class SyncError(Exception):
    """A connection-level failure; the server closes the socket with ``code`` and ``reason``."""

    code: CloseCode = CloseCode.INTERNAL_ERROR

    def __init__(self, reason: str, code: CloseCode | None = None) -> None:
        super().__init__(reason)
        if code is not None:
            self.code = code
        self.reason = reason

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={int(self.code)}, reason={self.reason!r})"


class MalformedMessage(SyncError):
    code = CloseCode.MALFORMED_MESSAGE


class LimitExceeded(SyncError):
    pass


class StoreUnavailable(SyncError):
    code = CloseCode.INTERNAL_ERROR


# --------------------------------------------------------------------------------------------
# lib0 encoding

_SMALL_VAR_UINTS: Final = tuple(bytes([i]) for i in range(128))


def write_var_uint(value: int) -> bytes:
    if value < 128:
        if value < 0:
            raise ValueError("varUint must be non-negative")
        return _SMALL_VAR_UINTS[value]
    if value > _MAX_SAFE_INTEGER:
        raise ValueError("varUint above 2**53 - 1")
    out = bytearray()
    while value > 0x7F:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    out.append(value)
    return bytes(out)


def write_var_uint8_array(data: bytes) -> bytes:
    return write_var_uint(len(data)) + data


def write_var_string(text: str) -> bytes:
    return write_var_uint8_array(text.encode("utf-8"))


class Decoder:
    """A bounds-checked lib0 decoder; every read error is a :class:`MalformedMessage`."""

    __slots__ = ("buf", "pos")

    def __init__(self, buf: bytes, pos: int = 0) -> None:
        self.buf = buf
        self.pos = pos

    def has_content(self) -> bool:
        return self.pos < len(self.buf)

    def read_var_uint(self) -> int:
        buf = self.buf
        pos = self.pos
        end = len(buf)
        result = 0
        shift = 0
        while True:
            if pos >= end:
                raise MalformedMessage("Message tronqué (entier)")
            byte = buf[pos]
            pos += 1
            result |= (byte & 0x7F) << shift
            if byte < 0x80:
                break
            shift += 7
            if shift > 53:
                raise MalformedMessage("Entier hors limites")
        if result > _MAX_SAFE_INTEGER:
            raise MalformedMessage("Entier hors limites")
        self.pos = pos
        return result

    def read_var_uint8_array(self) -> bytes:
        length = self.read_var_uint()
        start = self.pos
        end = start + length
        if end > len(self.buf):
            raise MalformedMessage("Message tronqué (octets)")
        self.pos = end
        return self.buf[start:end]

    def read_var_string(self) -> str:
        data = self.read_var_uint8_array()
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise MalformedMessage("Texte non UTF-8") from exc


# --------------------------------------------------------------------------------------------
# Messages


class MessageType(IntEnum):
    SYNC = 0
    AWARENESS = 1
    AUTH = 2
    QUERY_AWARENESS = 3


class SyncMessageType(IntEnum):
    STEP1 = 0
    STEP2 = 1
    UPDATE = 2


@dataclass(frozen=True, slots=True)
class SyncStep1:
    state_vector: bytes


@dataclass(frozen=True, slots=True)
class SyncStep2:
    update: bytes


@dataclass(frozen=True, slots=True)
class SyncUpdate:
    update: bytes


class AwarenessEntry(NamedTuple):
    client_id: int
    clock: int
    state: str
    """The JSON text of the state; ``"null"`` marks a client that left."""


@dataclass(frozen=True, slots=True)
class AwarenessMessage:
    payload: bytes
    entries: tuple[AwarenessEntry, ...]


@dataclass(frozen=True, slots=True)
class QueryAwareness:
    pass


@dataclass(frozen=True, slots=True)
class AuthMessage:
    kind: int
    reason: str | None


@dataclass(frozen=True, slots=True)
class UnknownMessage:
    message_type: int


Message: TypeAlias = (
    SyncStep1
    | SyncStep2
    | SyncUpdate
    | AwarenessMessage
    | QueryAwareness
    | AuthMessage
    | UnknownMessage
)


def _reject_constant(name: str) -> object:
    raise ValueError(name)  # NaN / Infinity: not JSON for a JavaScript peer


def decode_state_vector(data: bytes) -> dict[int, int]:
    decoder = Decoder(data)
    count = decoder.read_var_uint()
    if count > len(data):
        raise MalformedMessage("Vecteur d'état mal formé")
    state: dict[int, int] = {}
    for _ in range(count):
        client = decoder.read_var_uint()
        state[client] = decoder.read_var_uint()
    if decoder.has_content():
        raise MalformedMessage("Vecteur d'état mal formé")
    return state


def decode_awareness(payload: bytes) -> tuple[AwarenessEntry, ...]:
    decoder = Decoder(payload)
    count = decoder.read_var_uint()
    if count > len(payload):
        raise MalformedMessage("Présence mal formée")
    entries = []
    for _ in range(count):
        client_id = decoder.read_var_uint()
        clock = decoder.read_var_uint()
        state = decoder.read_var_string()
        try:
            json.loads(state, parse_constant=_reject_constant)
        except ValueError as exc:
            raise MalformedMessage("Présence mal formée (JSON)") from exc
        entries.append(AwarenessEntry(client_id, clock, state))
    if decoder.has_content():
        raise MalformedMessage("Présence mal formée")
    return tuple(entries)


def _decode_one(decoder: Decoder) -> Message:
    message_type = decoder.read_var_uint()
    if message_type == MessageType.SYNC:
        sync_type = decoder.read_var_uint()
        payload = decoder.read_var_uint8_array()
        if sync_type == SyncMessageType.STEP1:
            decode_state_vector(payload)
            return SyncStep1(payload)
        if sync_type == SyncMessageType.STEP2:
            return SyncStep2(payload)
        if sync_type == SyncMessageType.UPDATE:
            return SyncUpdate(payload)
        raise MalformedMessage("Type de synchronisation inconnu")
    if message_type == MessageType.AWARENESS:
        payload = decoder.read_var_uint8_array()
        return AwarenessMessage(payload, decode_awareness(payload))
    if message_type == MessageType.QUERY_AWARENESS:
        return QueryAwareness()
    if message_type == MessageType.AUTH:
        kind = decoder.read_var_uint()
        reason = decoder.read_var_string() if kind == 0 else None
        return AuthMessage(kind, reason)
    return UnknownMessage(message_type)


def decode_messages(data: bytes) -> list[Message]:
    """Decode every message of a frame; raises :class:`MalformedMessage` if any is malformed."""
    decoder = Decoder(data)
    messages: list[Message] = []
    if not data:
        raise MalformedMessage("Message vide")
    while decoder.has_content():
        message = _decode_one(decoder)
        messages.append(message)
        if isinstance(message, UnknownMessage) or (
            isinstance(message, AuthMessage) and message.reason is None
        ):
            break  # unknown layout: the rest of the frame cannot be delimited
    return messages


_SYNC_STEP1_PREFIX: Final = bytes([MessageType.SYNC, SyncMessageType.STEP1])
_SYNC_STEP2_PREFIX: Final = bytes([MessageType.SYNC, SyncMessageType.STEP2])
_SYNC_UPDATE_PREFIX: Final = bytes([MessageType.SYNC, SyncMessageType.UPDATE])


def encode_sync_step1(state_vector: bytes) -> bytes:
    return _SYNC_STEP1_PREFIX + write_var_uint8_array(state_vector)


def encode_sync_step2(update: bytes) -> bytes:
    return _SYNC_STEP2_PREFIX + write_var_uint8_array(update)


def encode_update(update: bytes) -> bytes:
    return _SYNC_UPDATE_PREFIX + write_var_uint8_array(update)


def encode_awareness_payload(entries: Iterable[AwarenessEntry]) -> bytes:
    entries = list(entries)
    parts = [write_var_uint(len(entries))]
    for entry in entries:
        parts.append(write_var_uint(entry.client_id))
        parts.append(write_var_uint(entry.clock))
        parts.append(write_var_string(entry.state))
    return b"".join(parts)


def encode_awareness(entries: Iterable[AwarenessEntry]) -> bytes:
    return bytes([MessageType.AWARENESS]) + write_var_uint8_array(encode_awareness_payload(entries))


def encode_query_awareness() -> bytes:
    return bytes([MessageType.QUERY_AWARENESS])


def encode_permission_denied(reason: str) -> bytes:
    return bytes([MessageType.AUTH, 0]) + write_var_string(reason)


_MERGE_CHUNK: Final = 64


def merge_many(updates: Sequence[bytes]) -> bytes:
    """:func:`pycrdt.merge_updates` of any number of updates: it is quadratic in their number
    (16,000 small updates: 1.2 s), so they are merged by chunks, then the chunks (28 ms)."""
    if len(updates) == 1:
        return updates[0]
    while len(updates) > _MERGE_CHUNK:
        updates = [
            merge_updates(*updates[i : i + _MERGE_CHUNK])
            for i in range(0, len(updates), _MERGE_CHUNK)
        ]
    return merge_updates(*updates)


def fold_updates(state: bytes | None, updates: Iterable[bytes]) -> bytes:
    """Fold a stored state and the updates after it into one state update (compaction)."""
    doc: Doc[Any] = Doc()
    if state is not None:
        doc.apply_update(state)
    with doc.transaction():
        for update in updates:
            doc.apply_update(update)
    return doc.get_update()


# --------------------------------------------------------------------------------------------
# Update scanning (what a write touches, without applying it)

_TEXT_CONTENT_REFS: Final = frozenset({1, 4})  # ContentDeleted, ContentString


def _skip_any(decoder: Decoder, depth: int = 0) -> None:
    if depth > 64:
        raise MalformedMessage("Valeur trop imbriquée")
    buf = decoder.buf
    if decoder.pos >= len(buf):
        raise MalformedMessage("Message tronqué (valeur)")
    tag = buf[decoder.pos]
    decoder.pos += 1
    if tag in (127, 126, 121, 120):  # undefined, null, false, true
        return
    if tag == 125:  # varInt
        while True:
            if decoder.pos >= len(buf):
                raise MalformedMessage("Message tronqué (entier)")
            byte = buf[decoder.pos]
            decoder.pos += 1
            if byte < 0x80:
                return
    if tag in (124, 123, 122):  # float32, float64, bigint64
        decoder.pos += 4 if tag == 124 else 8
        if decoder.pos > len(buf):
            raise MalformedMessage("Message tronqué (nombre)")
        return
    if tag in (119, 116):  # string, Uint8Array
        decoder.read_var_uint8_array()
        return
    if tag == 118:  # object
        for _ in range(decoder.read_var_uint()):
            decoder.read_var_uint8_array()
            _skip_any(decoder, depth + 1)
        return
    if tag == 117:  # array
        for _ in range(decoder.read_var_uint()):
            _skip_any(decoder, depth + 1)
        return
    raise MalformedMessage("Valeur de type inconnu")


def _struct_length(decoder: Decoder, info: int) -> int:
    """Skip one struct of a v1 update; return its length in clock units."""
    ref = info & 0x1F
    if ref in (0, 10):  # GC, Skip
        return decoder.read_var_uint()
    if info & 0x80:  # origin
        decoder.read_var_uint()
        decoder.read_var_uint()
    if info & 0x40:  # right origin
        decoder.read_var_uint()
        decoder.read_var_uint()
    if not info & 0xC0:
        if decoder.read_var_uint() == 1:
            decoder.read_var_uint8_array()  # root name
        else:
            decoder.read_var_uint()
            decoder.read_var_uint()
        if info & 0x20:
            decoder.read_var_uint8_array()  # key in the parent map
    if ref == 1:  # deleted
        return decoder.read_var_uint()
    if ref == 2:  # JSON
        count = decoder.read_var_uint()
        for _ in range(count):
            decoder.read_var_uint8_array()
        return count
    if ref == 4:  # string: its length in UTF-16 code units, as Yjs counts
        try:
            text = decoder.read_var_uint8_array().decode("utf-8", "surrogatepass")
        except UnicodeDecodeError as exc:
            raise MalformedMessage("Texte non UTF-8") from exc
        return len(text.encode("utf-16-le", "surrogatepass")) // 2
    if ref in (3, 5):  # binary, embed
        decoder.read_var_uint8_array()
        return 1
    if ref == 6:  # format
        decoder.read_var_uint8_array()
        decoder.read_var_uint8_array()
        return 1
    if ref == 7:  # type
        if decoder.read_var_uint() in (3, 5):  # XmlElement, XmlHook: a name
            decoder.read_var_uint8_array()
        return 1
    if ref == 8:  # any
        count = decoder.read_var_uint()
        for _ in range(count):
            _skip_any(decoder)
        return count
    if ref == 9:  # subdocument
        decoder.read_var_uint8_array()
        _skip_any(decoder)
        return 1
    raise MalformedMessage("Contenu de type inconnu")


class ClockRange(NamedTuple):
    client: int
    start: int
    end: int
    """Exclusive: the update holds this client's clocks ``start .. end - 1`` (and maybe gaps)."""


def update_ranges(update: bytes) -> list[ClockRange]:
    """The clock range of each client whose structs a (v1) update holds, without applying it
    (deletions carry no clock). Raises :class:`MalformedMessage` on bytes that are not one."""
    decoder = Decoder(update)
    ranges: list[ClockRange] = []
    for _ in range(decoder.read_var_uint()):
        structs = decoder.read_var_uint()
        client = decoder.read_var_uint()
        start = clock = decoder.read_var_uint()
        for _ in range(structs):
            if decoder.pos >= len(update):
                raise MalformedMessage("Message tronqué (structure)")
            info = update[decoder.pos]
            decoder.pos += 1
            clock += _struct_length(decoder, info)
        ranges.append(ClockRange(client, start, clock))
    return ranges


def update_clients(update: bytes) -> list[int]:
    """The Yjs client ids whose structs a (v1) update holds, in the update's order."""
    return [r.client for r in update_ranges(update)]


def is_text_edit(update: bytes, text_roots: frozenset[str] = frozenset()) -> bool:
    """Whether a (v1) update only inserts characters and deletes: every new item holds string
    content, none is keyed into a map, and none is attached to a root other than ``text_roots``.

    Such a write cannot add an item, a key, a value or a formatting attribute. (A delete can still
    remove a map key; and a crafted string item attached after an array element would slip by:
    the room's periodic full check catches both.)"""
    decoder = Decoder(update)
    try:
        for _ in range(decoder.read_var_uint()):
            structs = decoder.read_var_uint()
            decoder.read_var_uint()  # client
            decoder.read_var_uint()  # first clock
            for _ in range(structs):
                if decoder.pos >= len(update):
                    return False
                info = update[decoder.pos]
                decoder.pos += 1
                ref = info & 0x1F
                if ref in (0, 10):  # GC, Skip
                    decoder.read_var_uint()
                    continue
                if ref not in _TEXT_CONTENT_REFS:
                    return False
                if info & 0x80:
                    decoder.read_var_uint()
                    decoder.read_var_uint()
                if info & 0x40:
                    decoder.read_var_uint()
                    decoder.read_var_uint()
                if not info & 0xC0:
                    if decoder.read_var_uint() == 1:
                        if decoder.read_var_string() not in text_roots:
                            return False
                    else:
                        decoder.read_var_uint()
                        decoder.read_var_uint()
                    if info & 0x20:
                        return False
                if ref == 4:
                    decoder.read_var_uint8_array()
                else:
                    decoder.read_var_uint()
    except MalformedMessage:
        return False
    return True


# --------------------------------------------------------------------------------------------
# Adapters (Protocols)


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
    time; it returns the number of updates folded.
    """

    async def load(self, ppa_id: str) -> LoadedDocument: ...

    async def append(self, ppa_id: str, updates: Sequence[StoredUpdate]) -> int: ...

    async def compact(self, ppa_id: str) -> int: ...


class SchemaGuard(Protocol):
    """Checks a document against the documented CRDT layout and repairs it.

    ``text_roots``: roots that are plain ``Text``, so that typing into them is known harmless.
    """

    text_roots: frozenset[str]

    def check(self, doc: Doc[Any]) -> Sequence[str]:
        """Return the violations (paths; never content), empty when the layout is sound."""
        ...

    def repair(self, doc: Doc[Any]) -> None:
        """Write the compensating changes that restore the layout (one transaction)."""
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

    def refuse(self, room: Room, update: bytes) -> str | None:
        """``None`` to accept, or the reason (French, shown to the writer) to refuse."""
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
    guard_interval: float = 10.0
    """Seconds between full layout checks while only text edits arrive (which skip the check)."""


READ_ONLY_REASON: Final = "Lecture seule : vos modifications ne sont ni enregistrées ni transmises."
LOCKED_REASON: Final = "Document verrouillé (validé) : lecture seule."
REPAIRED_REASON: Final = "Modification non conforme au schéma du document : elle a été corrigée."


# --------------------------------------------------------------------------------------------
# Room


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


class _AwarenessState(NamedTuple):
    clock: int
    state: str | None
    owner: Peer | None
    """The local connection that owns this presence; ``None`` for one of another process."""
    at: float = 0.0
    """When it was last received (monotonic): presences of other processes expire."""


REMOTE_AWARENESS_TTL: Final = 45.0
"""Seconds a presence received from another process is kept without renewal (stock clients
renew theirs every 15 s; a crashed process never sends their removal)."""


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
        from), so that the first client to join gets them without encoding the document."""
        self.ppa_id = ppa_id
        self.doc = doc
        self.limits = limits or Limits()
        self.last_seq = last_seq
        self.locked = False
        self.broken = False
        self.version = 0
        """Incremented by every transaction that changes the in-memory document."""
        self._store = store
        self._guard = guard
        self._fanout = fanout
        self._monotonic = monotonic
        self._now = now
        self._peers: dict[Peer, None] = {}
        self._awareness: dict[int, _AwarenessState] = {}
        self._pending: list[_Entry] = []
        self._deferred: list[tuple[int, Peer, list[bytes]]] = []
        self._applied_gen = 0
        self._committed_gen = 0
        self._durable_sv: bytes | None = doc.get_state()
        self._served: ServedDocument | None = None
        """The reply to a client with nothing (``None``: encode the document at the next one)."""
        self._refreshing = False
        self._encoded_bytes = len(encoded[0]) if encoded else 0
        """Size of the base the served document last started from."""
        if encoded:
            self._served = ServedDocument(encoded[0])
            for update in encoded[1:]:
                self._served.note(update)
        self._since_compaction = tail_length
        self._compacting = False
        self._compacted = anyio.Event()
        self._wake = anyio.Event()
        self._committed = anyio.Event()
        self._captured: list[bytes] | None = None
        self._guard_writers: dict[Peer, None] = {}
        self._guard_skipped = False
        self._guard_checked_at = monotonic()
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
        """Nothing pending, in flight, deferred or compacting: the room may unload."""
        return not self.uncommitted and not self._deferred and not self._compacting

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
                task_status.started()
                while True:
                    await self._wake.wait()
                    self._wake = anyio.Event()
                    while self._pending and not self.broken:
                        await self._commit_pending()

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
        """Wait until the room is idle (committed, and no compaction running)."""
        while not self.idle and not self.broken:
            await self.flush()
            if self._compacting:
                await self._compacted.wait()

    async def lock(self, reason: str = LOCKED_REASON) -> None:
        """Turn every live connection (and every future one) read-only, then flush."""
        if not self.locked:
            self.locked = True
            notice = encode_permission_denied(reason)
            for peer in self._peers:
                peer.channel.read_only = True
                peer.told_read_only = True
                peer.channel.send(notice)
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
            raise StoreUnavailable("Document indisponible, réessayez", CloseCode.SERVICE_RESTART)
        captured = self._apply(update)
        if captured is not None:
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
            raise StoreUnavailable("Enregistrement impossible", CloseCode.SERVICE_RESTART)

    def close_all(self, code: int, reason: str) -> None:
        for peer in list(self._peers):
            self.leave(peer)
            peer.channel.close(code, reason)

    # -- connections -------------------------------------------------------------------------

    def join(self, channel: Channel, policy: WritePolicy | None = None) -> Peer:
        if self.broken:
            raise StoreUnavailable("Document indisponible, réessayez", CloseCode.SERVICE_RESTART)
        if len(self._peers) >= self.limits.max_connections_per_document:
            raise LimitExceeded(
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
        states = self._awareness_states()
        if states:
            channel.send(encode_awareness(states))
        if channel.read_only:
            peer.told_read_only = True
            channel.send(
                encode_permission_denied(LOCKED_REASON if self.locked else READ_ONLY_REASON)
            )
        return peer

    def leave(self, peer: Peer) -> None:
        if peer.closed:
            return
        peer.closed = True
        self._peers.pop(peer, None)
        gone = []
        for cid in peer.awareness_ids:
            known = self._awareness.get(cid)
            if known is not None and known.owner is peer:
                del self._awareness[cid]
                if known.state is not None:
                    gone.append(AwarenessEntry(cid, known.clock + 1, "null"))
        if gone:
            message = encode_awareness(gone)
            self._broadcast(message, None)
            if self._fanout is not None:
                self._fanout.publish(self.ppa_id, message, None)

    # -- inbound -----------------------------------------------------------------------------

    def receive(self, peer: Peer, data: bytes) -> None:
        """Handle one frame from ``peer``. Raises :class:`SyncError` (the caller closes)."""
        if peer.closed:
            return
        if len(data) > self.limits.max_message_bytes:
            raise LimitExceeded("Message trop volumineux", CloseCode.MESSAGE_TOO_LARGE)
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
                peer.channel.send(encode_awareness(self._awareness_states()))
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
                now = self._monotonic()
                for entry in decoded.entries:
                    known = self._awareness.get(entry.client_id)
                    if known is not None and known.owner is not None:
                        continue
                    state = None if entry.state == "null" else entry.state
                    self._awareness[entry.client_id] = _AwarenessState(
                        entry.clock, state, None, now
                    )
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
        if state_vector == EMPTY_STATE_VECTOR:
            reply = self._full_state()
        else:
            try:
                reply = [encode_sync_step2(self.doc.get_update(state_vector))]
            except ValueError as exc:
                raise MalformedMessage("Vecteur d'état illisible") from exc
        if self.uncommitted:
            # Only durable content may be shown: answer once what the diff holds is committed.
            self._deferred.append((self._applied_gen, peer, reply))
        else:
            self._send_step2(peer, reply)

    def _send_step2(self, peer: Peer, reply: list[bytes]) -> None:
        for message in reply:
            peer.channel.send(message)
        backlog = peer.backlog
        if backlog is not None:
            peer.backlog = None
            for message in backlog:
                peer.channel.send(message)

    def _full_state(self) -> list[bytes]:
        """The reply to an empty state vector (a client with nothing): see
        :class:`ServedDocument`. The document is encoded only for the first such client after
        the room was created empty, or after the refresh worker could not keep up."""
        served = self._served
        if served is None:
            served = self._served = self._encode_served()
        return served.reply()

    def _encode_served(self) -> ServedDocument:
        update = self.doc.get_update()
        self._encoded_bytes = len(update)
        return ServedDocument(update)

    async def _refresh_served(self) -> None:
        """The background work of :class:`ServedDocument`, one job at a time, in a thread.

        Merged updates keep the content of deleted text (only a document drops it), so a long
        session of typing and deleting grows the base past the document's own encoding: once
        the base is more than twice the last encoding (and 64 KiB more), a document small enough
        to encode in a few milliseconds (:data:`_REENCODE_MAX_BYTES`) is encoded again."""
        try:
            while (served := self._served) is not None and (job := served.next_job()) is not None:
                install = await anyio.to_thread.run_sync(job)
                if self._served is served:
                    install()
                    if (
                        len(served.base) > 2 * self._encoded_bytes + ServedDocument.CHUNK_BYTES
                        and self._encoded_bytes <= _REENCODE_MAX_BYTES
                    ):
                        self._served = self._encode_served()
        except Exception:
            log.exception("collab.room.served_refresh_failed ppa=%s", self.ppa_id)
            self._served = None  # the next client with nothing gets the document encoded
        finally:
            self._refreshing = False

    def _on_write(self, peer: Peer, update: bytes) -> None:
        if update == EMPTY_UPDATE:
            return
        if peer.channel.read_only:
            if not peer.told_read_only:
                peer.told_read_only = True
                peer.channel.send(
                    encode_permission_denied(LOCKED_REASON if self.locked else READ_ONLY_REASON)
                )
            return
        limits = self.limits
        if not peer.take_token(self._monotonic(), limits.updates_per_second, limits.update_burst):
            raise LimitExceeded("Trop de modifications par seconde", CloseCode.RATE_LIMITED)
        if self._doc_bytes + len(update) > limits.max_document_bytes:
            self._doc_bytes = len(self.doc.get_update())
            if self._doc_bytes + len(update) > limits.max_document_bytes:
                raise LimitExceeded("Document trop volumineux", CloseCode.DOCUMENT_TOO_LARGE)
        if peer.policy is not None:
            reason = peer.policy.refuse(self, update)
            if reason is not None:
                peer.base_read_only = True
                peer.channel.read_only = True
                peer.told_read_only = True
                peer.channel.send(encode_permission_denied(reason))
                log.warning("collab.write.refused ppa=%s user=%s", self.ppa_id, peer.user_id)
                return
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
        if self._guard is not None:
            if len(entries) == 1 and is_text_edit(captured, self._guard.text_roots):
                self._guard_skipped = True
            else:
                self._guard_writers[peer] = None
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
        return entries

    def _guard_batch(self) -> list[_Entry]:
        """Check the layout once per group commit when a structural write is in it (or
        periodically after text edits); repair in the same commit, so that only the repaired
        document is ever relayed or stored."""
        guard = self._guard
        if guard is None:
            return []
        writers = self._guard_writers
        due = self._guard_skipped and (
            self._monotonic() - self._guard_checked_at >= self.limits.guard_interval
        )
        if not writers and not due:
            return []
        self._guard_writers = {}
        self._guard_skipped = False
        self._guard_checked_at = self._monotonic()
        violations = guard.check(self.doc)
        if not violations:
            return []
        log.warning(
            "collab.guard.violation ppa=%s writers=%s count=%d problems=%s",
            self.ppa_id,
            ",".join(p.user_id for p in writers),
            len(violations),
            ",".join(violations[:5]),
        )
        captured: list[bytes] = []
        self._captured = captured
        try:
            guard.repair(self.doc)
        finally:
            self._captured = None
        remaining = guard.check(self.doc)
        if remaining:
            log.error(
                "collab.guard.unrepaired ppa=%s count=%d problems=%s",
                self.ppa_id,
                len(remaining),
                ",".join(remaining[:5]),
            )
        notice = encode_permission_denied(REPAIRED_REASON)
        for peer in writers:
            if not peer.closed:
                peer.channel.send(notice)
        at = self._now()
        return [_Entry(update, GUARD_AUTHOR, at, None, False) for update in captured]

    def _apply(self, update: bytes) -> bytes | None:
        captured: list[bytes] = []
        self._captured = captured
        try:
            self.doc.apply_update(update)
        except ValueError as exc:
            raise MalformedMessage("Mise à jour illisible") from exc
        except BaseException as exc:
            if type(exc).__name__ != "PanicException":
                raise
            # The CRDT core panicked mid-transaction: the in-memory doc can no longer be trusted.
            # Drop the room; it reloads from the durable store (nothing non-durable was shown).
            log.error("collab.room.panic ppa=%s", self.ppa_id)
            self._break("Erreur interne du document, reconnexion")
            raise MalformedMessage("Mise à jour illisible") from None
        finally:
            self._captured = None
        if not captured:
            return None
        return merge_many(captured)

    def _on_transaction(self, event: TransactionEvent) -> None:
        self.version += 1
        served = self._served
        if self._captured is None and served is None:
            return
        update = event.update
        if self._captured is not None:
            self._captured.append(update)
        if served is not None and served.note(update):
            if served.overflowing:
                self._served = None  # dropped: encoded again when needed
            elif not self._refreshing and self._task_group is not None:
                self._refreshing = True
                self._task_group.start_soon(self._refresh_served)

    def _awareness_states(self) -> list[AwarenessEntry]:
        expired = self._monotonic() - REMOTE_AWARENESS_TTL
        for cid in [c for c, s in self._awareness.items() if s.owner is None and s.at < expired]:
            del self._awareness[cid]
        return [
            AwarenessEntry(cid, s.clock, s.state)
            for cid, s in self._awareness.items()
            if s.state is not None
        ]

    def _on_awareness(self, peer: Peer, message: AwarenessMessage) -> None:
        if peer.channel.read_only and not self.limits.read_only_presence:
            return
        accepted: list[AwarenessEntry] = []
        for entry in message.entries:
            known = self._awareness.get(entry.client_id)
            if known is not None:
                if known.owner is not None and known.owner is not peer:
                    continue  # another live connection owns this presence
                if entry.clock < known.clock or (
                    entry.clock == known.clock and entry.state != "null"
                ):
                    continue
            state = None if entry.state == "null" else entry.state
            self._awareness[entry.client_id] = _AwarenessState(entry.clock, state, peer)
            peer.awareness_ids.add(entry.client_id)
            accepted.append(entry)
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


# --------------------------------------------------------------------------------------------
# The PPA layout guard (editor.crdt)

_Segment: TypeAlias = int | str


class LayoutGuard:
    """:class:`SchemaGuard` of the PPA document layout (``docs/document-schema.md``).

    ``check`` is :func:`editor.crdt.check_layout` (problems as ``path:code``, never values).
    ``repair`` writes compensating changes mirroring what
    :func:`editor.crdt.doc_to_content_repaired` ignores on reading: an unknown root is emptied, a
    root's content of the wrong type is removed, a broken item (not a Map, no usable id, repeated
    id) is deleted from its array, an unknown key or an invalid value is deleted from its map (it
    then reads as its default), formatted text is rewritten as plain text.
    """

    def __init__(self) -> None:
        from editor import crdt

        self._crdt = crdt
        self.text_roots: frozenset[str] = frozenset(crdt.TEXT_ROOTS)
        self._fields: set[str] = {field for fields in crdt.FIELDS.values() for field in fields}

    def check(self, doc: Doc[Any]) -> list[str]:
        return [f"{p.path}:{p.code}" for p in self._problems(doc)]

    def _problems(self, doc: Doc[Any]) -> list[Any]:
        # A root cannot be deleted from a Yjs document: an emptied unknown root is harmless.
        return [
            p
            for p in self._crdt.check_layout(doc)
            if p.code != "unknown_root" or not _root_is_empty(doc, p.path)
        ]

    def repair(self, doc: Doc[Any]) -> None:
        problems = self._problems(doc)
        targets: list[tuple[tuple[_Segment, ...], str, str]] = []
        for problem in problems:
            if problem.code == "unknown_root":
                targets.append(((problem.path,), problem.code, problem.path))
                continue
            segments = self._parse(problem.path)
            if segments is None:
                continue
            if problem.code in ("bad_id", "bad_value") and segments[-1] == "id":
                segments = segments[:-1]  # an item without a usable id goes
            targets.append((segments, problem.code, problem.path))
        # Deepest paths and highest positions first, so that earlier positions stay valid.
        targets.sort(key=lambda t: [(1, s) if isinstance(s, int) else (0, s) for s in t[0]])
        with doc.transaction(origin=GUARD_AUTHOR):
            for segments, code, _path in reversed(targets):
                try:
                    self._repair_one(doc, segments, code)
                except (KeyError, IndexError, TypeError, ValueError):
                    continue  # moved by an earlier repair: the next check reports it again

    def _parse(self, path: str) -> tuple[_Segment, ...] | None:
        root_end = len(path)
        for index, char in enumerate(path):
            if char in ".[":
                root_end = index
                break
        root = path[:root_end]
        if root not in self._crdt.ROOT_TYPES:
            return None
        segments: list[_Segment] = [root]
        rest = path[root_end:]
        while rest:
            if rest[0] == "[":
                close = rest.find("]")
                if close < 0 or not rest[1:close].isdigit():
                    return None
                segments.append(int(rest[1:close]))
                rest = rest[close + 1 :]
                continue
            key = rest[1:]
            for known in sorted(self._fields, key=len, reverse=True):
                after = key[len(known) :]
                if key.startswith(known) and (after == "" or after[0] in ".["):
                    segments.append(known)
                    rest = after
                    break
            else:
                segments.append(key)  # an unknown key: the rest of the path is its name
                rest = ""
        return tuple(segments)

    def _root(self, doc: Doc[Any], name: str) -> Any:
        kind = self._crdt.ROOT_TYPES[name]
        return doc.get(name, type=Text if kind == "Text" else Map if kind == "Map" else Array)

    def _repair_one(self, doc: Doc[Any], segments: tuple[_Segment, ...], code: str) -> None:
        name = str(segments[0])
        if len(segments) == 1:
            expected = self._crdt.ROOT_TYPES.get(name)
            if code == "rich_text":
                _plain_text(doc.get(name, type=Text))
                return
            _clear_root(doc, name, keep=expected)
            return
        parent = self._root(doc, name)
        for segment in segments[1:-1]:
            parent = parent[segment]
        last = segments[-1]
        if code == "rich_text":
            _plain_text(parent[last])
            return
        array_entry = isinstance(last, int) and isinstance(parent, Array)
        if array_entry or (isinstance(last, str) and isinstance(parent, Map)):
            del parent[last]


def _plain_text(text: Any) -> None:
    if isinstance(text, Text):
        plain = "".join(chunk for chunk, _attrs in text.diff() if isinstance(chunk, str))
        text.clear()
        text += plain


def _has_text(text: Text) -> bool:
    return any(isinstance(chunk, str) or attrs for chunk, attrs in text.diff())


def _root_is_empty(doc: Doc[Any], name: str) -> bool:
    # Text view first: an Array view of formatted text would hang yrs.
    text = doc.get(name, type=Text)
    if _has_text(text) or any(True for _ in text.diff()):
        return False
    return len(doc.get(name, type=Map)) == 0 and len(doc.get(name, type=Array)) == 0


def _clear_root(doc: Doc[Any], name: str, keep: str | None) -> None:
    # Yjs cannot delete a root: empty every view but the documented one (Text first: an Array
    # view of formatted text would hang yrs).
    text = doc.get(name, type=Text)
    if keep is None:
        text.clear()  # characters, embeds and elements alike
    elif keep != "Text" and _has_text(text):
        offset = 0
        spans: list[tuple[int, int]] = []
        for chunk, _attrs in text.diff():
            size = len(chunk.encode()) if isinstance(chunk, str) else 1
            if isinstance(chunk, str):
                spans.append((offset, size))
            offset += size
        for start, size in reversed(spans):
            del text[start : start + size]
    if keep != "Map":
        ymap = doc.get(name, type=Map)
        for key in list(ymap.keys()):
            del ymap[key]
    if keep is None:
        array = doc.get(name, type=Array)
        if len(array):
            del array[0 : len(array)]


# --------------------------------------------------------------------------------------------
# Room manager


class _Loading:
    __slots__ = ("done", "error", "room")

    def __init__(self) -> None:
        self.done = anyio.Event()
        self.room: Room | None = None
        self.error: BaseException | None = None


SessionEnd: TypeAlias = Callable[[str, Sequence[str]], Awaitable[None]]
"""``on_session_end(ppa_id, authors)``: a room someone wrote to was unloaded (its last connection
left and every write is stored) or the server is shutting down; ``authors`` wrote since it was
loaded (never empty)."""


class RoomManager:
    """Loads rooms (single-flight), enforces per-user limits, unloads idle rooms, shuts down.

    Use it as an async context manager: it owns the rooms' tasks.
    """

    def __init__(
        self,
        store: UpdateStore,
        *,
        limits: Limits | None = None,
        guard: SchemaGuard | None = None,
        fanout: Fanout | None = None,
        on_session_end: SessionEnd | None = None,
        on_unloaded: Callable[[str], Awaitable[None]] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        """``on_unloaded(ppa_id)``: called once a room unloaded and its session ended (e.g. to
        give the memory it freed back to the system)."""
        self.store = store
        self.limits = limits or Limits()
        self._guard = guard
        self._fanout = fanout
        self.on_session_end = on_session_end
        self.on_unloaded = on_unloaded
        self._locked: set[str] = set()
        """Documents locked here since this process started (a room loaded later starts locked,
        even before the store says so)."""
        self._monotonic = monotonic
        self._now = now
        self._rooms: dict[str, Room] = {}
        self._loading: dict[str, _Loading] = {}
        self._joining: Counter[str] = Counter()
        self._per_user: Counter[str] = Counter()
        self._counted: set[Peer] = set()
        self._unload_at: dict[str, float] = {}
        self._closing = False
        self._task_group: TaskGroup | None = None
        self.loads = 0
        """How many times a room was loaded from the store."""

    async def __aenter__(self) -> RoomManager:
        tg = anyio.create_task_group()
        await tg.__aenter__()
        self._task_group = tg
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.shutdown()
        tg = self._task_group
        assert tg is not None
        self._task_group = None
        tg.cancel_scope.cancel()
        await tg.__aexit__(None, None, None)

    def room(self, ppa_id: str) -> Room | None:
        return self._rooms.get(ppa_id)

    @property
    def rooms(self) -> dict[str, Room]:
        return dict(self._rooms)

    def connections_of(self, user_id: str) -> int:
        return self._per_user[user_id]

    async def join(self, ppa_id: str, channel: Channel, policy: WritePolicy | None = None) -> Peer:
        """Load the room (single-flight) and join it; raises :class:`SyncError` to refuse."""
        if self._closing:
            raise SyncError("Serveur en cours d'arrêt", CloseCode.SERVICE_RESTART)
        self._check_user(channel.user_id)
        self._joining[ppa_id] += 1
        try:
            room = await self._get_room(ppa_id)
            if self._closing:
                raise SyncError("Serveur en cours d'arrêt", CloseCode.SERVICE_RESTART)
            self._check_user(channel.user_id)
            peer = room.join(channel, policy)
        finally:
            self._joining[ppa_id] -= 1
            if self._joining[ppa_id] <= 0:
                del self._joining[ppa_id]
        self._per_user[channel.user_id] += 1
        self._counted.add(peer)
        self._unload_at.pop(ppa_id, None)
        return peer

    def _check_user(self, user_id: str) -> None:
        if self._per_user[user_id] >= self.limits.max_connections_per_user:
            raise LimitExceeded(
                "Trop de connexions pour cet utilisateur", CloseCode.TOO_MANY_USER_CONNECTIONS
            )

    def leave(self, peer: Peer) -> None:
        room = peer.room
        room.leave(peer)
        if peer in self._counted:
            self._counted.discard(peer)
            self._per_user[peer.user_id] -= 1
            if self._per_user[peer.user_id] <= 0:
                del self._per_user[peer.user_id]
        if not room.peers and self._rooms.get(room.ppa_id) is room:
            self._schedule_unload(room)

    async def lock(self, ppa_id: str, reason: str = LOCKED_REASON) -> bool:
        """Lock ``ppa_id``: its live room if loaded (returns whether one was, once every write
        it accepted is stored), and the room loaded later, until :meth:`unlock`."""
        self._locked.add(ppa_id)
        room = self._rooms.get(ppa_id)
        loading = self._loading.get(ppa_id)
        if room is None and loading is not None:
            await loading.done.wait()
            room = self._rooms.get(ppa_id)
        if room is None:
            return False
        await room.lock(reason)
        return True

    def unlock(self, ppa_id: str) -> bool:
        """Undo :meth:`lock`; returns whether a live room was unlocked."""
        self._locked.discard(ppa_id)
        room = self._rooms.get(ppa_id)
        if room is None:
            return False
        room.unlock()
        return True

    def is_locked(self, ppa_id: str) -> bool:
        return ppa_id in self._locked

    async def write(self, ppa_id: str, update: bytes, author: str) -> None:
        """Apply a server-made update to ``ppa_id`` durably (loading its room if needed) and relay
        it to every connection, locked or not."""
        if self._closing:
            raise SyncError("Serveur en cours d'arrêt", CloseCode.SERVICE_RESTART)
        self._joining[ppa_id] += 1
        try:
            room = await self._get_room(ppa_id)
            await room.write(update, author)
        finally:
            self._joining[ppa_id] -= 1
            if self._joining[ppa_id] <= 0:
                del self._joining[ppa_id]
        if not room.peers and self._rooms.get(ppa_id) is room:
            self._schedule_unload(room)

    async def _get_room(self, ppa_id: str) -> Room:
        room = self._rooms.get(ppa_id)
        if room is not None and not room.broken:
            return room
        loading = self._loading.get(ppa_id)
        if loading is None:
            loading = _Loading()
            self._loading[ppa_id] = loading
            if self._task_group is None:
                raise RuntimeError("RoomManager used outside 'async with'")
            self._task_group.start_soon(self._load, ppa_id, loading)
        await loading.done.wait()
        if loading.error is not None:
            raise StoreUnavailable("Chargement du document impossible") from loading.error
        assert loading.room is not None
        return loading.room

    async def _load(self, ppa_id: str, loading: _Loading) -> None:
        subscribed = False
        try:
            if self._fanout is not None:
                await self._fanout.subscribe(ppa_id)
                subscribed = True
            stored = await self.store.load(ppa_id)
            doc: Doc[Any] = Doc()
            encoded: list[bytes] = []
            if stored.state is not None:
                doc.apply_update(stored.state)
                encoded.append(stored.state)
            if stored.updates:
                tail = merge_many(stored.updates)
                doc.apply_update(tail)
                encoded.append(tail)
            room = Room(
                ppa_id,
                doc,
                self.store,
                last_seq=stored.last_seq,
                tail_length=len(stored.updates),
                limits=self.limits,
                guard=self._guard,
                fanout=self._fanout,
                monotonic=self._monotonic,
                now=self._now,
                encoded=encoded,
            )
            if stored.locked or ppa_id in self._locked:
                room.locked = True
            assert self._task_group is not None
            await self._task_group.start(room.run)
            old = self._rooms.get(ppa_id)
            if old is not None:
                old.stop()
            self._rooms[ppa_id] = room
            if self._fanout is not None:
                self._fanout.attach(room)
                if old is not None:
                    await self._fanout.unsubscribe(ppa_id)
            self.loads += 1
            loading.room = room
            log.info(
                "collab.room.loaded ppa=%s seq=%d tail=%d",
                ppa_id,
                stored.last_seq,
                len(stored.updates),
            )
        except Exception as exc:
            log.exception("collab.room.load_failed ppa=%s", ppa_id)
            loading.error = exc
            if subscribed and self._fanout is not None:
                with anyio.CancelScope(shield=True):
                    await self._fanout.unsubscribe(ppa_id)
        finally:
            self._loading.pop(ppa_id, None)
            loading.done.set()

    def _schedule_unload(self, room: Room) -> None:
        if self._closing or self._task_group is None:
            return
        first = room.ppa_id not in self._unload_at
        self._unload_at[room.ppa_id] = self._monotonic() + self.limits.unload_after
        if first:
            self._task_group.start_soon(self._unload_when_idle, room)

    async def _unload_when_idle(self, room: Room) -> None:
        while True:
            deadline = self._unload_at.get(room.ppa_id)
            if deadline is None or self._rooms.get(room.ppa_id) is not room:
                return
            wait = deadline - self._monotonic()
            if wait > 0:
                await anyio.sleep(wait)
                continue
            if room.peers or self._joining[room.ppa_id]:
                self._unload_at.pop(room.ppa_id, None)
                return
            if not room.idle:
                await room.settle()
                continue
            self._unload_at.pop(room.ppa_id, None)
            del self._rooms[room.ppa_id]
            room.stop()
            log.info("collab.room.unloaded ppa=%s seq=%d", room.ppa_id, room.last_seq)
            if self._fanout is not None:
                await self._fanout.unsubscribe(room.ppa_id)
            await self._session_end(room)
            if self.on_unloaded is not None:
                try:
                    await self.on_unloaded(room.ppa_id)
                except Exception:
                    log.exception("collab.room.on_unloaded_failed ppa=%s", room.ppa_id)
            return

    async def _session_end(self, room: Room) -> None:
        if self.on_session_end is None or not room.authors or room.broken:
            return
        try:
            await self.on_session_end(room.ppa_id, list(room.authors))
        except Exception:
            log.exception("collab.room.session_end_failed ppa=%s", room.ppa_id)

    async def shutdown(self, grace_period: float = 10.0) -> None:
        """Stop accepting connections, commit everything pending, close every connection."""
        if self._closing:
            return
        self._closing = True
        with anyio.move_on_after(grace_period) as scope:
            for room in list(self._rooms.values()):
                await room.flush()
        flushed = not scope.cancelled_caught
        rooms = list(self._rooms.values())
        for room in rooms:
            for peer in room.peers:
                self.leave(peer)
                peer.channel.close(CloseCode.GOING_AWAY, "Arrêt du serveur")
            room.stop()
        self._rooms.clear()
        if flushed:
            with anyio.move_on_after(grace_period):
                for room in rooms:
                    await self._session_end(room)
        log.info("collab.manager.shutdown rooms=%d flushed=%s", len(rooms), flushed)


def clock_of(state_vector: bytes, client_id: int) -> int:
    """The clock of ``client_id`` in an encoded state vector (0 when absent)."""
    return decode_state_vector(state_vector).get(client_id, 0)
