"""Yjs (v1) updates read from their bytes, with bounded work.

pycrdt can only apply, merge and diff an update (it exposes no reader of its structs), so the
client ids, clock ranges and text-only edits are read here: nesting is bounded and bytes that are
not an update raise :class:`MalformedMessageError` (or read as "not a text edit"), never a panic."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any, Final, NamedTuple

from pycrdt import Doc, merge_updates

from editor.collab.errors import MalformedMessageError
from editor.collab.lib0 import Decoder

EMPTY_UPDATE: Final = b"\x00\x00"
"""A Yjs update with no struct and no deletion (what a client sends when it has nothing new)."""

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


_TEXT_CONTENT_REFS: Final = frozenset({1, 4})  # ContentDeleted, ContentString


def _read_text(decoder: Decoder) -> str:
    """A lib0 string; lone surrogates are kept (``surrogatepass``) for the guard to judge."""
    try:
        return decoder.read_var_uint8_array().decode("utf-8", "surrogatepass")
    except UnicodeDecodeError as exc:
        raise MalformedMessageError("Texte non UTF-8") from exc


def _json_strings(text: str, strings: list[str]) -> None:
    """The strings of a JSON text (Yjs embeds, formats and legacy JSON content): every key and
    string value when it parses, else the text itself."""
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        strings.append(text)
        return
    pending = [value]
    while pending:
        value = pending.pop()
        if isinstance(value, str):
            strings.append(value)
        elif isinstance(value, list):
            pending.extend(value)
        elif isinstance(value, dict):
            strings.extend(value.keys())
            pending.extend(value.values())


def _skip_any(  # noqa: C901 - one case per lib0 type
    decoder: Decoder, depth: int = 0, strings: list[str] | None = None
) -> None:
    if depth > 64:
        raise MalformedMessageError("Valeur trop imbriquée")
    buf = decoder.buf
    if decoder.pos >= len(buf):
        raise MalformedMessageError("Message tronqué (valeur)")
    tag = buf[decoder.pos]
    decoder.pos += 1
    if tag in (127, 126, 121, 120):  # undefined, null, false, true
        return
    if tag == 125:  # varInt
        while True:
            if decoder.pos >= len(buf):
                raise MalformedMessageError("Message tronqué (entier)")
            byte = buf[decoder.pos]
            decoder.pos += 1
            if byte < 0x80:
                return
    if tag in (124, 123, 122):  # float32, float64, bigint64
        decoder.pos += 4 if tag == 124 else 8
        if decoder.pos > len(buf):
            raise MalformedMessageError("Message tronqué (nombre)")
        return
    if tag == 119:  # string
        if strings is None:
            decoder.read_var_uint8_array()
        else:
            strings.append(_read_text(decoder))
        return
    if tag == 116:  # Uint8Array
        decoder.read_var_uint8_array()
        return
    if tag == 118:  # object
        for _ in range(decoder.read_var_uint()):
            if strings is None:
                decoder.read_var_uint8_array()
            else:
                strings.append(_read_text(decoder))
            _skip_any(decoder, depth + 1, strings)
        return
    if tag == 117:  # array
        for _ in range(decoder.read_var_uint()):
            _skip_any(decoder, depth + 1, strings)
        return
    raise MalformedMessageError("Valeur de type inconnu")


def _discard(_text: str) -> None:
    return None


def _struct_length(decoder: Decoder, info: int, strings: list[str] | None = None) -> int:
    """Skip one struct of a v1 update; return its length in clock units. ``strings``, when
    given, receives every string the struct holds (root name, key, content)."""
    ref = info & 0x1F
    if ref in (0, 10):  # GC, Skip
        return decoder.read_var_uint()
    if info & 0x80:  # origin
        decoder.read_var_uint()
        decoder.read_var_uint()
    if info & 0x40:  # right origin
        decoder.read_var_uint()
        decoder.read_var_uint()
    add = _discard if strings is None else strings.append
    if not info & 0xC0:
        if decoder.read_var_uint() == 1:
            add(_read_text(decoder))  # root name
        else:
            decoder.read_var_uint()
            decoder.read_var_uint()
        if info & 0x20:
            add(_read_text(decoder))  # key in the parent map
    return _content_length(decoder, ref, strings)


def _content_length(  # noqa: C901 - one case per Yjs content
    decoder: Decoder, ref: int, strings: list[str] | None
) -> int:
    add = _discard if strings is None else strings.append

    def add_json(text: str) -> None:
        if strings is not None:
            _json_strings(text, strings)

    if ref == 1:  # deleted
        return decoder.read_var_uint()
    if ref == 2:  # JSON
        count = decoder.read_var_uint()
        for _ in range(count):
            add_json(_read_text(decoder))
        return count
    if ref == 4:  # string: its length in UTF-16 code units, as Yjs counts
        text = _read_text(decoder)
        add(text)
        return len(text.encode("utf-16-le", "surrogatepass")) // 2
    if ref == 3:  # binary
        decoder.read_var_uint8_array()
        return 1
    if ref == 5:  # embed
        add_json(_read_text(decoder))
        return 1
    if ref == 6:  # format
        add(_read_text(decoder))
        add_json(_read_text(decoder))
        return 1
    if ref == 7:  # type
        if decoder.read_var_uint() in (3, 5):  # XmlElement, XmlHook: a name
            add(_read_text(decoder))
        return 1
    if ref == 8:  # any
        count = decoder.read_var_uint()
        for _ in range(count):
            _skip_any(decoder, 0, strings)
        return count
    if ref == 9:  # subdocument
        add(_read_text(decoder))  # guid
        _skip_any(decoder, 0, strings)
        return 1
    raise MalformedMessageError("Contenu de type inconnu")


class ClockRange(NamedTuple):
    client: int
    start: int
    end: int
    """Exclusive: the update holds this client's clocks ``start .. end - 1`` (and maybe gaps)."""


def _read_structs(update: bytes, strings: list[str] | None) -> list[ClockRange]:
    decoder = Decoder(update)
    ranges: list[ClockRange] = []
    for _ in range(decoder.read_var_uint()):
        structs = decoder.read_var_uint()
        client = decoder.read_var_uint()
        start = clock = decoder.read_var_uint()
        for _ in range(structs):
            if decoder.pos >= len(update):
                raise MalformedMessageError("Message tronqué (structure)")
            info = update[decoder.pos]
            decoder.pos += 1
            clock += _struct_length(decoder, info, strings)
        ranges.append(ClockRange(client, start, clock))
    return ranges


def update_ranges(update: bytes) -> list[ClockRange]:
    """The clock range of each client whose structs a (v1) update holds, without applying it
    (deletions carry no clock). Raises :class:`MalformedMessageError` on bytes that are not one."""
    return _read_structs(update, None)


def update_strings(update: bytes) -> list[str]:
    """Every string a (v1) update brings: text content, root names, map keys, values (nested
    keys and strings included), embeds, formats and XML names, lone surrogates kept. Raises
    :class:`MalformedMessageError` on bytes that are not an update."""
    strings: list[str] = []
    _read_structs(update, strings)
    return strings


def update_clients(update: bytes) -> list[int]:
    """The Yjs client ids whose structs a (v1) update holds, in the update's order."""
    return [r.client for r in update_ranges(update)]


def is_text_edit(update: bytes, text_roots: frozenset[str] = frozenset()) -> bool:
    """Whether a (v1) update only inserts characters and deletes (:func:`text_edit_strings`)."""
    return text_edit_strings(update, text_roots) is not None


def client_ids_text(clients: Iterable[int]) -> str:
    """Client ids as the update log keeps them: distinct, ascending, space-separated."""
    return " ".join(str(client) for client in sorted(set(clients)))


def text_edit_strings(update: bytes, text_roots: frozenset[str] = frozenset()) -> list[str] | None:
    """The strings a (v1) update inserts if it only inserts characters and deletes (every new
    item holds string content, none is keyed into a map, and none is attached to a root other
    than ``text_roots``), else ``None`` (also for bytes that are not an update).

    Such a write cannot add an item, a key, a value or a formatting attribute. (A delete can still
    remove a map key; and a crafted string item attached after an array element would slip by:
    the room's periodic full check catches both.)"""
    return text_edit_scan(update, text_roots, None)


def text_edit_scan(  # noqa: C901 - walks the update's structs in one pass
    update: bytes, text_roots: frozenset[str], clients: list[int] | None
) -> list[str] | None:
    """:func:`text_edit_strings`, also appending to ``clients`` (when given) the client id of
    each of the update's struct sections, in order (those of :func:`update_clients`, in the same
    pass)."""
    decoder = Decoder(update)
    strings: list[str] = []
    try:
        for _ in range(decoder.read_var_uint()):
            structs = decoder.read_var_uint()
            client = decoder.read_var_uint()
            if clients is not None:
                clients.append(client)
            decoder.read_var_uint()  # first clock
            for _ in range(structs):
                if decoder.pos >= len(update):
                    return None
                info = update[decoder.pos]
                decoder.pos += 1
                ref = info & 0x1F
                if ref in (0, 10):  # GC, Skip
                    decoder.read_var_uint()
                    continue
                if ref not in _TEXT_CONTENT_REFS:
                    return None
                if info & 0x80:
                    decoder.read_var_uint()
                    decoder.read_var_uint()
                if info & 0x40:
                    decoder.read_var_uint()
                    decoder.read_var_uint()
                if not info & 0xC0:
                    if decoder.read_var_uint() == 1:
                        if _read_text(decoder) not in text_roots:
                            return None
                    else:
                        decoder.read_var_uint()
                        decoder.read_var_uint()
                    if info & 0x20:
                        return None
                if ref == 4:
                    strings.append(_read_text(decoder))
                else:
                    decoder.read_var_uint()
    except MalformedMessageError:
        return None
    return strings
