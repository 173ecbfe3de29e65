"""Review reminders (reco 1.1.7): due in 30 days, then *échu*; each told once per version.

A PPA in force is *échu* once its review date passed or its period ended (docs/domain-rules.md,
rule 6: :func:`server.ppas.timeline.in_force`, the same reading as the lists, the editor and
``GET /api/ppas/review-due``); ``ppa.review_overdue`` tells it, whichever the reason.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from server.db import Database
from server.models import PPA
from server.models.notifications import DigestRun
from server.notifications.mail import PARIS
from server.notifications.service import Event, emit
from server.ppas.timeline import IN_FORCE_STATUSES, in_force

DUE_WITHIN_DAYS = 30


async def remind(db: Database, now: datetime, zone: ZoneInfo = PARIS) -> int:
    """Once per local day in ``zone`` (``PPA_NOTIFY_TIMEZONE``; a :class:`DigestRun` row
    ``reviews:<date>``), emit ``review_due`` and ``review_overdue`` (échu) for the PPAs in force;
    the notices' dedupe keys make each reminder once per recipient and version, whatever the
    number of days or processes."""
    today = now.astimezone(zone).date()
    key = f"reviews:{today.isoformat()}"
    async with db.transaction() as session:
        if await session.get(DigestRun, key) is not None:
            return 0
    try:
        return await _remind(db, now, today, key)
    except IntegrityError:  # another process took this day
        return 0


async def _remind(db: Database, now: datetime, today: date, key: str) -> int:
    told = 0
    async with db.transaction() as session:
        session.add(DigestRun(period_key=key, due_at=now, created_at=now))
        await session.flush()
        ppas = list(
            (await session.execute(select(PPA).where(PPA.status.in_(IN_FORCE_STATUSES))))
            .scalars()
            .all()
        )
        person_of = {ppa.id: ppa.person_id for ppa in ppas}
        soon = today + timedelta(days=DUE_WITHIN_DAYS)
        for item in (await in_force(session, ppas, today)).values():
            if item.echu:
                nature = "ppa.review_overdue"
            elif item.next_review is not None and item.next_review <= soon:
                nature = "ppa.review_due"
            else:
                continue
            ev = Event(
                nature,
                "version",
                f"{item.ppa_id}/{item.version_number}",
                person_id=person_of[item.ppa_id],
                ppa_id=item.ppa_id,
                version_number=item.version_number,
                dedupe_key=f"{nature}:{item.ppa_id}:{item.version_number}",
            )
            told += len(await emit(session, ev, now=now))
    return told
