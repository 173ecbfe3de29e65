"""Restore claims: a restore claims the PPA in the database before it writes the live room.

Restore versus validation across processes (decided here): a restore writes into the live room,
so the database must say it may *before* the room write. A restore first **claims** the PPA in a
short transaction of its own - ``UPDATE ppas SET restore_claim = <token>, restore_claim_at = now
WHERE id = ? AND NOT locked AND status IN (draft, avenant_draft) AND no live claim`` - and answers
409 (French) when no row matched; only then does it write the room, and its main transaction
releases the claim with a compare-and-set on the token. Validation (and abandoning an avenant)
reads the PPA's last claim token *before* reading the live state, refuses (409) while a claim is
live, and its own compare-and-set requires the token to be unchanged and no claim live: a restore
that claimed after the validation read the state makes the validation lose; a restore that claims
after the validation's compare-and-set waits for it (row lock on PostgreSQL, single writer on
SQLite) and then finds the PPA locked. So a validated version always holds what the locked
document holds, and no restore writes into a locked document. A claim left by a crashed restore
goes stale after :data:`RESTORE_CLAIM_TTL`. (Across processes, the live state of a room loaded by
another process reaches this one through the Redis fan-out, as for every live write.)
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.db import new_uuid, utcnow
from server.errors import Conflict, Locked
from server.models import PPA
from server.models.ppa import PPAStatus
from server.versions_api.runtime import VersionsRuntime
from server.versions_api.service.common import compare_and_set

RESTORE_CLAIM_TTL = timedelta(minutes=2)
"""A restore claim older than this is stale (its restore crashed)."""
RESTORE_IN_PROGRESS = (
    "Une restauration de version est en cours (ou vient d'avoir lieu) sur ce PPA : "
    "rechargez-le et réessayez dans un instant."
)


def _claim_live(now: datetime) -> ColumnElement[bool]:
    return and_(PPA.restore_claim_at.is_not(None), PPA.restore_claim_at > now - RESTORE_CLAIM_TTL)


async def restore_marker(session: AsyncSession, ppa_id: str) -> str | None:
    """The PPA's last restore claim token, read before the live state; 409 while one is live."""
    row = (
        await session.execute(
            select(PPA.restore_claim, _claim_live(utcnow()).label("live")).where(PPA.id == ppa_id)
        )
    ).one()
    if row.live:
        raise Conflict(RESTORE_IN_PROGRESS)
    token: str | None = row.restore_claim
    return token


def no_restore_since(marker: str | None) -> list[ColumnElement[bool]]:
    """Compare-and-set conditions: no restore claimed since ``marker`` was read, none live."""
    return [PPA.restore_claim.is_not_distinct_from(marker), ~_claim_live(utcnow())]


async def claim_for_restore(rt: VersionsRuntime, ppa_id: str) -> str | None:
    """Claim the editable PPA for a restore in a committed transaction of its own (see the
    module docstring); 409 when it is locked or another restore holds it."""
    if rt.db is None:
        return None  # scripts: no live rooms, no other process writing
    token, now = new_uuid(), utcnow()
    editable = [PPAStatus.DRAFT.value, PPAStatus.AVENANT_DRAFT.value]
    async with rt.db.transaction() as claim:
        won = await compare_and_set(
            claim,
            ppa_id,
            [PPA.locked.is_(False), PPA.status.in_(editable), ~_claim_live(now)],
            {"restore_claim": token, "restore_claim_at": now},
        )
        locked = (
            False if won else bool(await claim.scalar(select(PPA.locked).where(PPA.id == ppa_id)))
        )
    if won:
        return token
    if locked:
        raise Locked(
            "Ce PPA vient d'être validé et verrouillé : la restauration n'a pas été appliquée. "
            "Restaurez la version depuis le PPA validé (un nouveau brouillon sera créé)."
        )
    raise Conflict(RESTORE_IN_PROGRESS)


async def release_claim(rt: VersionsRuntime, ppa_id: str, token: str) -> None:
    """Let the claim ``token`` go (undo of a restore that failed)."""
    if rt.db is None:
        return
    async with rt.db.transaction() as session:
        await compare_and_set(
            session, ppa_id, [PPA.restore_claim == token], {"restore_claim_at": None}
        )
