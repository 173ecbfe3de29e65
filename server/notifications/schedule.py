"""When digests are due: local wall-clock times in a time zone (Europe/Paris), DST included.

A daily digest is due every day at ``daily_at`` local time, a weekly one every ``weekly_day``
at ``weekly_at``. :func:`last_due` gives the most recent due instant at or before ``now`` and
the period's key (``daily:2026-03-29``, ``weekly:2026-03-30``): a period is generated once
(:class:`server.models.notifications.DigestRun`), whenever a worker first sees it due; a
service stopped over several periods sends one digest holding everything pending.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from server.models.notifications import Frequency


@dataclass(frozen=True)
class DigestSchedule:
    timezone: str = "Europe/Paris"
    daily_at: time = time(18, 0)
    weekly_day: int = 0
    """Monday = 0 ... Sunday = 6."""
    weekly_at: time = time(8, 0)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


def _at(day: date, at: time, zone: ZoneInfo) -> datetime:
    """The instant (UTC) of local ``day`` at ``at``. A wall time skipped in spring comes one
    hour later (02:30 -> 03:30); a wall time met twice in autumn is the first one (fold=0).
    UTC, because Python never finds an ambiguous local time equal to another zone's."""
    return datetime.combine(day, at, tzinfo=zone).astimezone(UTC)


def last_due(schedule: DigestSchedule, frequency: Frequency, now: datetime) -> tuple[datetime, str]:
    """The latest due instant of ``frequency`` at or before ``now``, and its period key."""
    zone = schedule.zone
    today = now.astimezone(zone).date()
    if frequency is Frequency.DAILY:
        day = today
        due = _at(day, schedule.daily_at, zone)
        if due > now:
            day -= timedelta(days=1)
            due = _at(day, schedule.daily_at, zone)
        return due, f"daily:{day.isoformat()}"
    if frequency is Frequency.WEEKLY:
        day = today - timedelta(days=(today.weekday() - schedule.weekly_day) % 7)
        due = _at(day, schedule.weekly_at, zone)
        if due > now:
            day -= timedelta(days=7)
            due = _at(day, schedule.weekly_at, zone)
        return due, f"weekly:{day.isoformat()}"
    raise ValueError(f"no schedule for {frequency}")


def next_due(schedule: DigestSchedule, frequency: Frequency, now: datetime) -> datetime:
    """The first due instant strictly after ``now`` (how long the worker may sleep)."""
    zone = schedule.zone
    step = timedelta(days=1 if frequency is Frequency.DAILY else 7)
    _due, key = last_due(schedule, frequency, now)
    day = date.fromisoformat(key.split(":", 1)[1]) + step
    at = schedule.daily_at if frequency is Frequency.DAILY else schedule.weekly_at
    return _at(day, at, zone)
