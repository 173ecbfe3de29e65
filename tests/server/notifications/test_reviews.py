"""Review reminders (reco 1.1.7): due within 30 days, then overdue; once per recipient and
version whatever the number of days and runs; never to a reader or an opposed member."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from server.db import Database
from server.notifications.reviews import remind
from tests.server.exports_api.support import COORD, new_validated
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
