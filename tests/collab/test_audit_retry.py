"""The audit trace of a connection's first write is retried when the database refuses it for a
while (SQLite's single writer lock held by a burst of writes), never silently dropped."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession
from structlog.testing import capture_logs

import server.collab.service as service
from server.auth.principal import Principal, PrincipalType
from server.collab.service import Access, CollabService
from server.db import Database
from tests.collab.app import audit_actions
from tests.conftest import DatabaseInfo


class FlakyDatabase(Database):
    """The real database, whose first ``failures`` transactions fail as a locked SQLite does."""

    def __init__(self, url: str, failures: int) -> None:
        super().__init__(url)
        self.failures = failures
        self.attempts = 0

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        self.attempts += 1
        if self.attempts <= self.failures:
            raise sqlite3.OperationalError("database is locked")
        async with super().transaction() as session:
            yield session


def access_of(demo: dict[str, Any]) -> Access:
    principal = Principal(PrincipalType.USER, str(uuid.uuid4()), "professional", "Coordinatrice")
    return Access(
        principal, str(uuid.uuid4()), demo["person_id"], "coordinator", False, False, False
    )


@pytest.mark.parametrize(("failures", "recorded"), [(0, True), (3, True), (6, False)])
async def test_live_write_trace_is_retried(
    failures: int,
    recorded: bool,
    settings: Any,
    database: DatabaseInfo,
    demo: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(service, "TRACE_RETRY_DELAYS", (0.0,) * 5)
    db = FlakyDatabase(settings.database_url, failures)
    access = access_of(demo)
    try:
        with capture_logs() as logs:
            await CollabService(settings, db)._trace_write(access, "127.0.0.1")
    finally:
        await db.dispose()
    traces = audit_actions(database, access.ppa_id)
    assert traces == ([("ppa.live_write", "ok", access.principal.id)] if recorded else [])
    assert db.attempts == min(failures + 1, 6)
    events = [entry["event"] for entry in logs]
    assert events.count("collab.audit_retry") == min(failures, 5)
    assert ("collab.audit_failed" in events) is not recorded
