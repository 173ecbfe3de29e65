"""Two stock Yjs + y-websocket clients (Node) against the real app (uvicorn, auth, database)."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from typing import Any

import pytest
from pycrdt import Doc

from editor.crdt import doc_to_content
from tests.collab.app import fresh_ppa, stored_content, token_of, update_log
from tests.collab.live import NodeClient
from tests.conftest import DatabaseInfo, LiveServer

pytestmark = pytest.mark.node


@pytest.fixture
async def clients() -> AsyncIterator[list[NodeClient]]:
    started: list[NodeClient] = []
    yield started
    await asyncio.gather(*(client.stop() for client in started))


async def start(clients: list[NodeClient], n: int) -> list[NodeClient]:
    new = await asyncio.gather(*(NodeClient.start() for _ in range(n)))
    clients.extend(new)
    return list(new)


def content_of(state_b64: str) -> dict[str, Any]:
    doc: Doc[Any] = Doc()
    doc.apply_update(base64.b64decode(state_b64))
    return doc_to_content(doc).model_dump(mode="json")


async def test_two_stock_clients_on_a_fresh_ppa(
    live_server: LiveServer,
    demo: dict[str, Any],
    api_as: Any,
    database: DatabaseInfo,
    clients: list[NodeClient],
) -> None:
    cercle = fresh_ppa(api_as, demo)
    url = f"{live_server.ws_url}/ws/ppa"
    coord, nurse = await start(clients, 2)
    await asyncio.gather(
        coord.call("connect", url=url, room=cercle.ppa_id, token=token_of(api_as, "coordinatrice")),
        nurse.call("connect", url=url, room=cercle.ppa_id, token=token_of(api_as, "infirmier")),
    )
    assert await coord.call("waitSynced") is True
    assert await nurse.call("waitSynced") is True
    # The document created through REST reached both (its title).
    assert await coord.call("text", field="projet_de_vie") == ""

    await coord.call("insert", field="projet_de_vie", index=0, text="Vivre chez moi")
    await nurse.call("waitText", field="projet_de_vie", value="Vivre chez moi")
    await nurse.call("insert", field="projet_de_vie", index=14, text=", avec mon chat")
    expected = "Vivre chez moi, avec mon chat"
    await coord.call("waitText", field="projet_de_vie", value=expected)

    # Offline edit on one side, online edit on the other: merged on reconnection.
    await nurse.call("disconnect")
    await nurse.call("insert", field="projet_de_vie", index=0, text="[hors ligne] ")
    await coord.call("insert", field="projet_de_vie", index=len(expected), text=" et ma soeur")
    await coord.call("waitSaved")
    assert await nurse.call("saved") is False
    await nurse.call("connect", url=url, room=cercle.ppa_id)
    await nurse.call("waitSynced")
    final = "[hors ligne] Vivre chez moi, avec mon chat et ma soeur"
    await nurse.call("waitText", field="projet_de_vie", value=final)
    await coord.call("waitText", field="projet_de_vie", value=final)
    await nurse.call("waitSaved")
    await coord.call("waitSaved")

    coord_content = content_of(await coord.call("state"))
    nurse_content = content_of(await nurse.call("state"))
    assert coord_content == nurse_content
    rest = api_as("coordinatrice").get(f"/api/ppas/{cercle.ppa_id}")
    assert rest.status_code == 200
    assert rest.json()["content"] == coord_content
    assert rest.json()["content"]["projet_de_vie"] == final
    # Every write is in the durable log, with its author.
    assert stored_content(database, cercle.ppa_id).model_dump(mode="json") == coord_content
    authors = {row.author for row in update_log(database, cercle.ppa_id)}
    users = {u["username"]: u for u in demo["logins"]}
    assert users
    me = {
        name: api_as(name).get("/api/auth/me").json()["id"]
        for name in ("coordinatrice", "infirmier")
    }
    assert authors == set(me.values())
    assert await coord.call("errors") == []
    assert await nurse.call("errors") == []
