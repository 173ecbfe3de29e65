"""Validation locks the live room: every connection is read-only within one round trip of the
validation's response; an avenant gives writers their rights back."""

from __future__ import annotations

import asyncio
from typing import Any

from editor.collab.protocol import NoticeCode, encode_sync_step1
from tests.conftest import LiveServer
from tests.server.versions.helpers import CONTRIB, CONTRIB2, COORD, new_ppa, validate
from tests.server.versions.live import LiveEditor


def _token(api_as: Any, username: str) -> str:
    token = api_as(username).token
    assert token is not None
    return str(token)


async def _round_trip(editor: LiveEditor) -> None:
    """Send a sync step 1 and wait for the server's answer (a sync step 2)."""
    assert editor.ws is not None
    editor.synced = False
    await editor.ws.send(encode_sync_step1(editor.doc.get_state()))
    await editor.pump_until(lambda: editor.synced)


def test_validation_locks_every_live_connection(
    api_as: Any, demo: dict[str, Any], live_server: LiveServer
) -> None:
    setup = new_ppa(api_as, demo)
    coord = api_as(COORD)

    async def scenario() -> None:
        async with (
            LiveEditor(live_server.ws_url, setup.ppa_id, _token(api_as, CONTRIB)) as writer,
            LiveEditor(live_server.ws_url, setup.ppa_id, _token(api_as, CONTRIB2)) as other,
        ):
            await writer.edit(lambda c: setattr(c, "projet_de_vie", "Avant validation."))
            await other.pump_until(lambda: other.content().projet_de_vie == "Avant validation.")
            assert writer.denied == other.denied == []

            response = await asyncio.to_thread(validate, coord, setup.ppa_id)
            assert response.status_code == 201, response.text
            validated = response.json()
            assert validated["content"]["projet_de_vie"] == "Avant validation."

            for editor in (writer, other):
                await _round_trip(editor)
                assert editor.denied, "told read-only before the answer to its next message"
                assert editor.denied[-1].code == NoticeCode.LOCKED

            await writer.send_edit(lambda c: setattr(c, "projet_de_vie", "Après validation."))
            await _round_trip(writer)
            await _round_trip(other)
            assert other.content().projet_de_vie == "Avant validation."
            live = await asyncio.to_thread(coord.get, f"/api/ppas/{setup.ppa_id}")
            assert live.json()["content"]["projet_de_vie"] == "Avant validation."
            assert not writer.stored(), "a refused write is never acknowledged as stored"

            opened = await asyncio.to_thread(coord.post, f"/api/ppas/{setup.ppa_id}/avenant")
            assert opened.status_code == 200, opened.text
            await other.edit(lambda c: setattr(c.actions[0], "description", "En avenant."))
            live = await asyncio.to_thread(coord.get, f"/api/ppas/{setup.ppa_id}")
            assert live.json()["content"]["actions"][0]["description"] == "En avenant."

    asyncio.run(scenario())
    versions = coord.get(f"/api/ppas/{setup.ppa_id}/versions").json()
    assert [v["kind"] for v in versions] == ["checkpoint", "validated"]


def test_a_connection_opened_after_validation_is_read_only(
    api_as: Any, demo: dict[str, Any], live_server: LiveServer
) -> None:
    setup = new_ppa(api_as, demo)
    assert validate(api_as(COORD), setup.ppa_id).status_code == 201

    async def scenario() -> None:
        async with LiveEditor(live_server.ws_url, setup.ppa_id, _token(api_as, COORD)) as late:
            await _round_trip(late)
            assert late.denied
            assert late.denied[0].code == NoticeCode.LOCKED
            await late.send_edit(lambda c: setattr(c, "projet_de_vie", "Trop tard."))
            await _round_trip(late)

    asyncio.run(scenario())
    live = api_as(COORD).get(f"/api/ppas/{setup.ppa_id}").json()
    assert live["content"]["projet_de_vie"] != "Trop tard."
