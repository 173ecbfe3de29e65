"""Who may connect and write, against the real app: close codes, read-only connections (reader,
locked PPA, person outside their own fields) whose writes never reach the log or other clients,
the person's and aidant's own fields, and the audit of each connection."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from pycrdt import Array, Map, Text

from editor.collab.errors import CloseCode
from editor.collab.protocol import encode_query_awareness
from editor.collab.room import LOCKED_NOTICE, READ_ONLY_NOTICE
from server.collab.policy import OWN_FIELDS_NOTICE
from server.collab.service import FORBIDDEN_REASON
from tests.collab.app import audit_actions, fresh_ppa, stored_content, token_of, update_log
from tests.collab.live import WsClient
from tests.conftest import DatabaseInfo
from tests.server.versions.helpers import COORD, new_ppa, validate

WRITER = "infirmier"


async def connect(
    clients: list[WsClient], url: str, ppa_id: str, token: str, *, sync: bool = True
) -> WsClient:
    client = WsClient(url, ppa_id, token)
    clients.append(client)
    await client.connect()
    if sync:
        await asyncio.wait_for(client.synced.wait(), 10)
    return client


async def round_trip(client: WsClient) -> None:
    """Returns once the server processed everything this client sent before."""
    seen = len(client.awareness)
    await client.drain()
    await client.send(encode_query_awareness())
    await client.wait_for(lambda: len(client.awareness) > seen)


async def saved(client: WsClient) -> None:
    await client.wait_for(client.saved)


def user_id(api_as: Any, username: str) -> str:
    me: str = api_as(username).get("/api/auth/me").json()["id"]
    return me


class TestCloseCodes:
    async def test_bad_or_missing_token_is_4401(
        self, ws_url: str, api_as: Any, demo: dict[str, Any], open_clients: list[WsClient]
    ) -> None:
        cercle = fresh_ppa(api_as, demo)
        for token in ("pas-un-jeton", ""):
            client = await connect(open_clients, ws_url, cercle.ppa_id, token, sync=False)
            assert await client.wait_closed() == CloseCode.UNAUTHENTICATED
            assert client.close_reason == "Authentification requise"
            assert client.received_updates == []

    async def test_unknown_ppa_is_4404(
        self, ws_url: str, api_as: Any, open_clients: list[WsClient]
    ) -> None:
        token = token_of(api_as, COORD)
        for ppa_id in (str(uuid.uuid4()), "x" * 80):
            client = await connect(open_clients, ws_url, ppa_id, token, sync=False)
            assert await client.wait_closed() == CloseCode.UNKNOWN_DOCUMENT

    @pytest.mark.parametrize("username", ["admin", "infirmier-opposed", "esms", "auditeur"])
    async def test_outsider_opposed_member_and_validated_only_roles_are_4403_on_a_draft(
        self,
        username: str,
        ws_url: str,
        api_as: Any,
        demo: dict[str, Any],
        database: DatabaseInfo,
        open_clients: list[WsClient],
    ) -> None:
        login = username.removesuffix("-opposed")
        opposed = (login,) if username.endswith("-opposed") else ()
        cercle = fresh_ppa(api_as, demo, opposed=opposed)
        client = await connect(
            open_clients, ws_url, cercle.ppa_id, token_of(api_as, login), sync=False
        )
        assert await client.wait_closed() == CloseCode.FORBIDDEN
        assert client.close_reason == FORBIDDEN_REASON
        assert client.received_updates == []
        actor = user_id(api_as, login)
        assert ("ppa.live_open", "denied", actor) in audit_actions(database, cercle.ppa_id)


class TestReadOnly:
    async def test_reader_gets_document_but_writes_reach_nobody(
        self,
        ws_url: str,
        api_as: Any,
        demo: dict[str, Any],
        database: DatabaseInfo,
        open_clients: list[WsClient],
    ) -> None:
        cercle = fresh_ppa(api_as, demo)
        writer = await connect(open_clients, ws_url, cercle.ppa_id, token_of(api_as, WRITER))
        writer.doc.get("projet_de_vie", type=Text).insert(0, "texte")
        await saved(writer)
        reader = await connect(
            open_clients, ws_url, cercle.ppa_id, token_of(api_as, "assistante-sociale")
        )
        assert str(reader.doc.get("projet_de_vie", type=Text)) == "texte"
        assert reader.denied == [READ_ONLY_NOTICE]
        rows = len(update_log(database, cercle.ppa_id))

        reader.doc.get("projet_de_vie", type=Text).insert(0, "INTRUS ")
        reader.doc.get("attentes", type=Array).append(
            Map({"id": "a-intrus", "origine": "professionnel", "texte": Text("non")})
        )
        await round_trip(reader)
        writer.doc.get("projet_de_vie", type=Text).insert(5, " final")
        await saved(writer)

        assert str(writer.doc.get("projet_de_vie", type=Text)) == "texte final"
        assert len(writer.doc.get("attentes", type=Array)) == 0
        log = update_log(database, cercle.ppa_id)
        assert len(log) == rows + 1
        assert {row.author for row in log} == {user_id(api_as, WRITER)}
        assert stored_content(database, cercle.ppa_id).projet_de_vie == "texte final"
        assert reader.denied == [READ_ONLY_NOTICE]  # told once
        actions = audit_actions(database, cercle.ppa_id)
        reader_id = user_id(api_as, "assistante-sociale")
        assert ("ppa.live_open", "ok", reader_id) in actions
        assert ("ppa.live_write", "ok", reader_id) not in actions
        writer_id = user_id(api_as, WRITER)
        assert actions.count(("ppa.live_write", "ok", writer_id)) == 1

    async def test_validation_turns_live_writers_read_only_within_a_round_trip(
        self,
        ws_url: str,
        api_as: Any,
        demo: dict[str, Any],
        database: DatabaseInfo,
        open_clients: list[WsClient],
    ) -> None:
        setup = new_ppa(api_as, demo)
        coord = await connect(open_clients, ws_url, setup.ppa_id, token_of(api_as, COORD))
        nurse = await connect(open_clients, ws_url, setup.ppa_id, token_of(api_as, WRITER))
        text = nurse.doc.get("projet_de_vie", type=Text)
        text.insert(len(text), " (avant validation)")
        await saved(nurse)
        await coord.wait_for(
            lambda: "(avant validation)" in str(coord.doc.get("projet_de_vie", type=Text))
        )

        response = validate(api_as(COORD), setup.ppa_id)
        assert response.status_code == 201, response.text
        # The lock was taken before the validation answered: the notice is already on its way.
        await nurse.wait_for(lambda: LOCKED_NOTICE in nurse.denied, within=2)
        await coord.wait_for(lambda: LOCKED_NOTICE in coord.denied, within=2)
        rows = len(update_log(database, setup.ppa_id))
        text.insert(0, "APRES ")
        await round_trip(nurse)
        await round_trip(coord)
        assert "APRES" not in str(coord.doc.get("projet_de_vie", type=Text))
        assert len(update_log(database, setup.ppa_id)) == rows
        validated = api_as(COORD).get(f"/api/ppas/{setup.ppa_id}").json()
        assert validated["locked"] is True
        assert "APRES" not in validated["content"]["projet_de_vie"]
        assert "(avant validation)" in validated["content"]["projet_de_vie"]

        # A connection opened later is read-only from the start; esms may now read it.
        late = await connect(open_clients, ws_url, setup.ppa_id, token_of(api_as, WRITER))
        assert late.denied == [LOCKED_NOTICE]
        esms = await connect(open_clients, ws_url, setup.ppa_id, token_of(api_as, "esms"))
        assert esms.denied == [LOCKED_NOTICE]
        assert "(avant validation)" in str(esms.doc.get("projet_de_vie", type=Text))


class TestOwnFields:
    @pytest.mark.parametrize("username", ["usager", "aidant"])
    async def test_person_and_aidant_write_their_own_fields(
        self,
        username: str,
        ws_url: str,
        api_as: Any,
        demo: dict[str, Any],
        database: DatabaseInfo,
        open_clients: list[WsClient],
    ) -> None:
        setup = new_ppa(api_as, demo)
        person = await connect(open_clients, ws_url, setup.ppa_id, token_of(api_as, username))
        coord = await connect(open_clients, ws_url, setup.ppa_id, token_of(api_as, COORD))
        assert person.denied == []
        attentes = person.doc.get("attentes", type=Array)
        count = len(attentes)
        origin = "personne" if username == "usager" else "entourage"
        attentes.append(Map({"id": "a-mienne", "origine": origin, "texte": Text("Mon attente")}))
        objectif = person.doc.get("objectifs", type=Array)[0]
        objectif["avis_usager"].insert(0, "D'accord. ")
        objectif["accord_usager"] = "accord"  # her agreement with the objective (rule 2)
        action = person.doc.get("actions", type=Array)[0]
        action["avis_usager"].insert(0, "Oui. ")
        # Her projet de vie, in her words (issue 17, point 8).
        person.doc.get("projet_de_vie", type=Text).insert(0, "Mon projet : ")
        await saved(person)
        await coord.wait_for(lambda: len(coord.doc.get("attentes", type=Array)) == count + 1)
        # ... and may edit or delete an attente of their own kind.
        mine = next(a for a in attentes if a["id"] == "a-mienne")
        mine["texte"].insert(0, "(modifiée) ")
        await saved(person)
        content = stored_content(database, setup.ppa_id)
        assert any(a.texte == "(modifiée) Mon attente" for a in content.attentes)
        assert content.objectifs[0].avis_usager.startswith("D'accord. ")
        assert content.objectifs[0].accord_usager == "accord"
        assert content.actions[0].avis_usager.startswith("Oui. ")
        assert content.projet_de_vie.startswith("Mon projet : ")
        assert person.denied == []
        authors = {row.author for row in update_log(database, setup.ppa_id)}
        assert authors == {user_id(api_as, username)}

    @pytest.mark.parametrize(
        "change",
        ["projet_date", "objectif_titre", "attente_professionnel", "relabel_origine", "delete"],
    )
    async def test_person_writing_outside_own_fields_reaches_nobody(
        self,
        change: str,
        ws_url: str,
        api_as: Any,
        demo: dict[str, Any],
        database: DatabaseInfo,
        open_clients: list[WsClient],
    ) -> None:
        setup = new_ppa(api_as, demo)
        person = await connect(open_clients, ws_url, setup.ppa_id, token_of(api_as, "usager"))
        coord = await connect(open_clients, ws_url, setup.ppa_id, token_of(api_as, COORD))
        before = stored_content(database, setup.ppa_id)
        rows = len(update_log(database, setup.ppa_id))
        doc = person.doc
        attentes = doc.get("attentes", type=Array)
        if change == "projet_date":
            doc.get("projet", type=Map)["date_fin"] = "2031-01-01"
        elif change == "objectif_titre":
            doc.get("objectifs", type=Array)[0]["titre"].insert(0, "Réécrit ")
        elif change == "attente_professionnel":
            attentes.append(Map({"id": "a-pro", "origine": "professionnel", "texte": Text("x")}))
        elif change == "relabel_origine":
            mine = next(a for a in attentes if a["origine"] == "personne")
            mine["origine"] = "professionnel"
        else:
            del doc.get("besoins", type=Array)[0]
        await round_trip(person)
        assert person.denied == [OWN_FIELDS_NOTICE]
        # Its next writes, even in its own fields, are refused too (the connection is read-only).
        doc.get("objectifs", type=Array)[0]["avis_usager"].insert(0, "ensuite ")
        await round_trip(person)
        coord.doc.get("projet_de_vie", type=Text).insert(0, "coord ")
        await saved(coord)
        assert len(update_log(database, setup.ppa_id)) == rows + 1
        after = stored_content(database, setup.ppa_id)
        assert after.model_copy(update={"projet_de_vie": before.projet_de_vie}) == before
        assert not str(coord.doc.get("projet_de_vie", type=Text)).startswith("coord Réécrit")
        assert len(coord.doc.get("attentes", type=Array)) == len(before.attentes)
        assert len(coord.doc.get("besoins", type=Array)) == len(before.besoins)
        assert str(coord.doc.get("objectifs", type=Array)[0]["avis_usager"]) == str(
            before.objectifs[0].avis_usager
        )
