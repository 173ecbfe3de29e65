"""The seam with the versions engine (``server.ppas.lock.LiveRooms``) against live clients:
a restore is written through the room (durable, relayed, authored), an avenant gives writers
their rights back, and an editing session that ends leaves a checkpoint."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from pycrdt import Array, Text

from editor.collab.room import LOCKED_NOTICE
from tests.collab.app import AppServer, eventually, token_of, update_log
from tests.collab.live import WsClient
from tests.collab.test_ws_access import connect, round_trip, saved, user_id
from tests.conftest import DatabaseInfo, LiveServer, make_settings
from tests.server.versions.helpers import COORD, new_ppa, save, validate

WRITER = "infirmier"


@pytest.fixture
async def open_clients() -> AsyncIterator[list[WsClient]]:
    clients: list[WsClient] = []
    yield clients
    await asyncio.gather(*(client.close() for client in clients))


def text_of(client: WsClient) -> str:
    return str(client.doc.get("projet_de_vie", type=Text))


async def test_restore_reaches_live_clients_durably_with_its_author(
    live_server: LiveServer,
    api_as: Any,
    demo: dict[str, Any],
    database: DatabaseInfo,
    open_clients: list[WsClient],
) -> None:
    url = f"{live_server.ws_url}/ws/ppa"
    setup = new_ppa(api_as, demo)
    original = setup.content.projet_de_vie
    save(api_as(COORD), setup.ppa_id, "Version d'origine")
    nurse = await connect(open_clients, url, setup.ppa_id, token_of(api_as, WRITER))
    coord = await connect(open_clients, url, setup.ppa_id, token_of(api_as, COORD))
    nurse.doc.get("projet_de_vie", type=Text).insert(0, "Réécrit : ")
    await saved(nurse)
    await coord.wait_for(lambda: text_of(coord).startswith("Réécrit : "))

    response = api_as(COORD).post(f"/api/ppas/{setup.ppa_id}/versions/1/restore")
    assert response.status_code == 201, response.text
    await nurse.wait_for(lambda: text_of(nurse) == original)
    await coord.wait_for(lambda: text_of(coord) == original)
    assert (
        api_as(COORD).get(f"/api/ppas/{setup.ppa_id}").json()["content"]["projet_de_vie"]
        == original
    )
    authors = [row.author for row in update_log(database, setup.ppa_id)]
    assert authors[-1] == user_id(api_as, COORD)  # the restore, written by its author
    # The clients keep editing on top of it.
    nurse.doc.get("projet_de_vie", type=Text).insert(0, "Ensuite ")
    await saved(nurse)
    await coord.wait_for(lambda: text_of(coord) == "Ensuite " + original)


async def test_avenant_gives_live_writers_their_rights_back(
    live_server: LiveServer,
    api_as: Any,
    demo: dict[str, Any],
    database: DatabaseInfo,
    open_clients: list[WsClient],
) -> None:
    url = f"{live_server.ws_url}/ws/ppa"
    setup = new_ppa(api_as, demo)
    nurse = await connect(open_clients, url, setup.ppa_id, token_of(api_as, WRITER))
    coord = await connect(open_clients, url, setup.ppa_id, token_of(api_as, COORD))
    response = validate(api_as(COORD), setup.ppa_id)
    assert response.status_code == 201, response.text
    await nurse.wait_for(lambda: LOCKED_NOTICE in nurse.denied)
    actions = nurse.doc.get("actions", type=Array)
    actions[0]["titre"].insert(0, "(pendant le verrou) ")
    await round_trip(nurse)
    assert not str(coord.doc.get("actions", type=Array)[0]["titre"]).startswith("(pendant")

    response = api_as(COORD).post(f"/api/ppas/{setup.ppa_id}/avenant")
    assert response.status_code == 200, response.text
    # Unlocked: the writer is asked for what the room lacks (what it typed while locked) ...
    await coord.wait_for(
        lambda: str(coord.doc.get("actions", type=Array)[0]["titre"]).startswith(
            "(pendant le verrou) "
        )
    )
    # ... and its new writes are applied, stored and relayed.
    actions[0]["titre"].insert(0, "[avenant] ")
    await saved(nurse)
    await coord.wait_for(
        lambda: str(coord.doc.get("actions", type=Array)[0]["titre"]).startswith("[avenant] ")
    )
    live = api_as(COORD).get(f"/api/ppas/{setup.ppa_id}").json()
    assert (live["status"], live["locked"]) == ("avenant_draft", False)
    assert live["content"]["actions"][0]["titre"].startswith("[avenant] (pendant le verrou) ")


async def test_session_end_leaves_a_checkpoint(
    api_as: Any,
    demo: dict[str, Any],
    database: DatabaseInfo,
    tmp_path: Path,
    open_clients: list[WsClient],
) -> None:
    # This app runs in the test's event loop: blocking HTTP calls to the shared server go to a
    # thread, or that server's writes would wait for a SQLite lock this loop could not release.
    settings = make_settings(database, tmp_path, collab_unload_after_seconds=0.1)
    server = AppServer(settings)
    await server.start()
    coord = api_as(COORD)

    async def versions(ppa_id: str) -> list[dict[str, Any]]:
        response = await asyncio.to_thread(coord.get, f"/api/ppas/{ppa_id}/versions")
        found: list[dict[str, Any]] = response.json()
        return found

    try:
        setup = await asyncio.to_thread(new_ppa, api_as, demo)
        before = await versions(setup.ppa_id)
        token = await asyncio.to_thread(token_of, api_as, WRITER)
        nurse = await connect(open_clients, server.url, setup.ppa_id, token)
        nurse.doc.get("projet_de_vie", type=Text).insert(0, "Fin de séance : ")
        await saved(nurse)
        await nurse.close()

        async def checkpointed() -> bool:
            found = await versions(setup.ppa_id)
            return len(found) == len(before) + 1 and found[-1]["kind"] == "checkpoint"

        await eventually(checkpointed)
        latest = (await versions(setup.ppa_id))[-1]
        version = await asyncio.to_thread(
            coord.get, f"/api/ppas/{setup.ppa_id}/versions/{latest['number']}"
        )
        assert version.json()["content"]["projet_de_vie"].startswith("Fin de séance : ")
    finally:
        await server.stop()
