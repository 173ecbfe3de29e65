"""Crash test: clients edit continuously while the ``ppa serve`` process is killed with SIGKILL at
random moments. After each kill, the database holds every update a client was told is stored
(durable acknowledgement) and every update another client received; at the end, after a restart,
every replica and the stored document are identical."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from pycrdt import Text

from editor.collab.protocol import decode_state_vector
from tests.collab.app import ServeProcess, fresh_ppa, stored_doc, token_of
from tests.collab.live import WsClient
from tests.conftest import DatabaseInfo

pytestmark = pytest.mark.slow

ROUNDS = 4
CLIENTS = 3
USERS = ("coordinatrice", "infirmier", "ergotherapeute")


@pytest.fixture
def serve(settings: Any, database: DatabaseInfo) -> Iterator[ServeProcess]:
    process = ServeProcess(settings)
    yield process
    process.kill()


def field(client: WsClient) -> Text:
    text: Text = client.doc.get("projet_de_vie", type=Text)
    return text


def clock(state_vector: bytes | None, client_id: int) -> int:
    return 0 if state_vector is None else decode_state_vector(state_vector).get(client_id, 0)


async def edit_forever(client: WsClient, name: str, rng: random.Random) -> None:
    n = 0
    while True:
        text = field(client)
        text.insert(len(text) if rng.random() < 0.7 else 0, f"<{name}{n}>")
        n += 1
        await asyncio.sleep(rng.uniform(0, 0.02))


@contextlib.asynccontextmanager
async def editing(clients: list[WsClient], rng: random.Random) -> AsyncIterator[None]:
    tasks = [
        asyncio.ensure_future(edit_forever(c, f"c{i}-", random.Random(rng.random())))
        for i, c in enumerate(clients)
    ]
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def reconnect(client: WsClient) -> None:
    await client.close()
    await client.connect()
    await asyncio.wait_for(client.synced.wait(), 20)


async def test_sigkill_never_loses_an_acknowledged_or_relayed_update(
    serve: ServeProcess, api_as: Any, demo: dict[str, Any], database: DatabaseInfo
) -> None:
    rng = random.Random(20261125)
    cercle = fresh_ppa(api_as, demo)
    tokens = [token_of(api_as, USERS[i % len(USERS)]) for i in range(CLIENTS)]
    clients = [WsClient(serve.ws_url, cercle.ppa_id, token) for token in tokens]
    checked = 0
    try:
        for _round in range(ROUNDS):
            serve.start()
            await asyncio.gather(*(reconnect(c) for c in clients))
            async with editing(clients, rng):
                await asyncio.sleep(rng.uniform(0.2, 1.0))
                serve.kill()
            durable = stored_doc(database, cercle.ppa_id).get_state()
            for client in clients:
                cid = client.doc.client_id
                told = clock(client.durable_sv, cid)
                relayed = max(clock(o.doc.get_state(), cid) for o in clients if o is not client)
                assert told > 0 or _round == 0
                assert clock(durable, cid) >= max(told, relayed), (cid, told, relayed)
                checked += told
        # Last restart: offline edits are resent, and everything converges.
        serve.start()
        await asyncio.gather(*(reconnect(c) for c in clients))
        for client in clients:
            await client.wait_for(client.saved, within=20)
        states = [c.doc.get_state() for c in clients]
        for client in clients:
            await client.wait_for(
                lambda c=client: all(
                    clock(c.doc.get_state(), o.doc.client_id) >= clock(s, o.doc.client_id)
                    for o, s in zip(clients, states, strict=True)
                ),
                within=20,
            )
        texts = {str(field(c)) for c in clients}
        assert len(texts) == 1
        assert str(stored_doc(database, cercle.ppa_id).get("projet_de_vie", type=Text)) in texts
        rest = api_as("coordinatrice").get(f"/api/ppas/{cercle.ppa_id}").json()
        assert rest["content"]["projet_de_vie"] in texts
        assert checked > 0
        assert "Traceback" not in serve.log_text()
        for token in tokens:
            assert token not in serve.log_text()
    finally:
        await asyncio.gather(*(c.close() for c in clients), return_exceptions=True)
        serve.stop()
