"""An end-of-session checkpoint that lost a lock race is taken again, not lost."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy.exc import OperationalError

from server.collab.service import _retried_on_contention


def _error(message: str) -> OperationalError:
    return OperationalError("INSERT", {}, sqlite3.OperationalError(message))


async def test_a_lock_race_is_retried_until_the_step_succeeds() -> None:
    calls: list[int] = []

    async def step() -> None:
        calls.append(1)
        if len(calls) < 3:
            raise _error("database is locked")

    await _retried_on_contention(step)
    assert len(calls) == 3


async def test_another_failure_or_the_last_attempt_is_raised() -> None:
    calls: list[int] = []

    async def broken() -> None:
        calls.append(1)
        raise _error("disk I/O error")

    with pytest.raises(OperationalError):
        await _retried_on_contention(broken)
    assert len(calls) == 1

    async def always_locked() -> None:
        calls.append(1)
        raise _error("database is locked")

    with pytest.raises(OperationalError):
        await _retried_on_contention(always_locked, attempts=2)
    assert len(calls) == 3
