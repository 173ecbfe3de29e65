"""The receive fast path: after its first message, a connection's binary messages go from
uvicorn's protocol to the room without the ASGI queue (server.collab.channel), in order, with
the same limits and refusals as through the queue."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from pycrdt import Doc, Text
from websockets.frames import Frame, Opcode

from editor.collab.errors import CloseCode
from editor.collab.protocol import encode_update
from server.collab.channel import WebSocketChannel, binary_messages
from tests.collab.app import fresh_ppa, stored_content, token_of
from tests.collab.live import WsClient
from tests.collab.test_ws_access import connect, round_trip, saved
from tests.conftest import DatabaseInfo, LiveServer


def _channels(live_server: LiveServer, ppa_id: str) -> list[WebSocketChannel]:
    room = live_server.app.state.collab.manager.room(ppa_id)
    assert room is not None
    return [peer.channel for peer in room.peers]


async def test_writes_go_direct_in_order_and_reach_the_others(
    live_server: LiveServer,
    ws_url: str,
    api_as: Any,
    demo: dict[str, Any],
    database: DatabaseInfo,
    open_clients: list[WsClient],
) -> None:
    cercle = fresh_ppa(api_as, demo)
    writer = await connect(open_clients, ws_url, cercle.ppa_id, token_of(api_as, "coordinatrice"))
    reader = await connect(open_clients, ws_url, cercle.ppa_id, token_of(api_as, "infirmier"))
    text = writer.doc.get("projet_de_vie", type=Text)
    for word in ("un ", "deux ", "trois ", "quatre ", "cinq"):
        text.insert(len(text), word)
        await writer.drain()
    await saved(writer)
    expected = "un deux trois quatre cinq"
    await reader.wait_for(lambda: str(reader.doc.get("projet_de_vie", type=Text)) == expected)
    assert stored_content(database, cercle.ppa_id).projet_de_vie == expected
    direct = [c.received_directly for c in _channels(live_server, cercle.ppa_id)]
    assert max(direct) >= 4, direct  # the writer's messages after its first one


async def test_a_text_message_on_the_direct_path_still_closes(
    ws_url: str, api_as: Any, demo: dict[str, Any], open_clients: list[WsClient]
) -> None:
    cercle = fresh_ppa(api_as, demo)
    client = await connect(open_clients, ws_url, cercle.ppa_id, token_of(api_as, "coordinatrice"))
    client.doc.get("projet_de_vie", type=Text).insert(0, "avant")
    await saved(client)  # messages went through: the direct path is on
    assert client._ws is not None
    await client._ws.send("pas du binaire")  # a text frame
    assert await client.wait_closed() == CloseCode.MALFORMED_MESSAGE


def _frame(payload: bytes, *, opcode: Opcode = Opcode.BINARY, fin: bool = True) -> bytes:
    return Frame(opcode, payload, fin=fin).serialize(mask=True, extensions=[])


class TestBinaryMessages:
    """What the segment reader takes (whole final binary frames) and leaves to websockets."""

    def test_whole_binary_frames_are_read_in_order(self) -> None:
        big = bytes(range(256)) * 2  # a 16-bit length
        data = _frame(b"un") + _frame(big) + _frame(b"")
        assert binary_messages(data, None) == [b"un", big, b""]

    @pytest.mark.parametrize(
        "data",
        [
            pytest.param(_frame(b"un")[:-1], id="cut-payload"),
            pytest.param(_frame(b"un") + _frame(b"deux")[:3], id="second-cut-in-header"),
            pytest.param(_frame(b"un", opcode=Opcode.TEXT), id="text"),
            pytest.param(_frame(b"un") + _frame(b"", opcode=Opcode.PING), id="ping-after"),
            pytest.param(_frame(b"un", fin=False), id="fragment"),
            pytest.param(_frame(b"un", opcode=Opcode.CONT), id="continuation"),
            pytest.param(
                Frame(Opcode.BINARY, b"un").serialize(mask=False, extensions=[]), id="unmasked"
            ),
            pytest.param(bytes([0xC2]) + _frame(b"un")[1:], id="rsv1-compressed"),
            pytest.param(_frame(b"x" * 70_000), id="64-bit-length"),
        ],
    )
    def test_anything_else_is_left_to_websockets(self, data: bytes) -> None:
        assert binary_messages(data, None) is None

    def test_a_frame_over_the_limit_is_left_to_websockets(self) -> None:
        assert binary_messages(_frame(b"x" * 11), 10) is None
        assert binary_messages(_frame(b"x" * 10), 10) == [b"x" * 10]


async def test_frames_sharing_a_segment_or_cut_across_two_arrive_in_order(
    live_server: LiveServer,
    ws_url: str,
    api_as: Any,
    demo: dict[str, Any],
    database: DatabaseInfo,
    open_clients: list[WsClient],
) -> None:
    """Several frames in one TCP segment (read in one pass), a frame cut across two segments
    and a ping between writes (both through websockets' parser): every write applied, in
    order."""
    cercle = fresh_ppa(api_as, demo)
    writer = await connect(open_clients, ws_url, cercle.ppa_id, token_of(api_as, "coordinatrice"))
    reader = await connect(open_clients, ws_url, cercle.ppa_id, token_of(api_as, "infirmier"))
    text = writer.doc.get("projet_de_vie", type=Text)
    text.insert(len(text), "un ")
    await saved(writer)  # the direct path is on
    before = sum(c.received_directly for c in _channels(live_server, cercle.ppa_id))
    scratch: Doc[Any] = Doc()
    scratch.apply_update(writer.doc.get_update())
    updates: list[bytes] = []
    subscription = scratch.observe(lambda event: updates.append(event.update))
    words = ("deux ", "trois ", "quatre ", "cinq ", "six ", "sept ", "huit ", "neuf")
    scratch_text = scratch.get("projet_de_vie", type=Text)
    for word in words:
        scratch_text.insert(len(scratch_text), word)
    scratch.unobserve(subscription)
    f = [_frame(encode_update(update)) for update in updates]
    assert writer._ws is not None
    transport = writer._ws.transport
    ping = _frame(b"", opcode=Opcode.PING)
    for segment in (f[0] + f[1], f[2] + f[3], f[4][:3], f[4][3:] + ping + f[5], f[6] + f[7]):
        transport.write(segment)  # two frames a segment; a frame cut in its header
        await asyncio.sleep(0.05)
    expected = "un " + "".join(words)
    await reader.wait_for(lambda: str(reader.doc.get("projet_de_vie", type=Text)) == expected)
    await round_trip(writer)
    assert stored_content(database, cercle.ppa_id).projet_de_vie == expected
    after = sum(c.received_directly for c in _channels(live_server, cercle.ppa_id))
    assert after - before >= len(words)
