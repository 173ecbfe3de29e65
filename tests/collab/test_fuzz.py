"""Malformed, truncated and oversized messages: no crash, no hang, document byte-identical."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pycrdt import Doc, Map, Text

from editor.collab.errors import CloseCode, SyncError
from editor.collab.lib0 import write_var_uint
from editor.collab.manager import RoomManager
from editor.collab.ports import Limits
from editor.collab.protocol import (
    AwarenessEntry,
    SyncStep2,
    SyncUpdate,
    decode_messages,
    decode_state_vector,
    encode_awareness,
    encode_sync_step1,
    encode_sync_step2,
    encode_update,
)
from editor.collab.room import Room
from editor.collab.updates import ClockRange, update_clients, update_ranges
from tests.collab.channels import MemoryChannel
from tests.collab.live import Identity, LiveCollab, WsClient, live_collab
from tests.collab.stores import MemoryStore


def sample_updates() -> list[bytes]:
    doc: Doc[Any] = Doc(client_id=424242)
    text = doc.get("t", type=Text)
    meta = doc.get("m", type=Map)
    updates = []
    state = doc.get_state()
    for i in range(6):
        text.insert(len(str(text)) // 2, f"mot{i} ")
        meta[f"k{i % 3}"] = i
        if i % 2:
            del text[0:2]
        updates.append(doc.get_update(state))
        state = doc.get_state()
    return updates


UPDATES = sample_updates()
BASE: Doc[Any] = Doc(client_id=1)
BASE.get("t", type=Text).insert(0, "contenu initial")
BASE_STATE = BASE.get_update()

valid_messages = st.one_of(
    st.sampled_from(UPDATES).map(encode_update),
    st.sampled_from(UPDATES).map(encode_sync_step2),
    st.just(encode_sync_step1(BASE.get_state())),
    st.just(encode_awareness([AwarenessEntry(77, 3, '{"user":{"name":"A"}}')])),
)


@st.composite
def truncated(draw: st.DrawFn) -> bytes:
    message = draw(valid_messages)
    return message[: draw(st.integers(min_value=0, max_value=len(message) - 1))]


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    message = bytearray(draw(valid_messages))
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        op = draw(st.integers(min_value=0, max_value=2))
        position = draw(st.integers(min_value=0, max_value=len(message)))
        if op == 0 and position < len(message):
            message[position] = draw(st.integers(min_value=0, max_value=255))
        elif op == 1:
            message.insert(position, draw(st.integers(min_value=0, max_value=255)))
        elif position < len(message):
            del message[position]
    return bytes(message)


@st.composite
def lying_length(draw: st.DrawFn) -> bytes:
    prefix = draw(st.sampled_from([b"\x00\x00", b"\x00\x01", b"\x00\x02", b"\x01"]))
    claimed = draw(st.integers(min_value=1, max_value=2**53 - 1))
    body = draw(st.binary(max_size=64))
    return prefix + write_var_uint(claimed) + body


frames = st.one_of(
    st.binary(max_size=300),
    truncated(),
    mutated(),
    lying_length(),
    st.binary(min_size=1, max_size=40).map(lambda b: b"\x00" + b),
    st.binary(min_size=1, max_size=40).map(lambda b: b"\x01" + b),
)


def fresh_room() -> tuple[Room, MemoryChannel, MemoryChannel, Any]:
    doc: Doc[Any] = Doc()
    doc.apply_update(BASE_STATE)
    room = Room("fuzz", doc, MemoryStore(), limits=Limits(max_message_bytes=4096))
    writer = MemoryChannel("writer")
    other = MemoryChannel("other")
    peer = room.join(writer)
    room.join(other)
    writer.take()
    other.take()
    return room, writer, other, peer


@settings(
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(frame=frames)
async def test_any_frame_is_handled_or_refused_cleanly(frame: bytes) -> None:
    room, _writer, other, peer = fresh_room()
    before = room.doc.get_update()
    try:
        expected = decode_messages(frame)
    except SyncError:
        expected = None
    error: SyncError | None = None
    try:
        room.receive(peer, frame)
    except SyncError as caught:
        error = caught
    finally:
        room.stop()
    if error is not None:
        assert error.code in set(CloseCode)
        assert error.reason
        assert room.doc.get_update() == before
        assert other.sent == []
        assert room.idle
        return
    # Accepted: the document is exactly the base plus the updates of the frame.
    assert expected is not None
    reference: Doc[Any] = Doc()
    reference.apply_update(before)
    for message in expected:
        if isinstance(message, SyncUpdate | SyncStep2):
            reference.apply_update(message.update)
    assert room.doc.get_update() == reference.get_update()


async def test_oversized_frame_is_refused_without_decoding() -> None:
    room, _writer, _other, peer = fresh_room()
    before = room.doc.get_update()
    with pytest.raises(SyncError) as caught:
        room.receive(peer, encode_update(b"\x00" * 5000))
    assert caught.value.code == CloseCode.MESSAGE_TOO_LARGE
    assert room.doc.get_update() == before
    room.stop()


TOKENS = {"tok-a": Identity("alice"), "tok-b": Identity("bruno")}


@pytest.fixture
async def server(manager: RoomManager) -> AsyncIterator[LiveCollab]:
    async with live_collab(manager, TOKENS) as live:
        yield live


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        (b"\x00\x00\x05\x00", CloseCode.MALFORMED_MESSAGE),
        (b"\x00\x02\x03\xff\xff\xff", CloseCode.MALFORMED_MESSAGE),
        (b"\x00\x09\x00", CloseCode.MALFORMED_MESSAGE),
        (encode_update(b"\x01" * (3 * 1024 * 1024)), CloseCode.MESSAGE_TOO_LARGE),
    ],
)
async def test_malformed_frame_closes_only_that_socket(
    server: LiveCollab, manager: RoomManager, frame: bytes, code: CloseCode
) -> None:
    good = WsClient(server.url, "fz", "tok-a")
    bad = WsClient(server.url, "fz", "tok-b")
    await good.connect()
    await bad.connect()
    await good.synced.wait()
    await bad.synced.wait()
    good.text += "intact"
    await good.wait_for(good.saved)
    room = manager.room("fz")
    assert room is not None
    before = room.doc.get_update()

    await bad.send(frame)
    assert await bad.wait_closed() == code
    assert bad.close_reason
    assert room.doc.get_update() == before

    good.text += " toujours"
    await good.wait_for(good.saved)
    assert str(room.doc.get("t", type=Text)) == "intact toujours"
    await good.close()


async def test_text_frame_is_malformed(server: LiveCollab) -> None:
    client = WsClient(server.url, "fz2", "tok-a")
    await client.connect()
    assert client._ws is not None
    await client._ws.send("bonjour")
    assert await client.wait_closed() == CloseCode.MALFORMED_MESSAGE


async def test_unknown_message_type_is_ignored(server: LiveCollab) -> None:
    client = WsClient(server.url, "fz3", "tok-a")
    await client.connect()
    await client.synced.wait()
    await client.send(b"\x63\x01\x02\x03")
    client.text += "ok"
    await client.wait_for(client.saved)
    assert client.close_code is None
    await client.close()


@settings(max_examples=300, deadline=None)
@given(data=st.one_of(frames, st.sampled_from(UPDATES), mutated().map(lambda m: m[3:])))
def test_client_ids_of_any_bytes_are_read_or_refused_cleanly(data: bytes) -> None:
    try:
        clients = update_clients(data)
    except SyncError:
        return
    assert all(isinstance(c, int) for c in clients)


def test_client_ids_of_updates() -> None:
    assert [update_clients(u) for u in UPDATES] == [[424242]] * len(UPDATES)
    other: Doc[Any] = Doc(client_id=9)
    other.apply_update(BASE_STATE)
    other.get("m", type=Map)["k"] = [1.5, "x", None, True, {"a": b"\x01"}]
    assert sorted(update_clients(other.get_update())) == [1, 9]


def test_clock_ranges_of_updates() -> None:
    doc: Doc[Any] = Doc(client_id=5)
    text = doc.get("t", type=Text)
    updates: list[bytes] = []
    doc.observe(lambda event: updates.append(event.update))
    text.insert(0, "abcd")
    text.insert(2, "€x")
    text.insert(0, "😀")  # two UTF-16 code units, as Yjs counts
    assert [update_ranges(u) for u in updates] == [
        [ClockRange(5, 0, 4)],
        [ClockRange(5, 4, 6)],
        [ClockRange(5, 6, 8)],
    ]
    assert decode_state_vector(doc.get_state()) == {5: 8}
