"""The time zone of every local date and time: schedules, documents, the day of a validation."""

from __future__ import annotations

from zoneinfo import ZoneInfo

PARIS = ZoneInfo("Europe/Paris")
"""Europe/Paris: ``PARIS.key`` names it where a format wants the name (iCalendar)."""
