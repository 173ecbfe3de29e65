"""Convergence against the real app: several pycrdt replicas over real WebSockets (each sends its
frames in a random order, some twice), random disconnects, and a server restart mid-run; at the
end every replica, the stored document and the REST projection are identical.

The app runs in the test's event loop (uvicorn, lifespan on) so that it restarts in milliseconds;
the SIGKILL restarts of a real process are in ``test_ws_crash``."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import AsyncIterator
from typing import Any

import pytest
from pycrdt import Doc, Map, Text
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from editor.collab.protocol import decode_state_vector
from tests.collab.app import AppServer, fresh_ppa, stored_doc, token_of
from tests.collab.channels import SimClient
from tests.conftest import DatabaseInfo

pytestmark = pytest.mark.slow

SEEDS = [11, 23, 37, 41, 53, 67]
USERS = ("coordinatrice", "infirmier", "ergotherapeute", "psychologue")


@pytest.fixture
async def app_server(settings: Any) -> AsyncIterator[AppServer]:
    server = AppServer(settings)
    await server.start()
    yield server
    await server.stop()


class Replica:
    """A stock-behaving pycrdt client whose frames to the server leave in a random order."""

    def __init__(self, url: str, ppa_id: str, token: str, client_id: int) -> None:
        self.url = f"{url}/{ppa_id}?token={token}"
        self.client = SimClient(client_id)
        self.ws: ClientConnection | None = None
        self.reader: asyncio.Task[None] | None = None

    @property
    def doc(self) -> Doc[Any]:
        return self.client.doc

    async def connect(self) -> None:
        self.ws = await connect(self.url, max_size=None)
        self.client.connect()
        self.reader = asyncio.ensure_future(self._read(self.ws))

    async def _read(self, ws: ClientConnection) -> None:
        with contextlib.suppress(ConnectionClosed):
            async for frame in ws:
                assert isinstance(frame, bytes)
                self.client.handle(frame)

    async def disconnect(self) -> None:
        ws, self.ws = self.ws, None
        self.client.disconnect()
        if ws is not None:
            await ws.close()
        if self.reader is not None:
            await self.reader

    def describe(self) -> str:
        """What a failed convergence needs to show about this replica (test content only)."""
        ws = self.ws
        durable = decode_state_vector(self.client.durable_sv) if self.client.durable_sv else None
        return (
            f"replica {self.doc.client_id}: {snapshot(self.doc)} saved={self.client.saved()} "
            f"durable={durable} outbox={len(self.client.outbox)} "
            f"socket={'none' if ws is None else ws.state.name} "
            f"close={None if ws is None else (ws.close_code, ws.close_reason)} "
            f"denied={self.client.denied}"
        )

    def edit(self, rng: random.Random) -> None:
        text = self.doc.get("projet_de_vie", type=Text)
        chars = str(text)

        def offset(index: int) -> int:  # pycrdt offsets are UTF-8 bytes
            return len(chars[:index].encode())

        if len(chars) > 4 and rng.random() < 0.3:
            start = rng.randrange(len(chars) - 2)
            del text[offset(start) : offset(start + rng.randint(1, 2))]
        elif rng.random() < 0.2:
            self.doc.get("projet", type=Map)["date_debut"] = f"2026-01-{rng.randint(1, 28):02d}"
        else:
            text.insert(offset(rng.randint(0, len(chars))), rng.choice(["a", "bé", "c d", "€"]))

    async def send_some(self, rng: random.Random) -> None:
        outbox = self.client.outbox
        if self.ws is None or not outbox:
            return
        index = rng.randrange(len(outbox))
        frame = outbox[index]
        if rng.random() > 0.2:  # otherwise sent again later (a duplicate)
            del outbox[index]
        with contextlib.suppress(ConnectionClosed):
            await self.ws.send(frame)

    async def flush(self) -> None:
        while self.ws is not None and self.client.outbox:
            frames, self.client.outbox = self.client.outbox, []
            for frame in frames:
                with contextlib.suppress(ConnectionClosed):
                    await self.ws.send(frame)
            await asyncio.sleep(0.01)


def snapshot(doc: Doc[Any]) -> tuple[dict[int, int], str, Any]:
    return (
        decode_state_vector(doc.get_state()),
        str(doc.get("projet_de_vie", type=Text)),
        doc.get("projet", type=Map).get("date_debut"),
    )


@pytest.mark.parametrize("seed", SEEDS)
# A random-operation loop: one branch per operation kind (edit, sync, restart, ...).
async def test_replicas_store_and_rest_converge_across_a_restart(  # noqa: C901
    seed: int, app_server: AppServer, api_as: Any, demo: dict[str, Any], database: DatabaseInfo
) -> None:
    rng = random.Random(seed)
    cercle = fresh_ppa(api_as, demo)
    if "psychologue" not in cercle.members:
        member = api_as("coordinatrice").post(
            f"/api/persons/{cercle.person_id}/cercle",
            json={
                "kind": "professional",
                "role": "contributor",
                "user_id": api_as("psychologue").get("/api/auth/me").json()["id"],
            },
        )
        assert member.status_code == 201, member.text
    replicas = [
        Replica(
            app_server.url,
            cercle.ppa_id,
            token_of(api_as, USERS[i % len(USERS)]),
            rng.randrange(1, 2**31),
        )
        for i in range(rng.randint(2, 4))
    ]
    restart_at = rng.randint(20, 60)
    try:
        for replica in replicas:
            await replica.connect()
        for step in range(rng.randint(70, 110)):
            if step == restart_at:
                # Frames still in the outboxes (and those in flight) are lost with the sockets;
                # the replicas keep their edits and resend them on reconnection.
                await app_server.restart()
                for replica in replicas:
                    await replica.disconnect()
                    await replica.connect()
            replica = rng.choice(replicas)
            action = rng.random()
            if action < 0.4:
                replica.edit(rng)
            elif action < 0.8:
                await replica.send_some(rng)
            elif action < 0.9:
                await asyncio.sleep(0.005)
            elif replica.ws is None:
                await replica.connect()
            else:
                await replica.disconnect()
        for replica in replicas:
            if replica.ws is None:
                await replica.connect()

        try:
            async with asyncio.timeout(30):
                while True:
                    for replica in replicas:
                        await replica.flush()
                    # State vectors alone are not enough: a deletion-only update leaves the
                    # state vector unchanged, and may still be on its way to some replica.
                    states = {
                        (tuple(sorted(snap[0].items())), *snap[1:])
                        for snap in (snapshot(r.doc) for r in replicas)
                    }
                    if len(states) == 1 and all(r.client.saved() for r in replicas):
                        break
                    await asyncio.sleep(0.05)
        except TimeoutError:
            pytest.fail(
                "no convergence in 30 s:\n"
                + "\n".join(replica.describe() for replica in replicas)
                + f"\nstored: {snapshot(stored_doc(database, cercle.ppa_id))}"
            )
        expected = snapshot(replicas[0].doc)
        for replica in replicas:
            assert snapshot(replica.doc) == expected
        assert snapshot(stored_doc(database, cercle.ppa_id)) == expected
        content = api_as("coordinatrice").get(f"/api/ppas/{cercle.ppa_id}").json()["content"]
        assert content["projet_de_vie"] == expected[1]
        assert content["projet"]["date_debut"] == expected[2]
    finally:
        for replica in replicas:
            await replica.disconnect()
