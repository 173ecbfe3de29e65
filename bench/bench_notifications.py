"""Notification figures: event -> immediate email accepted by SMTP; digest of 10,000 users.

Run: ``PYTHONPATH=. .venv/bin/python bench/bench_notifications.py [--users 10000]
[--notices 20] [--repeat 20] [--database-url postgresql+psycopg://...]``.

1. Immediate email: the demo in a fresh database (SQLite by default), a real SMTP server
   (aiosmtpd) on loopback; the nurse chose immediate email for validations. Each round stores
   the notices of one ``ppa.validated`` event (the cercle's recipients, the outbox row, in one
   transaction) then runs the worker once (claim, render, SMTP, record): the time until the SMTP
   server has accepted the message. Median and max of ``--repeat`` rounds. (The running
   service's worker is woken by the commit; this measures the work, not a poll interval.)
2. Digest: ``--users`` users with an email address and ``--notices`` pending daily dispatches
   each, inserted in bulk; then the daily digest period is generated (one transaction: the
   digest-run row, one outbox row per user, every dispatch attached), and ``--render``
   messages (a sample) are rendered (loaded and built as the SMTP sender does, not sent).
   Seconds, and the process's peak memory (``ru_maxrss``) after each step.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import sqlalchemy as sa
from aiosmtpd.controller import Controller

from server.config import Settings
from server.db import Database, new_uuid
from server.demo import seed_demo_database
from server.migrate import upgrade
from server.models import User
from server.models.notifications import (
    Frequency,
    Notice,
    NoticeDispatch,
    NotificationContact,
    NotificationOutbox,
    NotificationPreference,
)
from server.notifications.delivery import Sender
from server.notifications.service import Event, emit
from server.notifications.settings import NotificationSettings
from server.notifications.worker import NotificationWorker


class Sink:
    def __init__(self) -> None:
        self.count = 0
        self.event = asyncio.Event()

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:  # noqa: N802
        self.count += 1
        return "250 OK"


def _port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def immediate(db: Database, settings: Settings, sink: Sink, port: int, repeat: int) -> None:
    async with db.transaction() as session:
        nurse = await session.scalar(sa.select(User).where(User.username == "infirmier"))
        assert nurse is not None
        now = datetime.now(UTC)
        session.add(
            NotificationContact(
                user_id=nurse.id,
                email="infirmier@example.org",
                mobile_code_attempts=0,
                updated_at=now,
            )
        )
        session.add(
            NotificationPreference(
                user_id=nurse.id,
                nature="ppa.validated",
                channels=["app", "email"],
                frequency="immediate",
                updated_at=now,
            )
        )
        row = (await session.execute(sa.text("SELECT id, person_id FROM ppas LIMIT 1"))).one()
    notify = NotificationSettings(smtp_host="127.0.0.1", smtp_port=port, smtp_starttls=False)
    async with httpx.AsyncClient() as http:
        sender = Sender(
            db,
            notify,
            service_secret=settings.resolved_secret_key(),
            public_url="https://ppa.example.test",
            http=http,
        )
        worker = NotificationWorker(db, notify, sender)
        await worker.run_once()  # periods and reminders of today, once
        times = []
        for _ in range(repeat):
            before = sink.count
            started = time.perf_counter()
            async with db.transaction() as session:
                await emit(
                    session,
                    Event("ppa.validated", "ppa", row.id, person_id=row.person_id, ppa_id=row.id),
                )
            await worker.run_once()
            assert sink.count == before + 1, (sink.count, before)
            times.append((time.perf_counter() - started) * 1000)
    print(
        f"immediate email, event to SMTP acceptance: median {statistics.median(times):.1f} ms, "
        f"max {max(times):.1f} ms over {repeat} rounds"
    )


async def digest(db: Database, settings: Settings, users: int, notices: int, render: int) -> None:
    earlier = datetime.now(UTC)
    now = earlier + timedelta(days=1)  # the next daily period (today's ran in part 1)
    started = time.perf_counter()
    async with db.transaction() as session:
        ids = [new_uuid() for _ in range(users)]
        await session.execute(
            sa.insert(User),
            [
                {
                    "id": uid,
                    "username": f"bench-{uid}",
                    "password_hash": "!",
                    "display_name": "Bench",
                    "kind": "professional",
                    "is_active": True,
                    "created_at": now,
                }
                for uid in ids
            ],
        )
        await session.execute(
            sa.insert(NotificationContact),
            [
                {
                    "user_id": uid,
                    "email": f"{uid}@example.org",
                    "mobile_code_attempts": 0,
                    "updated_at": now,
                }
                for uid in ids
            ],
        )
        for start in range(0, users, 500):
            notice_rows, dispatch_rows = [], []
            for uid in ids[start : start + 500]:
                for _ in range(notices):
                    nid = new_uuid()
                    notice_rows.append(
                        {
                            "id": nid,
                            "recipient_id": uid,
                            "nature": "ppa.validated",
                            "object_type": "ppa",
                            "object_id": nid,
                            "in_app": True,
                            "initials": "J. D.",
                            "actor_name": "Claire Martin",
                            "created_at": earlier,
                        }
                    )
                    dispatch_rows.append(
                        {
                            "id": new_uuid(),
                            "notice_id": nid,
                            "recipient_id": uid,
                            "channel": "email",
                            "frequency": "daily",
                            "created_at": earlier,
                            "outbox_id": None,
                        }
                    )
            await session.execute(sa.insert(Notice), notice_rows)
            await session.execute(sa.insert(NoticeDispatch), dispatch_rows)
    print(
        f"setup: {users} users x {notices} notices inserted in "
        f"{time.perf_counter() - started:.1f} s"
    )

    notify = NotificationSettings(smtp_host="127.0.0.1", smtp_port=1)
    async with httpx.AsyncClient() as http:
        sender = Sender(
            db,
            notify,
            service_secret=settings.resolved_secret_key(),
            public_url="https://ppa.example.test",
            http=http,
        )
        worker = NotificationWorker(db, notify, sender)
        rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        started = time.perf_counter()
        made = await worker.generate_digest(Frequency.DAILY, now)
        generation = time.perf_counter() - started
        rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(
            f"digest generation: {made} messages in {generation:.1f} s; process max RSS "
            f"{rss1 / 1024:.0f} MB (+{(rss1 - rss0) / 1024:.0f} MB)"
        )
        async with db.transaction() as session:
            outbox_ids = list(
                await session.scalars(
                    sa.select(NotificationOutbox.id)
                    .where(NotificationOutbox.frequency == "daily")
                    .limit(render)
                )
            )
        started = time.perf_counter()
        size = 0
        t_load = 0.0
        for outbox_id in outbox_ids:
            t0 = time.perf_counter()
            loaded = await sender._load(outbox_id)
            t_load += time.perf_counter() - t0
            assert loaded is not None
            outbox, user, contact, items = loaded
            assert contact is not None
            assert contact.email
            size += len(bytes(sender._email(outbox, user, contact.email, items, now)))
        rendering = time.perf_counter() - started
        print(f"  of which loading {t_load:.1f} s")  # the rest: building the messages
        rss2 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(
            f"digest rendering: {len(outbox_ids)} messages in {rendering:.1f} s "
            f"({size / len(outbox_ids) / 1024:.1f} KiB each); process max RSS "
            f"{rss2 / 1024:.0f} MB (+{(rss2 - rss1) / 1024:.0f} MB)"
        )


async def run(args: argparse.Namespace, tmp: Path) -> None:
    url = args.database_url or f"sqlite+aiosqlite:///{tmp / 'bench.sqlite3'}"
    upgrade(url)
    settings = Settings(data_dir=tmp / "data", database_url=url, secret_key="bench-" + "k" * 40)
    await seed_demo_database(settings)
    db = Database(url)
    sink = Sink()
    port = _port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        await immediate(db, settings, sink, port, args.repeat)
        await digest(db, settings, args.users, args.notices, args.render)
    finally:
        controller.stop()
        await db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--notices", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--render", type=int, default=500, help="messages rendered (a sample)")
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(run(args, Path(tmp)))


if __name__ == "__main__":
    main()
