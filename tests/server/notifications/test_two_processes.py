"""Exactly once across two ``ppa serve`` processes on PostgreSQL, one restarted mid-way.

The outbox holds immediate messages and a daily digest that is due as the processes start
(``PPA_NOTIFY_DAILY_AT`` two minutes ago); a slow SMTP server on loopback spreads the sending;
process A is stopped (SIGTERM) while both are sending, then started again. Every message
arrives once: one digest per user, each immediate message once (distinct Message-IDs).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from server.db import new_uuid
from server.models import User
from server.models.notifications import (
    Notice,
    NoticeDispatch,
    NotificationContact,
    NotificationOutbox,
)
from tests.collab.app import ServeProcess
from tests.conftest import DatabaseInfo, make_database, make_settings
from tests.server.exports_api.support import wait_for
from tests.server.notifications.support import SmtpSink, smtp_server

pytestmark = pytest.mark.skipif(
    os.environ.get("PPA_TEST_DB") != "postgresql",
    reason="FOR UPDATE SKIP LOCKED between processes: PostgreSQL (PPA_TEST_DB=postgresql)",
)

USERS = 30
DIGEST_NOTICES = 3
IMMEDIATE = 40


def _seed(database: DatabaseInfo) -> None:
    now = datetime.now(UTC)
    earlier = now - timedelta(hours=1)
    engine = sa.create_engine(database.sync_url)
    with Session(engine) as session, session.begin():
        for i in range(USERS):
            user = User(
                id=new_uuid(),
                username=f"destinataire-{i}",
                password_hash="!",
                display_name=f"Destinataire {i}",
                kind="professional",
            )
            session.add(user)
            session.flush()
            session.add(
                NotificationContact(
                    user_id=user.id,
                    email=f"destinataire-{i}@example.org",
                    mobile_code_attempts=0,
                    updated_at=now,
                )
            )
            for _ in range(DIGEST_NOTICES):
                notice = _notice(user.id, earlier)
                session.add(notice)
                session.flush()
                session.add(_dispatch(notice, "daily", earlier, None))
        users = list(session.scalars(sa.select(User).where(User.username.like("dest%"))))
        for j in range(IMMEDIATE):
            user = users[j % len(users)]
            notice = _notice(user.id, now)
            session.add(notice)
            session.flush()
            outbox = NotificationOutbox(
                id=new_uuid(),
                recipient_id=user.id,
                channel="email",
                frequency="immediate",
                period_key=f"notice:{notice.id}",
                status="pending",
                attempts=0,
                next_attempt_at=now,
                created_at=now,
            )
            session.add(outbox)
            session.flush()
            session.add(_dispatch(notice, "immediate", now, outbox.id))
    engine.dispose()


def _notice(user_id: str, at: datetime) -> Notice:
    return Notice(
        id=new_uuid(),
        recipient_id=user_id,
        nature="ppa.validated",
        object_type="ppa",
        object_id=new_uuid(),
        in_app=True,
        created_at=at,
    )


def _dispatch(notice: Notice, frequency: str, at: datetime, outbox_id: str | None) -> Any:
    return NoticeDispatch(
        id=new_uuid(),
        notice_id=notice.id,
        recipient_id=notice.recipient_id,
        channel="email",
        frequency=frequency,
        created_at=at,
        outbox_id=outbox_id,
    )


def _statuses(database: DatabaseInfo) -> dict[str, int]:
    engine = sa.create_engine(database.sync_url)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT status, count(*) FROM notification_outbox GROUP BY status")
        ).all()
    engine.dispose()
    return dict(rows)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[DatabaseInfo, Any, SmtpSink, int]]:
    from server.migrate import upgrade

    database, drop = make_database(tmp_path)
    upgrade(database.url)
    settings = make_settings(database, tmp_path / "data")
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    try:
        with smtp_server() as (sink, port):
            yield database, settings, sink, port
    finally:
        drop()


def test_two_processes_and_a_restart_send_each_message_once(
    world: tuple[DatabaseInfo, Any, SmtpSink, int],
) -> None:
    database, settings, sink, port = world
    _seed(database)
    sink.delay = 0.1
    due = (datetime.now(ZoneInfo("Europe/Paris")) - timedelta(minutes=2)).strftime("%H:%M")
    env = {
        "PPA_SMTP_HOST": "127.0.0.1",
        "PPA_SMTP_PORT": str(port),
        "PPA_SMTP_STARTTLS": "false",
        "PPA_NOTIFY_DAILY_AT": due,
        "PPA_NOTIFY_POLL_SECONDS": "0.5",
        "PPA_NOTIFY_BATCH": "5",
        "PPA_NOTIFY_LEASE_SECONDS": "30",
        "PPA_WEBHOOK_ENABLED": "false",
    }
    a = ServeProcess(settings, env=env)
    b = ServeProcess(settings, env=env)
    total = USERS + IMMEDIATE
    try:
        a.start()
        b.start()
        wait_for(lambda: len(sink.received) >= total // 4, within=120)
        a.stop()  # graceful: what it was sending is recorded, the rest given back
        assert len(sink.received) < total, "the restart came too late to test anything"
        a.start()
        wait_for(lambda: _statuses(database) == {"sent": total}, within=180)
    finally:
        a.stop()
        b.stop()
    ids = [r.message["Message-ID"] for r in sink.received]
    assert len(ids) == len(set(ids)) == total
    digests = [r for r in sink.received if "résumé quotidien" in r.message["Subject"]]
    assert sorted(r.rcpt[0] for r in digests) == sorted(
        f"destinataire-{i}@example.org" for i in range(USERS)
    )
    assert {r.message["Subject"] for r in digests} == {
        f"[PPA] Votre résumé quotidien : {DIGEST_NOTICES} notifications"
    }
