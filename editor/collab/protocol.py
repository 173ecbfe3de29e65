"""The y-websocket protocol: sync and awareness messages.

Wire protocol (what a stock ``y-websocket`` ``WebsocketProvider`` speaks; lib0 encoding)::

    frame        := message*                       (stock clients send one message per frame)
    message      := varUint(type) payload
    SYNC (0)     := varUint(0 step1) varUint8Array(state vector)
                  | varUint(1 step2) varUint8Array(update)
                  | varUint(2 update) varUint8Array(update)
    AWARENESS(1) := varUint8Array(varUint(n) (varUint(client) varUint(clock) varString(json))^n)
    AUTH (2)     := varUint(0 permission denied) varString(reason)       (server -> client only)
    QUERY_AWARENESS (3) := (empty)

The reason of a permission-denied message is a :class:`Notice`, the JSON object
``{"code": "read_only", "message": "Lecture seule : ..."}``: clients decide on ``code`` (a
:class:`NoticeCode`, or one the application defines), people read ``message`` (French). Stock
clients only ``console.warn`` the reason.

Unknown message types are ignored (the rest of the frame is skipped since its length is unknown).
A malformed message raises :class:`MalformedMessageError` *before* anything of its frame is applied,
so the document stays byte-identical; the server closes the socket with ``error.code`` and
``error.reason``. Limits raise :class:`LimitExceededError`, with their own close codes
(:class:`CloseCode`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from enum import IntEnum, StrEnum
from typing import Final, NamedTuple, TypeAlias

from editor.collab.errors import MalformedMessageError
from editor.collab.lib0 import Decoder, write_var_string, write_var_uint, write_var_uint8_array

EMPTY_STATE_VECTOR: Final = b"\x00"


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


class NoticeCode(StrEnum):
    """Codes of the engine's notices (an application adds its own, same encoding)."""

    READ_ONLY = "read_only"
    """The connection is read-only: nothing it sends is applied, stored or relayed."""
    LOCKED = "locked"
    """The document was locked: every connection is read-only until it is unlocked."""
    LAYOUT_REPAIRED = "layout_repaired"
    """A write broke the document's layout; the server repaired it (the connection still writes)."""
    LAYOUT_REFUSED = "layout_refused"
    """A write broke the document's layout and was refused."""
    ILLEGAL_TEXT = "illegal_text"
    """A write held characters a text may not hold and was refused."""


@dataclass(frozen=True, slots=True)
class Notice:
    """What the server tells a connection: ``code`` for programs, ``message`` for people."""

    code: str
    message: str

    def reason(self) -> str:
        """The reason of the permission-denied message (a JSON object)."""
        return json.dumps({"code": str(self.code), "message": self.message}, ensure_ascii=False)

    @classmethod
    def parse(cls, reason: str) -> Notice:
        """The notice of a reason; a bare sentence (older server) is a read-only notice."""
        try:
            value = json.loads(reason)
        except ValueError:
            value = None
        if isinstance(value, dict):
            code, message = value.get("code"), value.get("message")
            if isinstance(code, str) and isinstance(message, str):
                return cls(code, message)
        return cls(NoticeCode.READ_ONLY, reason)


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
        raise MalformedMessageError("Vecteur d'état mal formé")
    state: dict[int, int] = {}
    for _ in range(count):
        client = decoder.read_var_uint()
        state[client] = decoder.read_var_uint()
    if decoder.has_content():
        raise MalformedMessageError("Vecteur d'état mal formé")
    return state


def decode_awareness(payload: bytes) -> tuple[AwarenessEntry, ...]:
    decoder = Decoder(payload)
    count = decoder.read_var_uint()
    if count > len(payload):
        raise MalformedMessageError("Présence mal formée")
    entries = []
    for _ in range(count):
        client_id = decoder.read_var_uint()
        clock = decoder.read_var_uint()
        state = decoder.read_var_string()
        try:
            json.loads(state, parse_constant=_reject_constant)
        except ValueError as exc:
            raise MalformedMessageError("Présence mal formée (JSON)") from exc
        entries.append(AwarenessEntry(client_id, clock, state))
    if decoder.has_content():
        raise MalformedMessageError("Présence mal formée")
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
        raise MalformedMessageError("Type de synchronisation inconnu")
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
    """Decode every message of a frame (:class:`MalformedMessageError` if any is malformed)."""
    decoder = Decoder(data)
    messages: list[Message] = []
    if not data:
        raise MalformedMessageError("Message vide")
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


def encode_notice(notice: Notice) -> bytes:
    """A permission-denied message carrying ``notice``."""
    return bytes([MessageType.AUTH, 0]) + write_var_string(notice.reason())


def clock_of(state_vector: bytes, client_id: int) -> int:
    """The clock of ``client_id`` in an encoded state vector (0 when absent)."""
    return decode_state_vector(state_vector).get(client_id, 0)
