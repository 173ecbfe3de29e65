"""Review reminders (reco 1.1.7): due in 30 days, overdue; each told once per version."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, select
from sqlalchemy.exc import IntegrityError

from server.db import Database
from server.models import PPA, Version
from server.models.notifications import DigestRun
from server.models.ppa import PPAStatus
from server.notifications.mail import PARIS
from server.notifications.service import Event, emit
from versions.chain import VALIDATED_KINDS

DUE_WITHIN_DAYS = 30


async def remind(db: Database, now: datetime, zone: ZoneInfo = PARIS) -> int:
    """Once per local day in ``zone`` (``PPA_NOTIFY_TIMEZONE``; a :class:`DigestRun` row
    ``reviews:<date>``), emit ``review_due`` and ``review_overdue`` for current validated
    versions; the notices' dedupe keys make each reminder once per recipient and version,
    whatever the number of days or processes."""
    today = now.astimezone(zone).date()
    key = f"reviews:{today.isoformat()}"
    async with db.transaction() as session:
        if await session.get(DigestRun, key) is not None:
            return 0
    current = (
        select(Version.ppa_id, func.max(Version.number).label("number"))
        .where(Version.kind.in_([k.value for k in VALIDATED_KINDS]))
        .group_by(Version.ppa_id)
        .subquery()
    )
    told = 0
    try:
        return await _remind(db, now, today, key, current)
    except IntegrityError:  # another process took this day
        return told


async def _remind(db: Database, now: datetime, today: date, key: str, current: Any) -> int:
    told = 0
    async with db.transaction() as session:
        session.add(DigestRun(period_key=key, due_at=now, created_at=now))
        await session.flush()
        rows = await session.execute(
            select(PPA.id, PPA.person_id, Version.number, Version.next_review)
            .join(current, current.c.ppa_id == PPA.id)
            .join(Version, and_(Version.ppa_id == PPA.id, Version.number == current.c.number))
            .where(
                PPA.status.in_([PPAStatus.VALIDATED.value, PPAStatus.AVENANT_DRAFT.value]),
                Version.next_review <= today + timedelta(days=DUE_WITHIN_DAYS),
            )
        )
        for ppa_id, person_id, number, next_review in rows.all():
            if next_review is None:
                continue
            nature = "ppa.review_overdue" if next_review < today else "ppa.review_due"
            ev = Event(
                nature,
                "version",
                f"{ppa_id}/{number}",
                person_id=person_id,
                ppa_id=ppa_id,
                version_number=number,
                dedupe_key=f"{nature}:{ppa_id}:{number}",
            )
            told += len(await emit(session, ev, now=now))
    return told
