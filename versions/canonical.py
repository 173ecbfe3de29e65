"""Canonical JSON (RFC 8785 "JCS" style) and content hashes.

The canonical form is what gets hashed, signed and stored next to each version:

* objects: keys sorted by their UTF-16 code units (RFC 8785 section 3.2.3), no duplicates;
* no insignificant whitespace; UTF-8 output;
* strings: only ``"``, ``\\`` and control characters below U+0020 are escaped (short forms
  ``\\b \\t \\n \\f \\r`` where they exist, ``\\u00xx`` lowercase otherwise); everything else,
  including non-ASCII text, is written literally;
* numbers: integers only (the content model has no floats), within the I-JSON safe range
  ``|n| <= 2**53 - 1``; floats are refused rather than risking a non-portable rendering;
* ``true``, ``false``, ``null``;
* dates and times come from the content model's JSON mode: ``YYYY-MM-DD`` for dates.

The content hash is the SHA-256 of the canonical JSON of the content model, never of the Yjs
bytes: two Yjs states with the same content have the same content hash. Once a version is stored,
its canonical bytes are authoritative: verification hashes the stored bytes, so a later change of
the model's defaults cannot silently change an old hash.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the content model is only needed by the content helpers
    from editor.schema import PPAContent

MAX_SAFE_INTEGER = 2**53 - 1
"""Largest integer written by the canonical form (I-JSON, RFC 7493)."""

_SHORT_ESCAPES = {
    0x08: "\\b",
    0x09: "\\t",
    0x0A: "\\n",
    0x0C: "\\f",
    0x0D: "\\r",
    0x22: '\\"',
    0x5C: "\\\\",
}


class CanonicalError(ValueError):
    """A value cannot be written in canonical form, or bytes are not in canonical form."""


_NEEDS_ESCAPE = re.compile(r'[\x00-\x1f"\\\ud800-\udfff]')


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    if 0xD800 <= code <= 0xDFFF:
        raise CanonicalError("lone surrogate in string")
    return _SHORT_ESCAPES.get(code) or f"\\u{code:04x}"


def _encode_string(value: str, out: list[str]) -> None:
    out.append('"')
    out.append(_NEEDS_ESCAPE.sub(_escape, value))
    out.append('"')


def _utf16_key(key: str) -> bytes:
    return key.encode("utf-16-be", errors="surrogatepass")


def _encode(value: Any, out: list[str], depth: int) -> None:
    if depth > 64:
        raise CanonicalError("nesting too deep")
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, int):
        if abs(value) > MAX_SAFE_INTEGER:
            raise CanonicalError(f"integer outside the safe range ({value.bit_length()} bits)")
        out.append(str(int(value)))
    elif isinstance(value, float):
        raise CanonicalError("floats are not allowed in canonical JSON here")
    elif isinstance(value, str):
        _encode_string(value, out)
    elif isinstance(value, Mapping):
        _encode_object(value, out, depth)
    elif isinstance(value, Sequence) and not isinstance(value, bytes | bytearray):
        _encode_array(value, out, depth)
    else:
        raise CanonicalError(f"not a JSON value: {type(value).__name__}")


def _encode_object(value: Mapping[Any, Any], out: list[str], depth: int) -> None:
    keys = list(value.keys())
    for key in keys:
        if not isinstance(key, str):
            raise CanonicalError(f"object key is not a string: {key!r}")
    out.append("{")
    for index, key in enumerate(sorted(keys, key=_utf16_key)):
        if index:
            out.append(",")
        _encode_string(key, out)
        out.append(":")
        _encode(value[key], out, depth + 1)
    out.append("}")


def _encode_array(value: Sequence[Any], out: list[str], depth: int) -> None:
    out.append("[")
    for index, item in enumerate(value):
        if index:
            out.append(",")
        _encode(item, out, depth + 1)
    out.append("]")


def _check(value: Any, depth: int) -> bool:
    """Validate a JSON value for the canonical form; return whether every key is in the BMP."""
    if depth > 64:
        raise CanonicalError("nesting too deep")
    if isinstance(value, str) or value is None or value is True or value is False:
        return True
    if isinstance(value, int):
        if abs(value) > MAX_SAFE_INTEGER:
            raise CanonicalError(f"integer outside the safe range ({value.bit_length()} bits)")
        return True
    if isinstance(value, float):
        raise CanonicalError("floats are not allowed in canonical JSON here")
    if isinstance(value, Mapping):
        bmp = True
        for key, item in value.items():
            if not isinstance(key, str):
                raise CanonicalError(f"object key is not a string: {key!r}")
            if bmp and not key.isascii() and max(map(ord, key)) > 0xFFFF:
                bmp = False
            bmp = _check(item, depth + 1) and bmp
        return bmp
    if isinstance(value, list | tuple):
        bmp = True
        for item in value:
            bmp = _check(item, depth + 1) and bmp
        return bmp
    raise CanonicalError(f"not a JSON value: {type(value).__name__}")


def canonical_json(value: Any) -> bytes:
    """Return the canonical UTF-8 JSON encoding of a plain JSON value.

    ``value`` is made of ``dict`` (string keys), ``list``/``tuple``, ``str``, ``int``, ``bool``
    and ``None``. Raises :class:`CanonicalError` for anything else (floats included).

    Fast path: when no object key holds a character outside the Basic Multilingual Plane,
    code-point order equals UTF-16 order and the standard library's compact, non-ASCII-escaping
    encoder writes exactly the RFC 8785 form (same escapes); otherwise the reference encoder
    :func:`canonical_json_reference` runs.
    """
    if not _check(value, 0):
        return canonical_json_reference(value)
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise CanonicalError("lone surrogate in string") from exc


def canonical_json_reference(value: Any) -> bytes:
    """Return the canonical encoding with the reference (slow, obviously-RFC 8785) encoder."""
    out: list[str] = []
    _encode(value, out, 0)
    return "".join(out).encode("utf-8")


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, item in pairs:
        if key in result:
            raise CanonicalError(f"duplicate key {key!r}")
        result[key] = item
    return result


def _reject_constant(name: str) -> Any:
    raise CanonicalError(f"non-standard JSON constant {name}")


def _reject_float(text: str) -> Any:
    raise CanonicalError(f"float in canonical JSON: {text}")


def parse_canonical(data: bytes) -> Any:
    """Parse bytes that must already be in canonical form; return the plain JSON value.

    Raises :class:`CanonicalError` if the bytes are not valid UTF-8 JSON, contain duplicate keys
    or floats, or differ in any byte from the canonical re-encoding of what they contain.
    """
    try:
        text = data.decode("utf-8")
        value = json.loads(
            text,
            object_pairs_hook=_reject_duplicates,
            parse_constant=_reject_constant,
            parse_float=_reject_float,
        )
    except CanonicalError:
        raise
    except (ValueError, RecursionError) as exc:  # ValueError: also integers over 4,300 digits
        raise CanonicalError(f"not valid JSON: {type(exc).__name__}") from exc
    try:
        canonical = canonical_json(value)
    except CanonicalError:
        raise
    except (ValueError, RecursionError) as exc:
        raise CanonicalError(f"cannot be re-encoded: {type(exc).__name__}") from exc
    if canonical != data:
        raise CanonicalError("bytes are not in canonical form")
    return value


def content_to_json(content: PPAContent) -> dict[str, Any]:
    """Return the content model as a plain JSON object (every field, dates as ISO strings)."""
    return content.model_dump(mode="json")


def canonical_content(content: PPAContent) -> bytes:
    """Return the canonical JSON bytes of a PPA content (what is stored and hashed)."""
    return canonical_json(content_to_json(content))


def content_from_canonical(data: bytes) -> PPAContent:
    """Parse canonical content bytes back into the content model.

    Raises :class:`CanonicalError` if the bytes are not canonical, and pydantic's
    ``ValidationError`` if they do not describe a valid content model.
    """
    from editor.schema import PPAContent

    return PPAContent.model_validate(parse_canonical(data))


def sha256_hex(data: bytes) -> str:
    """Return the lowercase hexadecimal SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def content_hash(content: PPAContent | bytes) -> str:
    """Return the content hash: SHA-256 (hex) of the canonical JSON of the content.

    Given ``bytes``, they are taken as already-canonical stored content and hashed as they are
    (use :func:`parse_canonical` first when they come from an untrusted place).
    """
    data = content if isinstance(content, bytes) else canonical_content(content)
    return sha256_hex(data)
