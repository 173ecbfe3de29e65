"""Review reminders (reco 1.1.7): due within 30 days, then overdue; once per recipient and
version whatever the number of days and runs; never to a reader or an opposed member."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from server.db import Database
from server.notifications.reviews import remind
from server.notifications.settings import NotificationSettings
from tests.factories import recent_start, valid_ppa
from tests.server.exports_api.support import COORD, new_validated, validate
from tests.server.helpers import build_cercle
from tests.server.notifications.support import module_server
from tests.server.notifications.test_digest import Clock, Process
from tests.server.notifications.test_emission import natures


def _noon(day: date) -> datetime:
    return datetime.combine(day, time(12), tzinfo=UTC)


def test_review_due_then_overdue_once(api_as: Any, demo: dict[str, Any], settings: Any) -> None:
    v = new_validated(api_as, demo, opposed=("ergotherapeute",))
    version = api_as(COORD).get(f"/api/ppas/{v.ppa_id}/versions/{v.validated}").json()
    next_review = date.fromisoformat(version["next_review"])

    async def run(day: date) -> int:
        db = Database(settings.resolved_database_url())
        try:
            return await remind(db, _noon(day))
        finally:
            await db.dispose()

    due_day = next_review - timedelta(days=10)
    asyncio.run(run(due_day))
    assert asyncio.run(run(due_day)) == 0  # that day is done (any process)
    asyncio.run(run(due_day + timedelta(days=1)))  # another day: nothing new for this version
    nurse = natures(api_as("infirmier"), v.person_id)
    assert nurse.count("ppa.review_due") == 1
    assert natures(api_as(COORD), v.person_id).count("ppa.review_due") == 1
    person = [n for n in natures(api_as("usager"), v.person_id) if n.startswith("ppa.review")]
    assert person == ["ppa.review_due"]
    assert "ppa.review_due" not in natures(api_as("assistante-sociale"), v.person_id)
    assert natures(api_as("ergotherapeute"), v.person_id) == []
    asyncio.run(run(next_review + timedelta(days=1)))
    asyncio.run(run(next_review + timedelta(days=2)))
    assert natures(api_as("infirmier"), v.person_id).count("ppa.review_overdue") == 1
    assert "ppa.review_overdue" not in natures(api_as("usager"), v.person_id)


def test_a_ppa_whose_period_ended_is_told_echu(
    api_as: Any, demo: dict[str, Any], settings: Any
) -> None:
    """Rule 6 of docs/domain-rules.md: a PPA in force is échu once its period ended, even with
    its review date still ahead (a review after the period's end is only to check): the
    coordinators are told it is échu (review_overdue), not that a review is coming."""
    cercle = build_cercle(api_as, demo)
    coord = api_as(COORD)
    content = valid_ppa(members=demo["professionals"], fresh_ids=True, start=recent_start())
    end = content.projet.date_fin
    assert end is not None
    content.bilan.prochaine_revision = end + timedelta(days=5)
    created = coord.post(
        f"/api/persons/{cercle.person_id}/ppas",
        json={"title": "PPA échu", "content": content.model_dump(mode="json")},
    )
    assert created.status_code == 201, created.text
    assert [p["code"] for p in created.json()["problems"]] == ["review_after_projet_end"]
    ppa_id = created.json()["id"]
    validate(coord, ppa_id)

    async def run(day: date) -> int:
        db = Database(settings.resolved_database_url())
        try:
            return await remind(db, _noon(day))
        finally:
            await db.dispose()

    asyncio.run(run(end))  # the last day of the period: the review is coming
    assert natures(api_as(COORD), cercle.person_id).count("ppa.review_due") == 1
    asyncio.run(run(end + timedelta(days=1)))  # the period ended, the review is 4 days ahead
    told = natures(api_as(COORD), cercle.person_id)
    assert told.count("ppa.review_overdue") == 1, told
    assert coord.get(f"/api/ppas/{ppa_id}").json()["echu"] is False  # today: still in force


def test_the_reminders_day_is_the_services_day(tmp_path: Path) -> None:
    """``PPA_NOTIFY_TIMEZONE=Indian/Reunion`` (UTC+4): at 21:00 UTC it is already the next day
    there, and the worker's daily review run is that day's."""
    with module_server(tmp_path, notify_enabled=False) as ms:
        clock = Clock(datetime(2031, 5, 6, 21, tzinfo=UTC))
        settings = NotificationSettings(notify_timezone="Indian/Reunion")

        async def run() -> None:
            process = Process(ms, settings, clock)
            try:
                await process.worker.run_once()
            finally:
                await process.close()

        asyncio.run(run())
        engine = sa.create_engine(ms.database.sync_url)
        with engine.connect() as conn:
            keys = set(
                conn.execute(sa.text("SELECT period_key FROM notification_digest_runs")).scalars()
            )
        engine.dispose()
        assert "reviews:2031-05-07" in keys
        assert "reviews:2031-05-06" not in keys
