"""The DUI scenario end to end: a structure's software reads the CareTeam and the CarePlan, then
PATCHes an action while a stock Yjs + y-websocket client (Node) types in the same action's
description; both changes survive, the Node client receives the DUI's change, and the checkpoint
the PATCH leaves names both authors. A stale If-Match on the same field gets 412; a DUI without
the grant gets 403 and leaves a denied trace."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any, NamedTuple

import pytest

from editor.schema import PPAContent
from tests.collab.app import audit_actions, fresh_ppa, token_of
from tests.collab.live import NodeClient
from tests.conftest import Api, DatabaseInfo, LiveServer
from tests.factories import recent_start, valid_ppa
from tests.server.exports_api.support import validate
from tests.server.helpers import Cercle

pytestmark = pytest.mark.node


@pytest.fixture
async def node() -> AsyncIterator[NodeClient]:
    client = await NodeClient.start()
    yield client
    await client.stop()


class Scene(NamedTuple):
    cercle: Cercle
    ppa_id: str
    content: PPAContent
    ins: str
    dui: Api
    dui_id: str


def _scene(live_server: LiveServer, demo: dict[str, Any], api_as: Any) -> Scene:
    """A person attached to a structure, a validated PPA with an open avenant (the draft), and
    a DUI (new API client) granted contributor in the cercle."""
    coord: Api = api_as("coordinatrice")
    cercle = fresh_ppa(api_as, demo)
    person = coord.get(f"/api/persons/{cercle.person_id}").json()
    ins = f"urn:oid:{person['ins_oid']}|{person['ins_matricule']}"
    structure = coord.get("/api/structures").json()[0]["id"]
    assert (
        coord.patch(
            f"/api/persons/{cercle.person_id}",
            json={"structure_id": structure, "local_id": "DUI-7"},
        ).status_code
        == 200
    )
    content = valid_ppa(members=demo["professionals"], fresh_ids=True, start=recent_start())
    created = coord.post(
        f"/api/persons/{cercle.person_id}/ppas",
        json={"title": "PPA DUI", "content": content.model_dump(mode="json")},
    )
    assert created.status_code == 201, created.text
    ppa_id = created.json()["id"]
    validate(coord, ppa_id)
    assert coord.post(f"/api/ppas/{ppa_id}/avenant").status_code in (200, 201)

    admin = api_as("admin")
    made = admin.post("/api/api-clients", json={"name": "DUI du SAVS"})
    dui = Api(live_server, made.json()["token"])
    dui_id = made.json()["id"]
    granted = coord.post(
        f"/api/persons/{cercle.person_id}/cercle",
        json={"kind": "structure_system", "role": "contributor", "api_client_id": dui_id},
    )
    assert granted.status_code == 201, granted.text
    return Scene(cercle, ppa_id, content, ins, dui, dui_id)


def _revoke_and_check(
    coord: Api, database: DatabaseInfo, cercle: Cercle, ppa_id: str, dui: Api, dui_id: str
) -> None:
    """Back to the role esms: the next write is refused, and both outcomes are traced."""
    # revoked: refused at once, and the refusal is traced
    members = coord.get(f"/api/persons/{cercle.person_id}/cercle").json()
    member = next(m for m in members if m["api_client_id"] == dui_id)
    assert (
        coord.patch(
            f"/api/persons/{cercle.person_id}/cercle/{member['id']}", json={"role": "esms"}
        ).status_code
        == 200
    )
    refused = dui.patch(f"/api/ppas/{ppa_id}/content", json={"projet_de_vie": "sans droit"})
    assert refused.status_code == 403, refused.text
    traces = [
        (action_, outcome)
        for action_, outcome, actor in audit_actions(database, ppa_id)
        if actor == dui_id
    ]
    assert ("ppa.content.patch", "ok") in traces
    assert ("ppa.content.patch", "denied") in traces


async def test_dui_patch_and_live_typing_both_survive(
    live_server: LiveServer,
    demo: dict[str, Any],
    api_as: Any,
    database: DatabaseInfo,
    node: NodeClient,
) -> None:
    coord: Api = api_as("coordinatrice")
    cercle, ppa_id, content, ins, dui, dui_id = _scene(live_server, demo, api_as)
    try:
        # the DUI reads the cercle and the PPA through FHIR
        team = dui.get("/fhir/CareTeam", params={"patient.identifier": ins}).json()
        assert "DUI du SAVS" in [
            p["member"]["display"] for p in team["entry"][0]["resource"]["participant"]
        ]
        plans = dui.get("/fhir/CarePlan", params={"patient.identifier": ins}).json()
        assert plans["entry"][0]["resource"]["id"] == ppa_id

        action = content.actions[0]
        await node.call(
            "connect",
            url=f"{live_server.ws_url}/ws/ppa",
            room=ppa_id,
            token=token_of(api_as, "infirmier"),
        )
        assert await node.call("waitSynced") is True
        where: dict[str, Any] = {"root": "actions", "item": action.id, "key": "description"}
        await node.call("itemInsert", **where, text=" [infirmier 1]")
        await node.call("waitSaved")

        read = dui.get(f"/api/ppas/{ppa_id}")
        etag = read.headers["etag"]
        described = next(a for a in read.json()["content"]["actions"] if a["id"] == action.id)
        new_text = "[DUI] " + described["description"]
        patched, _ = await asyncio.gather(
            asyncio.to_thread(
                dui.patch,
                f"/api/ppas/{ppa_id}/content",
                json={"actions": {action.id: {"description": new_text}}},
                headers={"If-Match": etag},
            ),
            node.call("itemInsert", **where, text=" [infirmier 2]"),
        )
        assert patched.status_code in (200, 412), patched.text
        if patched.status_code == 412:  # the typing landed first: read again, patch again
            read = dui.get(f"/api/ppas/{ppa_id}")
            again = next(a for a in read.json()["content"]["actions"] if a["id"] == action.id)
            patched = dui.patch(
                f"/api/ppas/{ppa_id}/content",
                json={"actions": {action.id: {"description": "[DUI] " + again["description"]}}},
                headers={"If-Match": read.headers["etag"]},
            )
            assert patched.status_code == 200, patched.text
        seen = await node.call("waitItemTextIncludes", **where, value="[DUI] ")
        assert "[infirmier 1]" in seen
        assert "[infirmier 2]" in seen
        await node.call("waitSaved")
        final = coord.get(f"/api/ppas/{ppa_id}").json()["content"]
        text = next(a for a in final["actions"] if a["id"] == action.id)["description"]
        assert text.startswith("[DUI] ")
        assert "[infirmier 1]" in text
        assert "[infirmier 2]" in text

        versions = coord.get(f"/api/ppas/{ppa_id}/versions").json()
        by_dui = [v for v in versions if v["created_by"] == dui_id]
        assert by_dui, versions
        nurse = api_as("infirmier").get("/api/auth/me").json()["id"]
        assert {dui_id, nurse} <= set(by_dui[-1]["authors"])

        stale = dui.patch(
            f"/api/ppas/{ppa_id}/content",
            json={"actions": {action.id: {"description": "écrasé"}}},
            headers={"If-Match": etag},
        )
        assert stale.status_code == 412, stale.text

        _revoke_and_check(coord, database, cercle, ppa_id, dui, dui_id)
    finally:
        dui.client.close()
