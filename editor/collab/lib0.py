"""lib0 encoding (what Yjs and y-websocket speak): var uints, byte arrays, strings."""

from __future__ import annotations

from typing import Final

from editor.collab.errors import MalformedMessageError

_MAX_SAFE_INTEGER: Final = 2**53 - 1  # lib0 numbers are JavaScript numbers

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
    """A bounds-checked lib0 decoder; every read error is a :class:`MalformedMessageError`."""

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
                raise MalformedMessageError("Message tronqué (entier)")
            byte = buf[pos]
            pos += 1
            result |= (byte & 0x7F) << shift
            if byte < 0x80:
                break
            shift += 7
            if shift > 53:
                raise MalformedMessageError("Entier hors limites")
        if result > _MAX_SAFE_INTEGER:
            raise MalformedMessageError("Entier hors limites")
        self.pos = pos
        return result

    def read_var_uint8_array(self) -> bytes:
        length = self.read_var_uint()
        start = self.pos
        end = start + length
        if end > len(self.buf):
            raise MalformedMessageError("Message tronqué (octets)")
        self.pos = end
        return self.buf[start:end]

    def read_var_string(self) -> str:
        data = self.read_var_uint8_array()
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise MalformedMessageError("Texte non UTF-8") from exc
