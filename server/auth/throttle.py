"""Login throttling: after ``login_free_failures`` failed logins of one account name or from one
client address, each next attempt waits (exponential backoff; 429 with ``Retry-After``).

Counters live in the database (``login_throttles``), so every server process sees the same ones.
An unknown account name is counted like a real one: throttling never tells which accounts exist.
A successful login clears its account's counter, never its address's (else one valid account
would reset the counter of an address trying many).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import case, delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from server.config import Settings
from server.db import utcnow
from server.models import LoginThrottle


def account_key(login: str) -> str:
    return hashlib.sha256(f"account:{login.casefold()}".encode()).hexdigest()


def address_key(address: str) -> str:
    return hashlib.sha256(f"address:{address}".encode()).hexdigest()


def throttle_keys(login: str, address: str | None) -> list[str]:
    keys = [account_key(login)]
    if address:
        keys.append(address_key(address))
    return keys


def backoff(settings: Settings, failures: int) -> float:
    """Seconds to wait after the last of ``failures`` consecutive failures (0: none)."""
    extra = failures - settings.login_free_failures
    if extra < 0:
        return 0.0
    return min(
        settings.login_backoff_seconds * 2.0 ** min(extra, 64), settings.login_backoff_max_seconds
    )


def _remaining(settings: Settings, row: LoginThrottle, now: datetime) -> float:
    if now - row.last_failure_at > timedelta(seconds=settings.login_failure_memory_seconds):
        return 0.0
    until = row.last_failure_at + timedelta(seconds=backoff(settings, row.failures))
    return max(0.0, (until - now).total_seconds())


async def retry_after(session: AsyncSession, settings: Settings, keys: Sequence[str]) -> int:
    """Whole seconds before another attempt is allowed for these keys (0: allowed now)."""
    rows = (await session.scalars(select(LoginThrottle).where(LoginThrottle.key.in_(keys)))).all()
    now = utcnow()
    wait = max((_remaining(settings, row, now) for row in rows), default=0.0)
    return math.ceil(wait)


async def record_failure(session: AsyncSession, settings: Settings, keys: Sequence[str]) -> None:
    """Count one failure for each key (a counter quiet for the memory time starts again)."""
    now = utcnow()
    forgotten_before = now - timedelta(seconds=settings.login_failure_memory_seconds)
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    failures = case(
        (LoginThrottle.last_failure_at < forgotten_before, 1),
        else_=LoginThrottle.failures + 1,
    )
    for key in keys:
        statement = insert(LoginThrottle).values(key=key, failures=1, last_failure_at=now)
        await session.execute(
            statement.on_conflict_do_update(
                index_elements=[LoginThrottle.key],
                set_={"failures": failures, "last_failure_at": now},
            )
        )


async def clear_account(session: AsyncSession, login: str) -> None:
    await session.execute(delete(LoginThrottle).where(LoginThrottle.key == account_key(login)))
