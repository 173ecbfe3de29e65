"""No accepted write makes a PPA unreadable, against the real app: random Yjs updates (random
roots, types, keys, values, nesting, deletions, refused characters) sent over real WebSockets by
every writing role; after each, the REST reads answer 200, a named version 201 and the room's
next checkpoint succeeds. A document stored broken before the guard refused such writes reads,
is repaired when its room loads, and is checkpointed when its session ends."""

from __future__ import annotations

import asyncio
import dataclasses
import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from pycrdt import Doc, Map

from editor.collab.ports import GUARD_AUTHOR
from editor.collab.room import ILLEGAL_TEXT_NOTICE, LAYOUT_REFUSED_NOTICE
from editor.crdt import check_layout, doc_to_content
from server.collab.policy import INCOMPLETE_NOTICE, OWN_FIELDS_NOTICE
from server.collab.store import client_ids_of
from server.versions_api.service import checkpoint
from tests.collab.app import AppServer, eventually, sync_engine, token_of, update_log
from tests.collab.live import WsClient
from tests.collab.test_ws_access import connect, round_trip
from tests.conftest import Api, DatabaseInfo, LiveServer
from tests.crdt_ops import Op, apply_op, operations
from tests.factories import recent_start, valid_ppa
from tests.server.helpers import build_cercle
from tests.server.versions.helpers import COORD

WRITERS = ("coordinatrice", "infirmier", "usager", "aidant")
"""Every writing role: coordinator, contributor, person, aidant (own fields only)."""
REFUSALS = {LAYOUT_REFUSED_NOTICE, ILLEGAL_TEXT_NOTICE, OWN_FIELDS_NOTICE, INCOMPLETE_NOTICE}


def append_raw(database: DatabaseInfo, ppa_id: str, update: bytes, author: str) -> None:
    """Append ``update`` to the PPA's log as the store does, judged by nobody (how a broken
    write was stored before the guard refused it)."""
    with sync_engine(database) as engine, engine.begin() as conn:
        last = conn.execute(
            sa.text("SELECT COALESCE(MAX(seq), 0) FROM ppa_updates WHERE ppa_id = :p"),
            {"p": ppa_id},
        ).scalar_one()
        conn.execute(
            sa.text(
                "INSERT INTO ppa_updates (ppa_id, seq, data, author, created_at, client_ids, "
                "size) VALUES (:p, :s, :d, :a, :t, :c, :n)"
            ),
            {
                "p": ppa_id,
                "s": last + 1,
                "d": update,
                "a": author,
                "t": datetime.now(UTC),
                "c": client_ids_of(update),
                "n": len(update),
            },
        )


def broken_update() -> bytes:
    """What a person's write made of a PPA before this guard: an unknown root (the own-fields
    policy let it through: it changes no field) and an unknown key."""
    doc: Doc[Any] = Doc()
    doc.get("pirate", type=Map)["x"] = "y"
    doc.get("projet", type=Map)["couleur"] = "bleu"
    return doc.get_update()


def rest_reads_answer(api: Api, ppa_id: str) -> None:
    for path in ("", "/problems"):
        response = api.get(f"/api/ppas/{ppa_id}{path}")
        assert response.status_code == 200, response.text
    response = api.post(f"/api/ppas/{ppa_id}/versions", json={"label": "Essai"})
    assert response.status_code == 201, response.text


async def test_a_document_stored_broken_reads_is_repaired_and_checkpointed(
    live_server: LiveServer, api_as: Any, demo: dict[str, Any], database: DatabaseInfo
) -> None:
    cercle = await asyncio.to_thread(build_cercle, api_as, demo)
    ppa_id = cercle.ppa_id
    coord = api_as(COORD)
    person = await asyncio.to_thread(lambda: api_as("usager").get("/api/auth/me").json()["id"])
    await asyncio.to_thread(append_raw, database, ppa_id, broken_update(), person)
    for path in ("", "/problems"):
        response = await asyncio.to_thread(coord.get, f"/api/ppas/{ppa_id}{path}")
        assert response.status_code == 200, response.text

    url = f"{live_server.ws_url}/ws/ppa"
    clients: list[WsClient] = []
    reader = await connect(clients, url, ppa_id, token_of(api_as, "assistante-sociale"))

    def repaired() -> bool:
        return update_log(database, ppa_id)[-1].author == GUARD_AUTHOR

    await eventually(repaired)
    await reader.wait_for(lambda: check_layout(reader.doc) == [])
    await reader.close()

    async def checkpointed() -> bool:
        response = await asyncio.to_thread(coord.get, f"/api/ppas/{ppa_id}/versions")
        return [v["kind"] for v in response.json()] == ["checkpoint"]

    await eventually(checkpointed)
    await asyncio.to_thread(rest_reads_answer, coord, ppa_id)


# --------------------------------------------------------------------------- random writes


@dataclasses.dataclass
class Bench:
    """The real app in the test's event loop (so that the room's checkpoint can be called as
    the engine calls it), one cercle, and a logged-in client per writing role."""

    server: AppServer
    person_id: str
    tokens: dict[str, str]
    coord: Api
    database: DatabaseInfo


@pytest.fixture
async def bench(
    settings: Any, api_as: Any, demo: dict[str, Any], database: DatabaseInfo
) -> AsyncIterator[Bench]:
    server = AppServer(settings)
    await server.start()
    manager = server.app.state.collab.manager
    # Text-only writes are judged by their characters; what a crafted one slips by (a delete of
    # an id key) is repaired by the full check they are due: here at every commit, so that the
    # document can be asserted sound after every write.
    manager.limits = dataclasses.replace(manager.limits, guard_interval=0.0, unload_after=0.05)
    cercle = await asyncio.to_thread(build_cercle, api_as, demo)
    tokens = {role: await asyncio.to_thread(token_of, api_as, role) for role in WRITERS}
    coord = Api(server.http_url, tokens[COORD])
    try:
        yield Bench(server, cercle.person_id, tokens, coord, database)
    finally:
        coord.client.close()
        await server.stop()


async def run_writes(bench: Bench, writes: list[tuple[str, Op]]) -> None:
    content = valid_ppa(fresh_ids=True, start=recent_start()).model_dump(mode="json")
    response = await asyncio.to_thread(
        bench.coord.post,
        f"/api/persons/{bench.person_id}/ppas",
        json={"title": "PPA aléatoire", "content": content},
    )
    assert response.status_code == 201, response.text
    ppa_id = response.json()["id"]
    manager = bench.server.app.state.collab.manager
    clients: dict[str, WsClient] = {}
    opened: list[WsClient] = []
    try:
        for role, op in writes:
            client = clients.get(role)
            if client is None:
                client = await connect(opened, bench.server.url, ppa_id, bench.tokens[role])
                clients[role] = client
            rows = len(await asyncio.to_thread(update_log, bench.database, ppa_id))
            apply_op(client.doc, op)
            denied = len(client.denied)
            await round_trip(client)
            room = manager.room(ppa_id)
            assert room is not None
            await room.flush()
            if len(client.denied) > denied:  # refused: reached nobody, the client goes
                assert set(client.denied[denied:]) <= REFUSALS, client.denied
                event(f"{role}: {client.denied[denied].code}")
                assert len(await asyncio.to_thread(update_log, bench.database, ppa_id)) == rows
                await client.close()
                del clients[role]
            else:
                event(f"{role}: accepted {op[0]}")
            assert check_layout(room.doc) == [], (role, op)
            doc_to_content(room.doc)
            await asyncio.to_thread(rest_reads_answer, bench.coord, ppa_id)
            await checkpoint(bench.server.app.state, ppa_id)
    finally:
        await asyncio.gather(*(client.close() for client in opened))


writes = st.lists(st.tuples(st.sampled_from(WRITERS), operations), min_size=1, max_size=4)
_SETTINGS = {
    "deadline": None,
    "suppress_health_check": [HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
}


@settings(max_examples=25, **_SETTINGS)  # type: ignore[arg-type]
@given(writes=writes)
async def test_random_writes_of_every_role_keep_the_ppa_readable(
    bench: Bench, writes: list[tuple[str, Op]]
) -> None:
    await run_writes(bench, writes)


# 120 examples (about 400 writes) in the full suite; PPA_TEST_GUARD_EXAMPLES=600 (about 2,000
# writes) passed in 21 minutes on the 2-core VM at load 7-8: too long for every CI run. With the
# first backend only: what depends on the database (the checkpoint, the REST reads) is the 25
# examples' above, on every backend; the many random writes judge the guard.
GUARD_EXAMPLES = int(os.environ.get("PPA_TEST_GUARD_EXAMPLES", "120"))


@pytest.mark.slow
@pytest.mark.first_backend
@settings(max_examples=GUARD_EXAMPLES, **_SETTINGS)  # type: ignore[arg-type]
@given(writes=st.lists(st.tuples(st.sampled_from(WRITERS), operations), min_size=1, max_size=6))
async def test_thousands_of_random_writes_keep_the_ppa_readable(
    bench: Bench, writes: list[tuple[str, Op]]
) -> None:
    await run_writes(bench, writes)
