"""Digest due times in Europe/Paris across both DST changes of 2026 (pure computation)."""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest

from server.models.notifications import Frequency
from server.notifications.schedule import DigestSchedule, last_due, next_due

PARIS = DigestSchedule()


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


@pytest.mark.parametrize(
    ("now", "due", "key"),
    [
        # winter (CET, UTC+1): 18:00 local is 17:00 UTC
        (utc(2026, 3, 28, 16, 59, 59), utc(2026, 3, 27, 17), "daily:2026-03-27"),
        (utc(2026, 3, 28, 17), utc(2026, 3, 28, 17), "daily:2026-03-28"),
        # DST starts on Sunday 29 March at 02:00: 18:00 local is now 16:00 UTC
        (utc(2026, 3, 29, 15, 59), utc(2026, 3, 28, 17), "daily:2026-03-28"),
        (utc(2026, 3, 29, 16), utc(2026, 3, 29, 16), "daily:2026-03-29"),
        # DST ends on Sunday 25 October at 03:00: back to 17:00 UTC
        (utc(2026, 10, 24, 16, 30), utc(2026, 10, 24, 16), "daily:2026-10-24"),
        (utc(2026, 10, 25, 16, 30), utc(2026, 10, 24, 16), "daily:2026-10-24"),
        (utc(2026, 10, 25, 17), utc(2026, 10, 25, 17), "daily:2026-10-25"),
    ],
)
def test_daily_at_18_paris(now: datetime, due: datetime, key: str) -> None:
    assert last_due(PARIS, Frequency.DAILY, now) == (due, key)


@pytest.mark.parametrize(
    ("now", "due", "key"),
    [
        (utc(2026, 3, 30, 5, 59), utc(2026, 3, 23, 7), "weekly:2026-03-23"),
        (utc(2026, 3, 30, 6), utc(2026, 3, 30, 6), "weekly:2026-03-30"),  # Monday 08:00 CEST
        (utc(2026, 4, 5, 23), utc(2026, 3, 30, 6), "weekly:2026-03-30"),
        (utc(2026, 10, 26, 6, 30), utc(2026, 10, 19, 6), "weekly:2026-10-19"),
        (utc(2026, 10, 26, 7), utc(2026, 10, 26, 7), "weekly:2026-10-26"),  # 08:00 CET
    ],
)
def test_weekly_monday_8_paris(now: datetime, due: datetime, key: str) -> None:
    assert last_due(PARIS, Frequency.WEEKLY, now) == (due, key)


def test_next_due_and_a_time_skipped_by_dst() -> None:
    assert next_due(PARIS, Frequency.DAILY, utc(2026, 3, 28, 17)) == utc(2026, 3, 29, 16)
    assert next_due(PARIS, Frequency.WEEKLY, utc(2026, 3, 28)) == utc(2026, 3, 30, 6)
    # 02:30 does not exist on 29 March in Paris: the digest goes at 03:30 CEST (01:30 UTC)
    night = DigestSchedule(daily_at=time(2, 30))
    assert last_due(night, Frequency.DAILY, utc(2026, 3, 29, 12))[0] == utc(2026, 3, 29, 1, 30)
    # 02:30 happens twice on 25 October: the first one (CEST, 00:30 UTC)
    assert last_due(night, Frequency.DAILY, utc(2026, 10, 25, 12))[0] == utc(2026, 10, 25, 0, 30)
