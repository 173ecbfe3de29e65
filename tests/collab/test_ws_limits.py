"""Each limit of the settings closes the offending connection with its own code and reason,
against the real app; the document and the other connections are unaffected."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from pycrdt import Text

from editor.collab.errors import CloseCode
from editor.collab.protocol import encode_update
from tests.collab.app import AppServer, fresh_ppa, stored_content, token_of
from tests.collab.live import WsClient
from tests.collab.test_ws_access import connect, saved
from tests.conftest import DatabaseInfo, make_settings


@pytest.fixture
async def server(database: DatabaseInfo, tmp_path: Path) -> AsyncIterator[AppServer]:
    settings = make_settings(
        database,
        tmp_path,
        collab_max_message_bytes=4096,
        collab_max_document_bytes=20_000,
        collab_max_connections_per_user=3,
        collab_max_connections_per_ppa=4,
        collab_updates_per_second=5,
        collab_update_burst=5,
    )
    app = AppServer(settings)
    await app.start()
    yield app
    await app.stop()


async def test_limits_close_with_their_codes(
    server: AppServer,
    api_as: Any,
    demo: dict[str, Any],
    database: DatabaseInfo,
    open_clients: list[WsClient],
) -> None:
    cercle = fresh_ppa(api_as, demo)
    coord = token_of(api_as, "coordinatrice")
    keeper = await connect(open_clients, server.url, cercle.ppa_id, coord)
    keeper.doc.get("projet_de_vie", type=Text).insert(0, "intact")
    await saved(keeper)

    # Message size: 4413.
    big = await connect(open_clients, server.url, cercle.ppa_id, coord)
    await big.send(encode_update(b"\x00" * 5000))
    assert await big.wait_closed() == CloseCode.MESSAGE_TOO_LARGE
    assert big.close_reason == "Message trop volumineux"

    # Connections per user (3): the fourth of coordinatrice's is refused, 4430.
    await connect(open_clients, server.url, cercle.ppa_id, coord)
    await connect(open_clients, server.url, cercle.ppa_id, coord)
    fourth = await connect(open_clients, server.url, cercle.ppa_id, coord, sync=False)
    assert await fourth.wait_closed() == CloseCode.TOO_MANY_USER_CONNECTIONS

    # Connections per document (4): the fifth, another user's, is refused, 4431.
    nurse = await connect(open_clients, server.url, cercle.ppa_id, token_of(api_as, "infirmier"))
    fifth = await connect(
        open_clients, server.url, cercle.ppa_id, token_of(api_as, "ergotherapeute"), sync=False
    )
    assert await fifth.wait_closed() == CloseCode.TOO_MANY_DOCUMENT_CONNECTIONS

    # Update rate (5/s, burst 5): 4429.
    text = nurse.doc.get("projet_de_vie", type=Text)
    for i in range(12):
        text.insert(0, f"{i}")
    await nurse.drain()
    assert await nurse.wait_closed() == CloseCode.RATE_LIMITED
    assert nurse.close_reason == "Trop de modifications par seconde"

    # Document size (20 000 bytes): 4507 for the write that would pass it.
    second = await connect(
        open_clients, server.url, cercle.ppa_id, token_of(api_as, "ergotherapeute")
    )
    for _ in range(10):  # one write at a time (acknowledged), each under the message limit
        second.doc.get("projet_de_vie", type=Text).insert(0, "y" * 2500)
        await second.wait_for(lambda: second.saved() or second.close_code is not None)
        if second.close_code is not None:
            break
        await asyncio.sleep(0.4)  # under the update rate
    assert second.close_code == CloseCode.DOCUMENT_TOO_LARGE
    assert second.close_reason == "Document trop volumineux"

    # The first connection still works, and the document holds no refused write.
    keeper.doc.get("projet_de_vie", type=Text).insert(0, "toujours ")
    await saved(keeper)
    assert keeper.close_code is None
    stored = stored_content(database, cercle.ppa_id).projet_de_vie
    assert "toujours " in stored
    assert len(stored.encode()) <= 20_000
