"""Exact, round-trippable text forms of instants and dates used inside hashed data."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

_INSTANT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def format_instant(value: datetime) -> str:
    """Return ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` (UTC, microseconds) for a timezone-aware instant.

    Raises ``ValueError`` for a naive datetime: hashed instants must be unambiguous.
    """
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("instants must be timezone-aware")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_instant(text: str) -> datetime:
    """Parse the exact form written by :func:`format_instant` (anything else is refused)."""
    if not _INSTANT.match(text):
        raise ValueError(f"not a canonical instant: {text!r}")
    value = datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    if format_instant(value) != text:
        raise ValueError(f"not a canonical instant: {text!r}")
    return value


def format_date(value: date) -> str:
    """Return ``YYYY-MM-DD``."""
    return value.isoformat()


def parse_date(text: str) -> date:
    """Parse the exact ``YYYY-MM-DD`` form (anything else is refused)."""
    if not _DATE.match(text):
        raise ValueError(f"not a canonical date: {text!r}")
    return date.fromisoformat(text)
