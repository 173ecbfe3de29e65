"""The receive fast path: after its first message, a connection's binary messages go from
uvicorn's protocol to the room without the ASGI queue (server.collab.channel), in order, with
the same limits and refusals as through the queue."""

from __future__ import annotations

from typing import Any

from pycrdt import Text

from editor.collab.errors import CloseCode
from server.collab.channel import WebSocketChannel
from tests.collab.app import fresh_ppa, stored_content, token_of
from tests.collab.live import WsClient
from tests.collab.test_ws_access import connect, saved
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
