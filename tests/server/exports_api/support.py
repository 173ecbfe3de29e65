"""Builders for the export/ESMS/agenda tests: a person with a full cercle, attached to a
structure, whose PPA (the demo content, with the demo professionals) is validated, then amended
by a validated avenant that moves one schedule and removes one action."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from editor.crdt import doc_from_state, encode_state, write_content
from editor.schema import PPAContent
from server.db import Database, utcnow
from server.models import PPADocument
from tests.conftest import Api, DatabaseInfo
from tests.factories import recent_start, valid_ppa
from tests.server.helpers import Cercle, build_cercle

COORD = "coordinatrice"
ESMS = "esms"
STRUCTURE_ACCORD = {"par": "Claire Durand, directrice du FAM", "date": "2026-11-20"}
PERSON_ACCORD = {"mode": "signe", "par": "Jean Paul Dupont", "date": "2026-11-20"}


@dataclass
class Validated:
    cercle: Cercle
    ppa_id: str
    content: PPAContent
    draft: int
    """A named version taken before the validation (a draft)."""
    validated: int
    avenant: int | None = None
    avenant_content: PPAContent | None = None
    removed_action_id: str | None = None
    moved_action_id: str | None = None

    @property
    def person_id(self) -> str:
        return self.cercle.person_id


def write_live_content(settings: Any, ppa_id: str, content: PPAContent) -> None:
    """Make the stored live document hold ``content`` (minimal CRDT changes), as an edit would.

    No collaboration room is open in these tests, so the stored state is the live one.
    """

    async def _write() -> None:
        db = Database(settings.resolved_database_url())
        try:
            async with db.transaction() as session:
                document = await session.get(PPADocument, ppa_id)
                assert document is not None
                doc = doc_from_state(document.state)
                write_content(doc, content)
                document.state = encode_state(doc)
                document.updated_at = utcnow()
        finally:
            await db.dispose()

    asyncio.run(_write())


def validate(api: Api, ppa_id: str) -> int:
    response = api.post(
        f"/api/ppas/{ppa_id}/validate",
        json={"structure": STRUCTURE_ACCORD, "personne": PERSON_ACCORD},
    )
    assert response.status_code == 201, response.text
    number: int = response.json()["number"]
    return number


def new_validated(
    api_as: Callable[[str], Api],
    demo: dict[str, Any],
    *,
    opposed: tuple[str, ...] = (),
    structure: str | None = "fam",
) -> Validated:
    """A fresh person (every role) with a validated PPA (demo content, demo professionals)."""
    cercle = build_cercle(api_as, demo, opposed=opposed)
    coord = api_as(COORD)
    if structure is not None:
        response = coord.patch(
            f"/api/persons/{cercle.person_id}",
            json={"structure_id": demo["structures"][structure], "local_id": "DUI-0042"},
        )
        assert response.status_code == 200, response.text
    content = valid_ppa(members=demo["professionals"], fresh_ids=True, start=recent_start())
    response = coord.post(
        f"/api/persons/{cercle.person_id}/ppas",
        json={"title": "PPA exports", "content": content.model_dump(mode="json")},
    )
    assert response.status_code == 201, response.text
    assert response.json()["problems"] == [], response.text
    ppa_id = response.json()["id"]
    response = coord.post(f"/api/ppas/{ppa_id}/versions", json={"label": "Avant validation"})
    assert response.status_code == 201, response.text
    draft = response.json()["number"]
    return Validated(cercle, ppa_id, content, draft, validate(coord, ppa_id))


def add_avenant(api_as: Callable[[str], Api], settings: Any, v: Validated) -> Validated:
    """Open an avenant, move the first action's schedule, remove the last action whose
    objectives keep another one (an objective without action is refused), validate."""
    coord = api_as(COORD)
    response = coord.post(f"/api/ppas/{v.ppa_id}/avenant")
    assert response.status_code in (200, 201), response.text
    content = v.content.model_copy(deep=True)
    moved = content.actions[0]
    removed = next(
        a
        for a in reversed(content.actions)
        if all(
            any(o in other.objectif_ids for other in content.actions if other is not a)
            for o in a.objectif_ids
        )
    )
    assert moved.planning is not None
    moved.planning.heure_debut = "19:00"
    assert content.projet.date_debut is not None
    moved.date_debut = content.projet.date_debut + timedelta(days=1)
    content.actions = [a for a in content.actions if a.id != removed.id]
    write_live_content(settings, v.ppa_id, content)
    v.avenant = validate(coord, v.ppa_id)
    v.avenant_content = content
    v.moved_action_id = moved.id
    v.removed_action_id = removed.id
    return v


def wait_for(check: Callable[[], Any], within: float = 30.0, every: float = 0.2) -> Any:
    """Poll ``check`` until it returns something truthy (background work: feed, webhooks)."""
    deadline = time.monotonic() + within
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {within} s")
        time.sleep(every)


def feed_items(api: Api, **params: Any) -> dict[str, Any]:
    response = api.get("/api/esms/feed", params=params)
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()
    return page


def feed_position(database: DatabaseInfo, ppa_id: str, version: int) -> int:
    """The feed position of a published version, read from ``esms_feed_events`` (for a version
    the demo ESMS client may not read: the feed answers API clients only)."""
    engine = sa.create_engine(database.sync_url)

    def check() -> int | None:
        with engine.connect() as conn:
            position = conn.scalar(
                sa.text(
                    "SELECT position FROM esms_feed_events"
                    " WHERE ppa_id = :ppa AND version_number = :version"
                ),
                {"ppa": ppa_id, "version": version},
            )
        return None if position is None else int(position)

    try:
        result: int = wait_for(check)
    finally:
        engine.dispose()
    return result


def feed_until(api: Api, ppa_id: str, version: int) -> list[dict[str, Any]]:
    """Feed items (from the start) once the given version was published."""

    def check() -> list[dict[str, Any]] | None:
        items: list[dict[str, Any]] = []
        cursor = None
        while True:
            page = feed_items(api, cursor=cursor, limit=500) if cursor else feed_items(api)
            items += page["items"]
            cursor = page["next_cursor"]
            if not page["has_more"]:
                break
        found = any(i["ppa_id"] == ppa_id and i["version"] == version for i in items)
        return items if found else None

    result: list[dict[str, Any]] = wait_for(check)
    return result
