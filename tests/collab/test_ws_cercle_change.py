"""Live rights follow the cercle at once, against the real app (uvicorn, websockets): after the
person's opposition, a removal or a role change, an already open connection is closed (4403,
French reason), turned read-only (told so), or told to reconnect for more rights; a write sent
right after the route answered never reaches the stored document nor another client. On one
process, and across two sharing the database and Redis. The role x route matrix of
tests/server/test_role_matrix.py extended to open connections: :data:`MATRIX`."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import anyio
import httpx
import pytest
import sqlalchemy as sa
from pycrdt import Array, Doc, Map, Text

from editor.collab.errors import CloseCode
from editor.collab.protocol import EMPTY_STATE_VECTOR, encode_sync_step1
from editor.collab.room import READ_ONLY_NOTICE
from server.collab.policy import OWN_FIELDS_NOTICE
from server.collab.rights import (
    OPPOSED_REASON,
    REMOVED_REASON,
    RIGHTS_CHANGED_NOTICE,
    RIGHTS_REDUCED_NOTICE,
    ROLE_REASON,
)
from server.collab.service import FORBIDDEN_REASON
from tests.collab.app import ServeProcess, fresh_ppa, stored_content, token_of, update_log
from tests.collab.live import WsClient
from tests.collab.test_ws_access import connect, round_trip, saved, user_id
from tests.conftest import DatabaseInfo, LiveServer
from tests.server.helpers import person_body, sql_login
from tests.server.versions.helpers import COORD

PASSWORD = "mot de passe du membre"
REDIS_URL = "redis://127.0.0.1:6379/0"

CLOSED, READ_ONLY, OWN_FIELDS, READ_WRITE = "closed", "read", "own", "write"
OPPOSED, REMOVED = "opposed", "removed"
TABLE = """
                 coordinator  contributor  reader  aidant  auditor  opposed  removed
    coordinator  write        write        read    read+   closed   closed   closed
    contributor  write        write        read    read+   closed   closed   closed
    reader       read+        read+        read    read+   closed   closed   closed
    aidant       own+         own+         read    own     closed   closed   closed
"""
"""What an already open connection to a draft PPA may still do after its member's change: the
rows are the role it connected with, the columns the change (a new role, the person's
opposition, the removal from the cercle). ``closed``: closed 4403; ``read``: reads, writes
refused; ``own``: reads, writes its own fields only; ``write``: reads and writes. ``+``: told
that reconnecting gives more rights."""
_HEADER, *_ROWS = (line.split() for line in TABLE.strip().splitlines())
MATRIX: dict[str, dict[str, str]] = {
    row[0]: dict(zip(_HEADER, row[1:], strict=True)) for row in _ROWS
}
FROM_ROLES = tuple(MATRIX)
TO_ROLES = tuple(_HEADER)
CLOSE_REASONS = {OPPOSED: OPPOSED_REASON, REMOVED: REMOVED_REASON, "auditor": ROLE_REASON}


@pytest.fixture(scope="module")
def engine(database: DatabaseInfo) -> Iterator[sa.Engine]:
    engine = sa.create_engine(database.sync_url)
    yield engine
    engine.dispose()


@dataclass
class Member:
    """A fresh professional login, member of a fresh person's cercle (coordinator:
    ``coordinatrice``) holding one draft PPA."""

    base_url: str
    coord_token: str
    person_id: str
    ppa_id: str
    member_id: str
    user_id: str
    token: str

    def _call(self, method: str, path: str, json: Any = None) -> httpx.Response:
        url = f"{self.base_url}/api/persons/{self.person_id}/cercle{path}"
        headers = {"Authorization": f"Bearer {self.coord_token}"}
        return httpx.request(method, url, json=json, headers=headers, timeout=30)

    def change(self, to: str) -> None:
        """Apply a change (a role, :data:`OPPOSED`, :data:`REMOVED`) through the REST route."""
        if to == OPPOSED:  # the coordinator records the person's opposition on their behalf
            response = self._call("PUT", f"/{self.member_id}/opposition", {"opposed": True})
        elif to == REMOVED:
            response = self._call("DELETE", f"/{self.member_id}")
        else:
            response = self._call("PATCH", f"/{self.member_id}", {"role": to})
        assert response.status_code in (200, 204), response.text

    def lift_opposition(self) -> None:
        response = self._call("PUT", f"/{self.member_id}/opposition", {"opposed": False})
        assert response.status_code == 200, response.text


def new_member(engine: sa.Engine, api_as: Any, role: str, base_url: str | None = None) -> Member:
    coord = api_as(COORD)
    api_url = str(coord.client.base_url).rstrip("/")
    person = coord.post("/api/persons", json=person_body())
    assert person.status_code == 201, person.text
    person_id = person.json()["id"]
    ppa = coord.post(f"/api/persons/{person_id}/ppas", json={"title": "PPA droits en direct"})
    assert ppa.status_code == 201, ppa.text
    account_id, username = sql_login(engine, PASSWORD, "Membre dont les droits changent")
    added = coord.post(
        f"/api/persons/{person_id}/cercle",
        json={"kind": "professional", "role": role, "user_id": account_id},
    )
    assert added.status_code == 201, added.text
    login = httpx.post(
        f"{api_url}/api/auth/token",
        data={"username": username, "password": PASSWORD},
        timeout=30,
    )
    assert login.status_code == 200, login.text
    return Member(
        base_url=base_url or api_url,
        coord_token=token_of(api_as, COORD),
        person_id=person_id,
        ppa_id=ppa.json()["id"],
        member_id=added.json()["id"],
        user_id=account_id,
        token=login.json()["access_token"],
    )


def text_of(client: WsClient) -> Text:
    text: Text = client.doc.get("projet_de_vie", type=Text)
    return text


def own_attente(client: WsClient, marker: str) -> None:
    """A write in the person's and aidant's own fields (an attente of origin ``entourage``)."""
    client.doc.get("attentes", type=Array).append(
        Map({"id": f"a-{uuid.uuid4().hex[:8]}", "origine": "entourage", "texte": Text(marker)})
    )


def attentes_of(client: WsClient) -> str:
    return " ".join(str(a["texte"]) for a in client.doc.get("attentes", type=Array))


async def refused_everywhere(
    member: WsClient, witness: WsClient, database: DatabaseInfo, ppa_id: str, marker: str
) -> None:
    """``member`` wrote ``marker``: once the server handled it and the witness's own later write
    is stored, neither the witness nor the stored document holds it."""
    if member.close_code is None:
        await round_trip(member)
    text = text_of(witness)
    text.insert(len(text), " [témoin]")
    await saved(witness)
    await round_trip(witness)
    assert marker not in str(text_of(witness)) + attentes_of(witness)
    stored = stored_content(database, ppa_id)
    assert marker not in stored.projet_de_vie
    assert all(marker not in a.texte for a in stored.attentes)
    assert "[témoin]" in stored.projet_de_vie


async def still_reads(member: WsClient, witness: WsClient) -> None:
    """The witness's writes still reach the (open) member, relayed and in a sync step 2."""
    marker = f"[lu {uuid.uuid4().hex[:6]}]"
    text_of(witness).insert(0, marker)
    await saved(witness)
    await member.wait_for(lambda: marker in str(text_of(member)))
    seen = len(member.received_updates)
    await member.send(encode_sync_step1(EMPTY_STATE_VECTOR))

    def answered() -> bool:
        whole: Doc[Any] = Doc()
        for update in member.received_updates[seen:]:
            whole.apply_update(update)
        return marker in str(whole.get("projet_de_vie", type=Text))

    await member.wait_for(answered)


@pytest.mark.parametrize("to", TO_ROLES)
@pytest.mark.parametrize("start", FROM_ROLES)
async def test_matrix_of_open_connections(
    start: str,
    to: str,
    ws_url: str,
    api_as: Any,
    demo: dict[str, Any],
    database: DatabaseInfo,
    engine: sa.Engine,
    open_clients: list[WsClient],
) -> None:
    """:data:`MATRIX`: reads (relayed updates, a new sync step 2) and writes of the connection
    opened with ``start`` after its member's change to ``to``, sent right after the answer."""
    expected = MATRIX[start][to]
    member = new_member(engine, api_as, start)
    witness = await connect(open_clients, ws_url, member.ppa_id, token_of(api_as, COORD))
    client = await connect(open_clients, ws_url, member.ppa_id, member.token)
    told_before = list(client.denied)

    member.change(to)
    marker = f"[après {uuid.uuid4().hex[:6]}]"
    if expected.startswith(OWN_FIELDS):
        own_attente(client, marker)
    else:
        text_of(client).insert(0, marker)
    await client.drain()

    if expected == CLOSED:
        assert await client.wait_closed() == CloseCode.FORBIDDEN
        assert client.close_reason == CLOSE_REASONS[to]
        received = len(client.received_updates)
        await refused_everywhere(client, witness, database, member.ppa_id, marker)
        assert len(client.received_updates) == received
        again = await connect(open_clients, ws_url, member.ppa_id, member.token, sync=False)
        assert await again.wait_closed() == CloseCode.FORBIDDEN
        assert again.close_reason == FORBIDDEN_REASON
        return

    if expected.startswith(READ_ONLY) and start != "reader":
        await client.wait_for(lambda: RIGHTS_REDUCED_NOTICE in client.denied)
    if expected.endswith("+"):
        await client.wait_for(lambda: RIGHTS_CHANGED_NOTICE in client.denied)
    else:
        await round_trip(client)
        assert RIGHTS_CHANGED_NOTICE not in client.denied
    if expected == READ_WRITE:
        await saved(client)
        await witness.wait_for(lambda: marker in str(text_of(witness)))
        assert marker in stored_content(database, member.ppa_id).projet_de_vie
        assert client.denied == told_before
    elif expected.startswith(OWN_FIELDS):
        await saved(client)
        await witness.wait_for(lambda: marker in attentes_of(witness))
        outside = f"[hors champs {uuid.uuid4().hex[:6]}]"
        # an attente in the professionals' name: outside the person's and aidant's own fields
        client.doc.get("attentes", type=Array).append(
            Map(
                {
                    "id": f"a-{uuid.uuid4().hex[:8]}",
                    "origine": "professionnel",
                    "texte": Text(outside),
                }
            )
        )
        await client.wait_for(lambda: OWN_FIELDS_NOTICE in client.denied)
        await refused_everywhere(client, witness, database, member.ppa_id, outside)
    else:
        await refused_everywhere(client, witness, database, member.ppa_id, marker)
    await still_reads(client, witness)


async def test_opposition_closes_at_once_and_lifting_it_lets_the_member_back(
    ws_url: str,
    api_as: Any,
    demo: dict[str, Any],
    database: DatabaseInfo,
    open_clients: list[WsClient],
) -> None:
    """The person records an opposition (``PUT .../opposition`` by the person's own login)."""
    cercle = fresh_ppa(api_as, demo)
    witness = await connect(open_clients, ws_url, cercle.ppa_id, token_of(api_as, COORD))
    nurse = await connect(open_clients, ws_url, cercle.ppa_id, token_of(api_as, "infirmier"))
    text_of(nurse).insert(0, "avant")
    await saved(nurse)
    opposition = f"/api/persons/{cercle.person_id}/cercle/{cercle.members['infirmier']}/opposition"

    response = api_as("usager").put(opposition, json={"opposed": True})
    assert response.status_code == 200, response.text
    text_of(nurse).insert(0, "APRES ")
    await nurse.drain()
    assert await nurse.wait_closed() == CloseCode.FORBIDDEN
    assert nurse.close_reason == OPPOSED_REASON
    await refused_everywhere(nurse, witness, database, cercle.ppa_id, "APRES")
    nurse_id = user_id(api_as, "infirmier")
    assert [row.author for row in update_log(database, cercle.ppa_id)].count(nurse_id) == 1
    assert witness.close_code is None
    assert witness.denied == []
    refused = await connect(
        open_clients, ws_url, cercle.ppa_id, token_of(api_as, "infirmier"), sync=False
    )
    assert await refused.wait_closed() == CloseCode.FORBIDDEN

    response = api_as("usager").put(opposition, json={"opposed": False})
    assert response.status_code == 200, response.text
    back = await connect(open_clients, ws_url, cercle.ppa_id, token_of(api_as, "infirmier"))
    assert back.denied == []
    text_of(back).insert(0, "de retour ")
    await saved(back)
    await witness.wait_for(lambda: "de retour" in str(text_of(witness)))
    assert witness.denied == []  # nobody else's connection was disturbed


async def test_reader_made_contributor_is_offered_to_reconnect(
    ws_url: str,
    api_as: Any,
    demo: dict[str, Any],
    database: DatabaseInfo,
    engine: sa.Engine,
    open_clients: list[WsClient],
) -> None:
    member = new_member(engine, api_as, "reader")
    witness = await connect(open_clients, ws_url, member.ppa_id, token_of(api_as, COORD))
    reader = await connect(open_clients, ws_url, member.ppa_id, member.token)
    assert reader.denied == [READ_ONLY_NOTICE]
    member.change("contributor")
    await reader.wait_for(lambda: RIGHTS_CHANGED_NOTICE in reader.denied)
    text_of(reader).insert(0, "TROP TÔT ")
    await refused_everywhere(reader, witness, database, member.ppa_id, "TROP TÔT")
    # Reconnecting gives the new rights.
    again = await connect(open_clients, ws_url, member.ppa_id, member.token)
    assert again.denied == []
    text_of(again).insert(0, "contributeur ")
    await saved(again)
    assert "contributeur" in stored_content(database, member.ppa_id).projet_de_vie


async def test_memberships_added_and_removed_move_the_effective_role(
    ws_url: str,
    api_as: Any,
    demo: dict[str, Any],
    database: DatabaseInfo,
    open_clients: list[WsClient],
) -> None:
    """A login is a member through its directory entry (reader) and gets a second membership
    through its account (contributor): the strongest counts (told to reconnect). Each removal
    is followed: reader again (it never wrote: nothing to tell), then out of the cercle."""
    coord = api_as(COORD)
    me = api_as("infirmier").get("/api/auth/me").json()
    assert me["professional_id"]
    person = coord.post("/api/persons", json=person_body())
    assert person.status_code == 201, person.text
    cercle = f"/api/persons/{person.json()['id']}/cercle"
    ppa = coord.post(f"/api/persons/{person.json()['id']}/ppas", json={"title": "PPA"})
    assert ppa.status_code == 201, ppa.text
    ppa_id = ppa.json()["id"]
    entry = coord.post(
        cercle,
        json={"kind": "professional", "role": "reader", "professional_id": me["professional_id"]},
    )
    assert entry.status_code == 201, entry.text
    witness = await connect(open_clients, ws_url, ppa_id, token_of(api_as, COORD))
    nurse = await connect(open_clients, ws_url, ppa_id, token_of(api_as, "infirmier"))
    assert nurse.denied == [READ_ONLY_NOTICE]

    account = coord.post(
        cercle, json={"kind": "professional", "role": "contributor", "user_id": me["id"]}
    )
    assert account.status_code == 201, account.text
    await nurse.wait_for(lambda: RIGHTS_CHANGED_NOTICE in nurse.denied)
    text_of(nurse).insert(0, "PAS ENCORE ")
    await refused_everywhere(nurse, witness, database, ppa_id, "PAS ENCORE")

    assert coord.delete(f"{cercle}/{account.json()['id']}").status_code == 204
    await round_trip(nurse)
    assert nurse.denied == [READ_ONLY_NOTICE, RIGHTS_CHANGED_NOTICE]
    await still_reads(nurse, witness)
    assert coord.delete(f"{cercle}/{entry.json()['id']}").status_code == 204
    assert await nurse.wait_closed() == CloseCode.FORBIDDEN
    assert nurse.close_reason == REMOVED_REASON


async def test_connection_authorised_before_a_change_is_checked_when_it_joins(
    ws_url: str,
    live_server: LiveServer,
    api_as: Any,
    demo: dict[str, Any],
    database: DatabaseInfo,
    engine: sa.Engine,
    open_clients: list[WsClient],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Its token and role were read before the change, it joins its room after: judged then."""
    member = new_member(engine, api_as, "contributor")
    witness = await connect(open_clients, ws_url, member.ppa_id, token_of(api_as, COORD))
    manager = live_server.app.state.collab.manager
    join = manager.join
    held: set[str] = {member.ppa_id}
    arrived, release = threading.Event(), threading.Event()

    async def held_join(ppa_id: str, *args: Any) -> Any:
        if ppa_id in held:
            held.discard(ppa_id)
            arrived.set()
            await anyio.to_thread.run_sync(release.wait)
        return await join(ppa_id, *args)

    monkeypatch.setattr(manager, "join", held_join)
    late = WsClient(ws_url, member.ppa_id, member.token)
    open_clients.append(late)
    await late.connect()
    assert await asyncio.to_thread(arrived.wait, 10)  # authorised, not joined yet
    await asyncio.to_thread(member.change, "reader")
    release.set()
    await asyncio.wait_for(late.synced.wait(), 10)
    await late.wait_for(lambda: RIGHTS_REDUCED_NOTICE in late.denied)
    text_of(late).insert(0, "RETARD ")
    await refused_everywhere(late, witness, database, member.ppa_id, "RETARD")

    # The same for a removal: closed on joining, before it reads anything.
    other = new_member(engine, api_as, "contributor")
    arrived.clear()
    release.clear()
    held.add(other.ppa_id)
    gone = WsClient(ws_url, other.ppa_id, other.token)
    open_clients.append(gone)
    await gone.connect()
    assert await asyncio.to_thread(arrived.wait, 10)
    await asyncio.to_thread(other.change, REMOVED)
    release.set()
    assert await gone.wait_closed() == CloseCode.FORBIDDEN
    assert gone.close_reason == REMOVED_REASON
    assert gone.received_updates == []


@pytest.fixture(scope="module")
def pair(settings: Any) -> Iterator[tuple[ServeProcess, ServeProcess]]:
    env = {
        "PPA_REDIS_URL": REDIS_URL,
        "PPA_REDIS_CHANNEL_PREFIX": f"ppa-test-{uuid.uuid4().hex[:8]}",
    }
    first, second = ServeProcess(settings, env=env), ServeProcess(settings, env=env)
    first.start()
    second.start()
    yield first, second
    first.stop()
    second.stop()
    for process in (first, second):
        assert "Traceback" not in process.log_text()


@pytest.mark.slow
async def test_change_on_one_process_reaches_connections_on_another(
    pair: tuple[ServeProcess, ServeProcess],
    api_as: Any,
    demo: dict[str, Any],
    database: DatabaseInfo,
    engine: sa.Engine,
    open_clients: list[WsClient],
) -> None:
    """The route answers on process A once process B applied the change to its connections."""
    first, second = pair
    member = new_member(engine, api_as, "contributor", base_url=first.url)
    witness = await connect(open_clients, first.ws_url, member.ppa_id, token_of(api_as, COORD))
    writer = await connect(open_clients, second.ws_url, member.ppa_id, member.token)
    text_of(writer).insert(0, "avant ")
    await saved(writer)
    await witness.wait_for(lambda: "avant" in str(text_of(witness)))

    await asyncio.to_thread(member.change, "reader")
    await writer.wait_for(lambda: RIGHTS_REDUCED_NOTICE in writer.denied)
    text_of(writer).insert(0, "LECTEUR ")
    await refused_everywhere(writer, witness, database, member.ppa_id, "LECTEUR")

    await asyncio.to_thread(member.change, "contributor")
    await writer.wait_for(lambda: RIGHTS_CHANGED_NOTICE in writer.denied)

    await asyncio.to_thread(member.change, OPPOSED)
    text_of(writer).insert(0, "OPPOSE ")
    await writer.drain()
    assert await writer.wait_closed() == CloseCode.FORBIDDEN
    assert writer.close_reason == OPPOSED_REASON
    await refused_everywhere(writer, witness, database, member.ppa_id, "OPPOSE")
