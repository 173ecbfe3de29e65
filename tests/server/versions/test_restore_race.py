"""Restore versus validation across processes: the database decides before the live room is
written. A validation and a restore of the same PPA race on two servers (two processes as far as
locks go), many times: a validated version always holds what the locked document holds, a
restore is never applied after the lock, and the loser gets 409 in French."""

from __future__ import annotations

import asyncio
import random
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from server.collab.store import stored_state
from server.db import Database
from server.models import PPA, Version
from server.versions_api import service
from server.versions_api.runtime import runtime
from tests.conftest import LiveServer
from tests.server.versions.conftest import Edit
from tests.server.versions.helpers import (
    CONTRIB,
    COORD,
    PERSON_ACCORD,
    STRUCTURE_ACCORD,
    new_ppa,
    save,
)
from versions.canonical import canonical_content


@pytest.fixture(scope="module")
def two_servers(settings: Any, api_as: Any) -> Iterator[tuple[LiveServer, LiveServer]]:
    """Two more apps on the same database: neither has the PPA's room loaded, so both read
    the durable document (the first server's room holds the live edit made before the race)."""
    # Copies: LiveServer sets the port on its settings (the session server's public URL).
    servers = (LiveServer(settings.model_copy()), LiveServer(settings.model_copy()))
    for server in servers:
        server.start()
        # Warm-up: the first request to a route builds its body schema, and pydantic warns (an
        # error under pytest's filterwarnings) when two threads build it at once.
        token = api_as(COORD).token
        with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"}) as c:
            c.post("/api/ppas/unknown/validate", json={"structure": STRUCTURE_ACCORD})
            c.post("/api/ppas/unknown/versions/1/restore")
    yield servers
    for server in servers:
        server.stop()


@pytest.fixture
def jitter(two_servers: tuple[LiveServer, LiveServer]) -> Iterator[None]:
    """Random pauses at the steps where the two requests can interleave (on both servers)."""

    def pause(step: str, ppa_id: str | None) -> None:
        if step in ("room_locked", "restore_claimed", "restore_written", "ppa_locked"):
            time.sleep(random.uniform(0, 0.03))

    runtimes = [runtime(server.app.state) for server in two_servers]
    for rt in runtimes:
        rt.faults = pause
    yield
    for rt in runtimes:
        rt.faults = None


def _state(settings: Any, ppa_id: str) -> tuple[PPA, list[Version], bytes]:
    async def run() -> tuple[PPA, list[Version], bytes]:
        db = Database(settings.database_url)
        try:
            async with db.transaction() as session:
                ppa = await session.get(PPA, ppa_id)
                assert ppa is not None
                versions = list(
                    await session.scalars(
                        select(Version).where(Version.ppa_id == ppa_id).order_by(Version.number)
                    )
                )
                document = service.content_of_state(await stored_state(session, ppa_id))
                return ppa, versions, canonical_content(document)
        finally:
            await db.dispose()

    return asyncio.run(run())


def _race(
    validate_url: str, restore_url: str, coord: str, contrib: str, ppa_id: str
) -> tuple[httpx.Response, httpx.Response]:
    barrier = threading.Barrier(2)
    results: dict[str, httpx.Response] = {}

    def send(name: str, url: str, token: str, path: str, body: Any) -> None:
        with httpx.Client(
            base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=60
        ) as client:
            barrier.wait()
            results[name] = client.post(path, json=body)

    threads = [
        threading.Thread(
            target=send,
            args=(
                "validate",
                validate_url,
                coord,
                f"/api/ppas/{ppa_id}/validate",
                {"structure": STRUCTURE_ACCORD, "personne": PERSON_ACCORD},
            ),
        ),
        threading.Thread(
            target=send,
            args=("restore", restore_url, contrib, f"/api/ppas/{ppa_id}/versions/1/restore", None),
        ),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results["validate"], results["restore"]


ROUNDS = 8


def test_restore_and_validation_serialise_across_processes(
    api_as: Any,
    demo: dict[str, Any],
    edit: Edit,
    settings: Any,
    two_servers: tuple[LiveServer, LiveServer],
    jitter: None,
) -> None:
    outcomes: list[tuple[int, int]] = []
    for round_ in range(ROUNDS):
        setup = new_ppa(api_as, demo)
        save(api_as(CONTRIB), setup.ppa_id, "Premier jet")
        edit(setup.ppa_id, lambda c, n=round_: setattr(c, "projet_de_vie", f"Après v1 ({n})."))
        first = _state(settings, setup.ppa_id)[1][0].content
        edited = _state(settings, setup.ppa_id)[2]
        assert edited != first
        servers = two_servers if round_ % 2 else tuple(reversed(two_servers))
        token_coord, token_contrib = api_as(COORD).token, api_as(CONTRIB).token
        assert token_coord is not None
        assert token_contrib is not None
        validated, restored = _race(
            servers[0].url, servers[1].url, token_coord, token_contrib, setup.ppa_id
        )
        codes = (validated.status_code, restored.status_code)
        outcomes.append(codes)
        assert codes in {(201, 201), (201, 409), (409, 201)}, (codes, validated.text, restored.text)
        for loser in (r for r in (validated, restored) if r.status_code == 409):
            assert (
                loser.json()["detail"].startswith("Ce PPA")
                or "restauration" in (loser.json()["detail"])
            ), loser.text
            assert "PPA" in loser.json()["detail"]
        ppa, versions, document = _state(settings, setup.ppa_id)
        kinds = [(v.number, v.kind) for v in versions]
        if validated.status_code == 201:
            assert ppa.locked
            final = next(v for v in versions if v.kind == "validated")
            # The validated version holds exactly what the locked document holds.
            assert final.content == document, kinds
            if restored.status_code == 201 and not restored.json()["new_ppa"]:
                restore = next(v for v in versions if v.kind == "restore")
                assert restore.number < final.number, kinds  # applied before the lock
                assert document == first
            if restored.status_code == 201 and restored.json()["new_ppa"]:
                assert document == edited  # restored into a new draft, not the locked one
            if restored.status_code == 409:
                assert document == edited
                assert "restore" not in {v.kind for v in versions}
        else:
            assert not ppa.locked
            assert restored.status_code == 201
            assert document == first
            assert "validated" not in {v.kind for v in versions}
    assert len(outcomes) == ROUNDS
