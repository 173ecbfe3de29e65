"""lib0 encoding and y-websocket message decoding."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pycrdt import Doc, Text

from editor.collab.errors import CloseCode, MalformedMessageError
from editor.collab.lib0 import Decoder, write_var_string, write_var_uint
from editor.collab.protocol import (
    AuthMessage,
    AwarenessEntry,
    AwarenessMessage,
    Notice,
    QueryAwareness,
    SyncStep1,
    SyncStep2,
    SyncUpdate,
    UnknownMessage,
    decode_awareness,
    decode_messages,
    decode_state_vector,
    encode_awareness,
    encode_notice,
    encode_query_awareness,
    encode_sync_step1,
    encode_sync_step2,
    encode_update,
)


class TestVarUint:
    @given(st.integers(min_value=0, max_value=2**53 - 1))
    def test_round_trip(self, value: int) -> None:
        encoded = write_var_uint(value)
        decoder = Decoder(encoded)
        assert decoder.read_var_uint() == value
        assert not decoder.has_content()

    @pytest.mark.parametrize(
        ("value", "encoded"),
        [(0, b"\x00"), (127, b"\x7f"), (128, b"\x80\x01"), (300, b"\xac\x02")],
    )
    def test_lib0_layout(self, value: int, encoded: bytes) -> None:
        assert write_var_uint(value) == encoded

    def test_rejects_negative_and_unsafe(self) -> None:
        with pytest.raises(ValueError, match="non-negative"):
            write_var_uint(-1)
        with pytest.raises(ValueError, match="2\\*\\*53"):
            write_var_uint(2**53)

    def test_overlong_is_malformed(self) -> None:
        with pytest.raises(MalformedMessageError):
            Decoder(b"\xff" * 12 + b"\x01").read_var_uint()

    def test_truncated_is_malformed(self) -> None:
        with pytest.raises(MalformedMessageError):
            Decoder(b"\x80").read_var_uint()

    def test_string_round_trip(self) -> None:
        assert Decoder(write_var_string("Enregistré ✓")).read_var_string() == "Enregistré ✓"

    def test_invalid_utf8_is_malformed(self) -> None:
        with pytest.raises(MalformedMessageError):
            Decoder(b"\x02\xc3\x28").read_var_string()


class TestDecodeMessages:
    def test_sync_messages(self) -> None:
        doc: Doc[Any] = Doc()
        doc["t"] = Text("x")
        sv = doc.get_state()
        update = doc.get_update()
        assert decode_messages(encode_sync_step1(sv)) == [SyncStep1(sv)]
        assert decode_messages(encode_sync_step2(update)) == [SyncStep2(update)]
        assert decode_messages(encode_update(update)) == [SyncUpdate(update)]

    def test_stock_client_step1_bytes(self) -> None:
        # What y-websocket sends first for an empty Y.Doc: [messageSync, step1, varUint8Array([0])]
        assert decode_messages(bytes([0, 0, 1, 0])) == [SyncStep1(b"\x00")]

    def test_awareness(self) -> None:
        entries = [AwarenessEntry(7, 3, '{"user":{"name":"A"}}'), AwarenessEntry(9, 1, "null")]
        [message] = decode_messages(encode_awareness(entries))
        assert isinstance(message, AwarenessMessage)
        assert message.entries == tuple(entries)

    def test_query_awareness_and_auth(self) -> None:
        assert decode_messages(encode_query_awareness()) == [QueryAwareness()]
        reason = '{"code": "read_only", "message": "non"}'
        assert decode_messages(encode_notice(Notice("read_only", "non"))) == [
            AuthMessage(0, reason)
        ]

    def test_unknown_type_is_ignored_with_rest_of_frame(self) -> None:
        assert decode_messages(bytes([42, 1, 2, 3])) == [UnknownMessage(42)]

    def test_several_messages_in_one_frame(self) -> None:
        frame = encode_sync_step1(b"\x00") + encode_query_awareness()
        assert decode_messages(frame) == [SyncStep1(b"\x00"), QueryAwareness()]

    @pytest.mark.parametrize(
        "frame",
        [
            b"",
            b"\x00",
            b"\x00\x00",
            b"\x00\x00\x05\x00",
            b"\x00\x07\x00",
            b"\x00\x00\x02\x01\x05",
            b"\x01\x05\x01\x01\x01",
            b"\x01" + bytes([6]) + b"\x01\x01\x01\x02{x",
        ],
    )
    def test_malformed(self, frame: bytes) -> None:
        with pytest.raises(MalformedMessageError) as caught:
            decode_messages(frame)
        assert caught.value.code == CloseCode.MALFORMED_MESSAGE

    def test_awareness_json_must_be_json_for_javascript(self) -> None:
        payload = b"\x01\x01\x01" + write_var_string("NaN")
        with pytest.raises(MalformedMessageError):
            decode_awareness(payload)

    def test_state_vector(self) -> None:
        doc: Doc[Any] = Doc(client_id=12345)
        doc["t"] = Text("abc")
        assert decode_state_vector(doc.get_state()) == {12345: 3}
        with pytest.raises(MalformedMessageError):
            decode_state_vector(b"\x01\x05")
