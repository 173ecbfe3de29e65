"""Two ``ppa serve`` processes sharing the database and Redis serve the same PPA: edits and
presence cross between them, a validation on one locks live writers on the other, compaction
runs under a lease, and a process whose Redis subscription broke catches up from the database."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import redis
from pycrdt import Text

from editor.collab.room import LOCKED_NOTICE
from server.collab.fanout import RedisFanout
from tests.collab.app import ServeProcess, eventually, stored_content, token_of, update_log
from tests.collab.live import NodeClient, WsClient
from tests.collab.test_ws_access import round_trip, saved
from tests.conftest import Api, DatabaseInfo
from tests.server.versions.helpers import COORD, new_ppa, validate

pytestmark = [pytest.mark.node, pytest.mark.slow]

REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture(scope="module")
def prefix() -> str:
    return f"ppa-test-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def pair(settings: Any, prefix: str) -> Iterator[tuple[ServeProcess, ServeProcess]]:
    env = {
        "PPA_REDIS_URL": REDIS_URL,
        "PPA_REDIS_CHANNEL_PREFIX": prefix,
        "PPA_COLLAB_COMPACT_EVERY": "25",
        "PPA_COLLAB_UPDATE_RETENTION_DAYS": "0",
    }
    first, second = ServeProcess(settings, env=env), ServeProcess(settings, env=env)
    first.start()
    second.start()
    yield first, second
    first.stop()
    second.stop()
    for process in (first, second):
        assert "Traceback" not in process.log_text()


@pytest.fixture
async def nodes() -> AsyncIterator[list[NodeClient]]:
    started: list[NodeClient] = []
    yield started
    await asyncio.gather(*(client.stop() for client in started))


@pytest.fixture
async def sockets() -> AsyncIterator[list[WsClient]]:
    opened: list[WsClient] = []
    yield opened
    await asyncio.gather(*(client.close() for client in opened))


async def open_ws(opened: list[WsClient], url: str, ppa_id: str, token: str) -> WsClient:
    client = WsClient(url, ppa_id, token)
    opened.append(client)
    await client.connect()
    await asyncio.wait_for(client.synced.wait(), 10)
    return client


def text_of(client: WsClient) -> str:
    return str(client.doc.get("projet_de_vie", type=Text))


async def test_edits_and_presence_cross_processes(
    pair: tuple[ServeProcess, ServeProcess],
    api_as: Any,
    demo: dict[str, Any],
    database: DatabaseInfo,
    nodes: list[NodeClient],
) -> None:
    first, second = pair
    setup = new_ppa(api_as, demo)
    alice, bruno = await asyncio.gather(NodeClient.start(), NodeClient.start())
    nodes.extend([alice, bruno])
    await asyncio.gather(
        alice.call("connect", url=first.ws_url, room=setup.ppa_id, token=token_of(api_as, COORD)),
        bruno.call(
            "connect", url=second.ws_url, room=setup.ppa_id, token=token_of(api_as, "infirmier")
        ),
    )
    await alice.call("waitSynced")
    await bruno.call("waitSynced")
    start = await alice.call("text", field="projet_de_vie")
    await alice.call("insert", field="projet_de_vie", index=0, text="[A] ")
    await bruno.call("waitText", field="projet_de_vie", value="[A] " + start)
    await bruno.call("insert", field="projet_de_vie", index=0, text="[B] ")
    expected = "[B] [A] " + start
    await alice.call("waitText", field="projet_de_vie", value=expected)
    await alice.call("waitSaved")
    await bruno.call("waitSaved")

    await alice.call("setAwareness", state={"user": {"name": "Alice"}})
    await bruno.call("setAwareness", state={"user": {"name": "Bruno"}})
    await alice.call("waitAwareness", count=2)
    await bruno.call("waitAwareness", count=2)
    names = {s["user"]["name"] for s in (await bruno.call("awareness")).values()}
    assert names == {"Alice", "Bruno"}
    await alice.call("disconnect")
    await bruno.call("waitAwareness", count=1)

    # Many writes from both sides: both processes compact (COMPACT_EVERY=25) under the lease.
    await alice.call("connect", url=first.ws_url, room=setup.ppa_id)
    await alice.call("waitSynced")
    for i in range(40):
        await alice.call("insert", field="projet_de_vie", index=0, text=f"a{i} ")
        await bruno.call("insert", field="projet_de_vie", index=0, text=f"b{i} ")
    await alice.call("waitSaved")
    await bruno.call("waitSaved")

    async def same_text() -> bool:
        texts = [await c.call("text", field="projet_de_vie") for c in (alice, bruno)]
        return bool(texts[0] == texts[1])

    await eventually(same_text)  # each saw the other's last edit
    final = await alice.call("text", field="projet_de_vie")
    assert all(f"a{i} " in final and f"b{i} " in final for i in range(40))
    assert stored_content(database, setup.ppa_id).projet_de_vie == final
    log = update_log(database, setup.ppa_id)
    assert [row.seq for row in log] == list(range(1, len(log) + 1))  # contiguous
    # Compaction runs in the background; retention 0: folded updates lose their bytes.
    await eventually(lambda: any(r.data is None for r in update_log(database, setup.ppa_id)))
    log = update_log(database, setup.ppa_id)
    assert all(row.author and row.size > 0 for row in log)  # authorship kept
    assert stored_content(database, setup.ppa_id).projet_de_vie == final
    assert await alice.call("errors") == []
    assert await bruno.call("errors") == []


async def test_validation_on_one_process_locks_writers_on_the_other(
    pair: tuple[ServeProcess, ServeProcess],
    api_as: Any,
    demo: dict[str, Any],
    database: DatabaseInfo,
    sockets: list[WsClient],
) -> None:
    first, second = pair
    setup = new_ppa(api_as, demo)
    nurse = await open_ws(sockets, second.ws_url, setup.ppa_id, token_of(api_as, "infirmier"))
    coord = await open_ws(sockets, first.ws_url, setup.ppa_id, token_of(api_as, COORD))
    nurse.doc.get("projet_de_vie", type=Text).insert(0, "juste avant ")
    await saved(nurse)
    await coord.wait_for(lambda: text_of(coord).startswith("juste avant "))

    api = Api(first.url, token_of(api_as, COORD))
    try:
        response = validate(api, setup.ppa_id)
    finally:
        api.client.close()
    assert response.status_code == 201, response.text
    await nurse.wait_for(lambda: LOCKED_NOTICE in nurse.denied, within=2)
    rows = len(update_log(database, setup.ppa_id))
    nurse.doc.get("projet_de_vie", type=Text).insert(0, "APRES ")
    await round_trip(nurse)
    await round_trip(coord)
    assert not text_of(coord).startswith("APRES")
    assert len(update_log(database, setup.ppa_id)) == rows
    validated = api_as(COORD).get(f"/api/ppas/{setup.ppa_id}/versions").json()
    assert any(v["kind"] == "validated" for v in validated)


async def test_a_broken_subscription_catches_up_from_the_database(
    pair: tuple[ServeProcess, ServeProcess],
    prefix: str,
    api_as: Any,
    demo: dict[str, Any],
    sockets: list[WsClient],
) -> None:
    first, second = pair
    setup = new_ppa(api_as, demo)
    writer = await open_ws(sockets, first.ws_url, setup.ppa_id, token_of(api_as, COORD))
    reader = await open_ws(sockets, second.ws_url, setup.ppa_id, token_of(api_as, "infirmier"))
    assert second.process is not None
    with redis.Redis.from_url(REDIS_URL) as admin:
        name = f"{prefix}:sub:{second.process.pid}"
        killed = 0
        for client in admin.client_list():
            if client.get("name") == name:
                killed += int(admin.client_kill_filter(_id=client["id"]))
        assert killed == 1
        # Written while the second process has no subscription: Redis drops these messages.
        writer.doc.get("projet_de_vie", type=Text).insert(0, "pendant la coupure ")
        await saved(writer)
    await reader.wait_for(lambda: text_of(reader).startswith("pendant la coupure "), 10)
    await eventually(lambda: f"collab.room.caught_up ppa={setup.ppa_id}" in second.log_text())


async def test_compaction_lease_has_one_holder() -> None:
    prefix = f"ppa-test-{uuid.uuid4().hex[:8]}"
    one, two = RedisFanout(REDIS_URL, prefix), RedisFanout(REDIS_URL, prefix)
    try:
        assert await one.acquire("ppa-x")
        assert not await two.acquire("ppa-x")
        await two.release("ppa-x")  # not the holder: no effect
        assert not await two.acquire("ppa-x")
        await one.release("ppa-x")
        assert await two.acquire("ppa-x")
        await two.release("ppa-x")
    finally:
        await one.close()
        await two.close()
