"""Characters no text of a PPA may hold, found once for every entry point.

Refused in what people write (REST inputs, live edits): C0 control characters other than tab,
line feed and carriage return (``\\r\\n`` line ends stay accepted), lone surrogates, and Unicode
noncharacters (U+FDD0..U+FDEF and the last two code points of every plane, U+FFFE/U+FFFF
included). They are invisible, break XML 1.0 (CDA, XDM, DOCX) and PDF text, and have no meaning
in a care plan. Bidirectional controls (U+202E), emoji and combining marks are ordinary text.

Renderers cannot refuse a version that already holds such characters (versions are immutable):
:func:`xml_safe` drops what XML 1.0 cannot carry, :func:`scrub` does it through a whole object.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from pydantic import BaseModel

_PLANE_ENDS = "".join(chr(plane << 16 | low) for plane in range(17) for low in (0xFFFE, 0xFFFF))
_ILLEGAL = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufdd0-\ufdef" + re.escape(_PLANE_ENDS) + "]"
)
SCHEMA_PATTERN = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\uFDD0-\uFDEF\uFFFE\uFFFF]*$"
"""The same rule as a JSON Schema ``pattern`` (ECMA-262, which reads ``\\uXXXX`` as Python's
``re`` does): the Basic Multilingual Plane part of it; the other planes' last two code points
and lone surrogates are beyond a pattern without the ``u`` flag, and refused all the same."""
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
"""Outside XML 1.0 ``Char`` (the other noncharacters are legal XML)."""


@dataclass(frozen=True)
class IllegalChar:
    """One refused character of a text: where, which, and why (French)."""

    position: int
    """Index in the text (0-based, in code points)."""
    char: str

    @property
    def code_point(self) -> str:
        """``U+0000``."""
        return f"U+{ord(self.char):04X}"

    @property
    def kind(self) -> str:
        """French name of the class of the character."""
        value = ord(self.char)
        if value < 0x20:
            return "caractère de contrôle"
        if 0xD800 <= value <= 0xDFFF:
            return "substitut isolé (demi-caractère)"
        return "non-caractère Unicode"

    def message(self) -> str:
        """French reason a person can act on (names the character, never the text)."""
        return (
            f"caractère interdit {self.code_point} ({self.kind}) en position "
            f"{self.position + 1} : retirez-le ou retapez le texte"
        )


def find_illegal_chars(text: str) -> list[IllegalChar]:
    """Every refused character of ``text``, in order (``[]`` when the text is acceptable)."""
    return [IllegalChar(m.start(), m.group()) for m in _ILLEGAL.finditer(text)]


def has_illegal_chars(text: str) -> bool:
    """Whether ``text`` holds a refused character (:func:`find_illegal_chars` is not empty)."""
    return _ILLEGAL.search(text) is not None


def illegal_text_paths(value: object, path: str = "") -> Iterator[tuple[str, IllegalChar]]:
    """(path, first refused character) of every text inside ``value``, in order.

    Walks strings, lists, tuples, sets, dict keys and values, and pydantic models (field by
    field). Paths read like :class:`editor.schema.Problem` paths: ``.field``, ``[<item id>]`` for
    a list item carrying an ``id``, ``[<index>]`` otherwise (``objectifs[<id>].titre``).
    """
    if isinstance(value, str):
        found = _ILLEGAL.search(value)
        if found is not None:
            yield path, IllegalChar(found.start(), found.group())
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            yield from illegal_text_paths(getattr(value, name), f"{path}.{name}")
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from illegal_text_paths(key, f"{path}[clé]")
            yield from illegal_text_paths(item, f"{path}[{key}]")
    elif isinstance(value, list | tuple | set | frozenset):
        for index, item in enumerate(value):
            item_id = getattr(item, "id", None)
            key = item_id if isinstance(item_id, str) and not _ILLEGAL.search(item_id) else index
            yield from illegal_text_paths(item, f"{path}[{key}]")


def xml_safe(text: str) -> str:
    """``text`` without the characters XML 1.0 cannot carry (the same object when it has none)."""
    return _XML_ILLEGAL.sub("", text) if _XML_ILLEGAL.search(text) else text


T = TypeVar("T")


def scrub(value: T) -> T:
    """``value`` with :func:`xml_safe` applied to every text inside it (strings, containers,
    pydantic models, dict keys); the very same object when nothing had to change."""
    result: Any = value
    if isinstance(value, str):
        result = xml_safe(value)
    elif isinstance(value, BaseModel):
        changed = {
            name: new
            for name in type(value).model_fields
            if (new := scrub(old := getattr(value, name))) is not old
        }
        if changed:
            result = value.model_copy(update=changed)
    elif isinstance(value, dict):
        items = [(scrub(k), scrub(v)) for k, v in value.items()]
        pairs = zip(items, value.items(), strict=True)
        if any(k is not k0 or v is not v0 for (k, v), (k0, v0) in pairs):
            result = type(value)(items)
    elif isinstance(value, list | tuple):
        items_ = [scrub(item) for item in value]
        if any(new is not old for new, old in zip(items_, value, strict=True)):
            result = type(value)(items_)
    return cast(T, result)
