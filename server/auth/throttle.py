"""Login throttling: after ``login_free_failures`` failed logins of one account name or from one
client address, each next attempt waits (exponential backoff; 429 with ``Retry-After``).

Counters live in the database (``login_throttles``), so every server process sees the same ones.
Each attempt is counted before its password is checked, in a short transaction of its own
(compare-and-swap on the counters, retried on a lost race; no lock held while argon2 runs), so
concurrent attempts cannot all pass: the decision and the count are one step. A successful login
clears its account's counter and gives back its count to the address (a success does not count
against the address, nor resets it: else one valid account would reset an address trying many).
An unknown account name is counted like a real one: throttling never tells which accounts exist.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.sql.dml import UpdateBase

from server.config import Settings
from server.db import utcnow
from server.models import LoginThrottle

log = structlog.get_logger(__name__)

CLAIM_ROUNDS = 100
"""Lost races before an attempt gives up and is answered as throttled (never verified uncounted)."""

Counter = tuple[int, datetime]
"""A counter row's ``(failures, last_failure_at)``."""


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


def _forgotten(settings: Settings, counter: Counter, now: datetime) -> bool:
    return now - counter[1] > timedelta(seconds=settings.login_failure_memory_seconds)


def _remaining(settings: Settings, counter: Counter, now: datetime) -> float:
    if _forgotten(settings, counter, now):
        return 0.0
    until = counter[1] + timedelta(seconds=backoff(settings, counter[0]))
    return max(0.0, (until - now).total_seconds())


@dataclass(frozen=True)
class Claim:
    """One key's count of an attempt: the counter before (``None``: no row) and after it."""

    key: str
    before: Counter | None
    after: Counter


@dataclass(frozen=True)
class Attempt:
    """``wait`` whole seconds before another attempt (0: this one is counted by ``claims``)."""

    wait: int
    claims: tuple[Claim, ...] = ()


async def _changed(session: AsyncSession, statement: UpdateBase) -> int:
    """Rows changed, counted with ``RETURNING`` (the async psycopg cursor's row count is -1 for
    an ``INSERT ... ON CONFLICT``)."""
    connection = await session.connection()
    result = await connection.execute(statement.returning(LoginThrottle.key))
    return len(result.all())


def _exactly(key: str, counter: Counter) -> tuple[Any, ...]:
    return (
        LoginThrottle.key == key,
        LoginThrottle.failures == counter[0],
        LoginThrottle.last_failure_at == counter[1],
    )


async def _swap(session: AsyncSession, claim: Claim) -> bool:
    """Set the key's counter to ``claim.after`` if it still is ``claim.before``."""
    failures, at = claim.after
    if claim.before is None:
        insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
        statement: UpdateBase = (
            insert(LoginThrottle)
            .values(key=claim.key, failures=failures, last_failure_at=at)
            .on_conflict_do_nothing(index_elements=[LoginThrottle.key])
        )
    else:
        statement = (
            update(LoginThrottle)
            .where(*_exactly(claim.key, claim.before))
            .values(failures=failures, last_failure_at=at)
        )
    return await _changed(session, statement) == 1


async def _try_claim(session: AsyncSession, settings: Settings, keys: list[str]) -> Attempt | None:
    """One round: the wait, or every key counted; ``None`` if another attempt counted first."""
    rows = await session.execute(
        select(LoginThrottle.key, LoginThrottle.failures, LoginThrottle.last_failure_at).where(
            LoginThrottle.key.in_(keys)
        )
    )
    counters: dict[str, Counter] = {key: (failures, at) for key, failures, at in rows.all()}
    now = utcnow()
    wait = max((_remaining(settings, c, now) for c in counters.values()), default=0.0)
    if wait > 0:
        return Attempt(wait=math.ceil(wait))
    claims = []
    for key in sorted(keys):  # one order everywhere: no deadlock between two attempts
        before = counters.get(key)
        failures = 1 if before is None or _forgotten(settings, before, now) else before[0] + 1
        claim = Claim(key, before, (failures, now))
        if not await _swap(session, claim):
            return None
        claims.append(claim)
    return Attempt(wait=0, claims=tuple(claims))


async def claim(
    sessions: async_sessionmaker[AsyncSession], settings: Settings, login: str, address: str | None
) -> Attempt:
    """Count an attempt on its account and address counters, committed at once, unless one of
    them must still wait (then nothing is counted)."""
    keys = throttle_keys(login, address)
    for _ in range(CLAIM_ROUNDS):
        async with sessions() as session:
            attempt = await _try_claim(session, settings, keys)
            if attempt is None:
                await session.rollback()
                continue
            await session.commit()
            return attempt
    log.warning("login.throttle_contention", rounds=CLAIM_ROUNDS)
    return Attempt(wait=1)


async def _give_back(session: AsyncSession, claim: Claim) -> None:
    """Undo a claim: the counter as it was if nothing counted since, else one failure less."""
    exactly = _exactly(claim.key, claim.after)
    if claim.before is None:
        restore: UpdateBase = delete(LoginThrottle).where(*exactly)
    else:
        failures, at = claim.before
        restore = (
            update(LoginThrottle).where(*exactly).values(failures=failures, last_failure_at=at)
        )
    if await _changed(session, restore) == 0:
        await _changed(
            session,
            update(LoginThrottle)
            .where(LoginThrottle.key == claim.key, LoginThrottle.failures > 0)
            .values(failures=LoginThrottle.failures - 1),
        )


async def succeeded(session: AsyncSession, attempt: Attempt, login: str) -> None:
    """A login succeeded: clear its account's counter, give back its count to the address."""
    account = account_key(login)
    for counted in attempt.claims:  # in the claims' order (sorted keys): no deadlock with one
        if counted.key == account:
            await session.execute(delete(LoginThrottle).where(LoginThrottle.key == account))
        else:
            await _give_back(session, counted)
