"""Digests with a controlled clock over the DST week of March 2026, exactly once (a second
worker, a second run), and SMTP refusals retried with backoff: a real SMTP server on loopback,
the workers of two "processes" (two databases connections and workers) in turn."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from server.db import Database
from server.models.notifications import Frequency
from server.notifications.delivery import Sender
from server.notifications.service import Event, emit
from server.notifications.settings import NotificationSettings
from server.notifications.worker import NotificationWorker
from tests.server.helpers import Cercle, build_cercle
from tests.server.notifications.support import ModuleServer, SmtpSink, module_server, smtp_server

NURSE = "infirmier@example.org"
AIDANT = "aidant@example.org"
NATURE = "ppa.revision_started"


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(scope="module")
def world(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[ModuleServer, SmtpSink, Cercle, NotificationSettings]]:
    with (
        smtp_server() as (sink, port),
        module_server(tmp_path_factory.mktemp("digest"), notify_enabled=False) as ms,
    ):
        for username, address, frequency in (
            ("infirmier", NURSE, "daily"),
            ("aidant", AIDANT, "weekly"),
        ):
            response = ms.api_as(username).put(
                "/api/me/notification-preferences",
                json={
                    "email": address,
                    "natures": [
                        {"nature": NATURE, "channels": ["app", "email"], "frequency": frequency}
                    ],
                },
            )
            assert response.status_code == 200, response.text
        # the demo's coordinator has an email too: in the app only for this nature, so that
        # the nurse and the aidant are the digests' only recipients
        response = ms.api_as("coordinatrice").put(
            "/api/me/notification-preferences",
            json={"natures": [{"nature": NATURE, "channels": ["app"], "frequency": "immediate"}]},
        )
        assert response.status_code == 200, response.text
        cercle = build_cercle(ms.api_as, ms.demo)
        settings = NotificationSettings(
            smtp_host="127.0.0.1",
            smtp_port=port,
            smtp_starttls=False,
            notify_retry_base_seconds=60,
            notify_max_attempts=4,
        )
        yield ms, sink, cercle, settings


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


class Process:
    """One server process's worker (own engine), on the controlled clock."""

    def __init__(self, ms: ModuleServer, settings: NotificationSettings, clock: Clock) -> None:
        self.db = Database(ms.settings.resolved_database_url())
        self.http = httpx.AsyncClient()
        sender = Sender(
            self.db,
            settings,
            service_secret=ms.settings.resolved_secret_key(),
            public_url="https://ppa.example.test",
            http=self.http,
            clock=clock,
        )
        self.worker = NotificationWorker(self.db, settings, sender, clock=clock)

    async def close(self) -> None:
        await self.http.aclose()
        await self.db.dispose()


async def _emit(db: Database, cercle: Cercle, at: datetime) -> int:
    async with db.transaction() as session:
        ev = Event(NATURE, "ppa", cercle.ppa_id, person_id=cercle.person_id, ppa_id=cercle.ppa_id)
        return len(await emit(session, ev, now=at))


def _outbox(ms: ModuleServer) -> list[tuple[Any, ...]]:
    engine = sa.create_engine(ms.database.sync_url)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT u.username, o.period_key, o.status, o.attempts, "
                "(SELECT count(*) FROM notice_dispatches d WHERE d.outbox_id = o.id) "
                "FROM notification_outbox o JOIN users u ON u.id = o.recipient_id "
                "WHERE o.frequency != 'immediate' ORDER BY o.period_key, u.username"
            )
        ).all()
    engine.dispose()
    return [tuple(r) for r in rows]


async def _saturday(a: Process, b: Process, clock: Clock, sink: SmtpSink, cercle: Cercle) -> None:
    # Saturday 28 March, 12:00 UTC: one event; the first runs create the current periods
    # (daily:2026-03-27, weekly:2026-03-23), empty: the event came after them.
    assert await _emit(a.db, cercle, clock.now) > 0
    await asyncio.gather(a.worker.run_once(), b.worker.run_once())
    assert [r.message["Subject"] for r in sink.received] == []
    # 16:59:59 UTC = 17:59:59 CET: not yet; 17:00 UTC: the daily digest, generated once
    # although both processes run at the same instant.
    clock.now = utc(2026, 3, 28, 16, 59, 59)
    await asyncio.gather(a.worker.run_once(), b.worker.run_once())
    assert sink.to(NURSE) == []
    clock.now = utc(2026, 3, 28, 17)
    results = await asyncio.gather(
        a.worker.generate_digest(Frequency.DAILY, clock.now),
        b.worker.generate_digest(Frequency.DAILY, clock.now),
    )
    assert sorted(results, key=str) == [1, None]  # one message, one process made it
    await asyncio.gather(a.worker.run_once(), b.worker.run_once())
    assert len(sink.to(NURSE)) == 1
    assert sink.to(AIDANT) == []


async def _sunday_with_refusals(
    a: Process, b: Process, clock: Clock, sink: SmtpSink, cercle: Cercle
) -> None:
    # Sunday 29 March (DST starts): an event at 10:00 UTC; 18:00 CEST is 16:00 UTC.
    clock.now = utc(2026, 3, 29, 10)
    await _emit(a.db, cercle, clock.now)
    clock.now = utc(2026, 3, 29, 15, 59)
    await a.worker.run_once()
    assert len(sink.to(NURSE)) == 1
    # The SMTP server refuses twice: retried after 60 s then 120 s, sent once.
    sink.refuse = 2
    clock.now = utc(2026, 3, 29, 16)
    await a.worker.run_once()
    assert sink.refused == 1
    await b.worker.run_once()  # not due again yet: nothing tried
    assert sink.refused == 1
    clock.now += timedelta(seconds=60)
    await b.worker.run_once()
    assert sink.refused == 2
    clock.now += timedelta(seconds=60)
    await a.worker.run_once()  # 120 s not elapsed since the second refusal
    assert len(sink.to(NURSE)) == 1
    clock.now += timedelta(seconds=60)
    await asyncio.gather(a.worker.run_once(), b.worker.run_once())
    assert len(sink.to(NURSE)) == 2


async def _monday_and_a_restart(
    a: Process,
    b: Process,
    clock: Clock,
    sink: SmtpSink,
    ms: ModuleServer,
    settings: NotificationSettings,
) -> None:
    # Monday 30 March 08:00 CEST = 06:00 UTC: the weekly digest (both events).
    clock.now = utc(2026, 3, 30, 5, 59)
    await a.worker.run_once()
    assert sink.to(AIDANT) == []
    clock.now = utc(2026, 3, 30, 6)
    await asyncio.gather(a.worker.run_once(), b.worker.run_once())
    # a restart: a new process runs everything again at the same instant
    c = Process(ms, settings, clock)
    try:
        await c.worker.run_once()
    finally:
        await c.close()


def test_digests_over_the_dst_week_exactly_once_with_retries(
    world: tuple[ModuleServer, SmtpSink, Cercle, NotificationSettings],
) -> None:
    ms, sink, cercle, settings = world
    clock = Clock(utc(2026, 3, 28, 12))

    async def scenario() -> None:
        a, b = Process(ms, settings, clock), Process(ms, settings, clock)
        try:
            await _saturday(a, b, clock, sink, cercle)
            await _sunday_with_refusals(a, b, clock, sink, cercle)
            await _monday_and_a_restart(a, b, clock, sink, ms, settings)
        finally:
            await a.close()
            await b.close()

    asyncio.run(scenario())
    (weekly,) = sink.to(AIDANT)
    assert weekly.message["Subject"] == "[PPA] Votre résumé hebdomadaire : 2 notifications"
    nurse_subjects = [r.message["Subject"] for r in sink.to(NURSE)]
    assert nurse_subjects == ["[PPA] Votre résumé quotidien : 1 notification"] * 2
    ids = [r.message["Message-ID"] for r in sink.received]
    assert len(ids) == len(set(ids)) == 3
    assert _outbox(ms) == [
        ("infirmier", "daily:2026-03-28", "sent", 1, 1),
        ("infirmier", "daily:2026-03-29", "sent", 3, 1),
        ("aidant", "weekly:2026-03-30", "sent", 1, 2),
    ]


def test_a_final_refusal_is_not_retried(
    world: tuple[ModuleServer, SmtpSink, Cercle, NotificationSettings],
) -> None:
    """The server answers 550 (unknown address) to the nurse: her digest is ``failed`` at once,
    never tried again (a 451, above, is retried); the error kept is the code, not the address."""
    ms, sink, cercle, settings = world
    clock = Clock(utc(2026, 4, 7, 10))  # Tuesday 7 April, CEST

    async def scenario() -> None:
        a = Process(ms, settings, clock)
        try:
            await a.worker.run_once()  # the current periods, before the event
            await _emit(a.db, cercle, clock.now)
            sink.unknown = {NURSE}
            clock.now = utc(2026, 4, 7, 16)  # 18:00 CEST: the daily digest
            await a.worker.run_once()
            assert sink.rejected == [NURSE]
            for hours in (1, 5, 24):  # well past every backoff: no new attempt
                clock.now = utc(2026, 4, 7, 16) + timedelta(hours=hours)
                await a.worker.run_once()
            assert sink.rejected == [NURSE]
        finally:
            sink.unknown = set()
            await a.close()

    before = len(sink.to(NURSE))
    asyncio.run(scenario())
    assert len(sink.to(NURSE)) == before
    rows = [r for r in _outbox(ms) if r[1] == "daily:2026-04-07"]
    assert rows == [("infirmier", "daily:2026-04-07", "failed", 1, 1)]
    engine = sa.create_engine(ms.database.sync_url)
    with engine.connect() as conn:
        error = conn.execute(
            sa.text("SELECT last_error FROM notification_outbox WHERE period_key = :k"),
            {"k": "daily:2026-04-07"},
        ).scalar_one()
    engine.dispose()
    assert error == "SMTPRecipientsRefused 550"  # the code, never the address
