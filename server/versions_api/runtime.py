"""What the versions service needs from the running app, and the lifecycle guard dependency.

:class:`LifecycleGuard` makes the non-database part of a lifecycle step (the live room's lock)
follow the database transaction: declared as the *first* dependency of an endpoint (before the
session), it is exited *after* the session dependency has committed or rolled back, so it runs
``after_commit`` actions only once the commit succeeded, and ``on_failure`` actions (undo) when
anything failed, the commit included. It also serialises lifecycle steps on the same PPA within
this process (the database compare-and-set on ``ppas`` decides between processes).
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Annotated

import structlog
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import Depends, Request
from sqlalchemy import select
from starlette.datastructures import State

from server.db import Database, utcnow
from server.ledger.log import signing_key
from server.models import PPA
from server.ppas.documents import DocumentSource, StoredDocumentSource
from server.ppas.lock import LiveRooms, NoLiveRooms, live_rooms

log = structlog.get_logger(__name__)

Action = Callable[[], Awaitable[None]]
StepHook = Callable[[str, str | None], None]
"""Called with the name of a lifecycle step and the id of the PPA it works on."""


@dataclass
class VersionsRuntime:
    """Signing key, live rooms, document source and database of one app (or of a script)."""

    key: Ed25519PrivateKey
    rooms_of: Callable[[], LiveRooms] = NoLiveRooms
    documents_of: Callable[[], DocumentSource] = StoredDocumentSource
    db: Database | None = None
    clock: Callable[[], datetime] = utcnow
    """Time of the versions recorded (the demo seeds a past history with its own clock)."""
    publish_dir: Path | None = None
    """Where new signed tree heads are also written (``PPA_LOG_PUBLISH_DIR``)."""
    faults: StepHook | None = None
    """Test seam: called at each step of a recording or validation (raise to inject a failure).
    Background work on other PPAs (session-end checkpoints) calls it too: filter on the PPA id."""
    _locks: weakref.WeakValueDictionary[str, asyncio.Lock] = field(
        default_factory=weakref.WeakValueDictionary
    )

    @property
    def rooms(self) -> LiveRooms:
        return self.rooms_of()

    @property
    def documents(self) -> DocumentSource:
        return self.documents_of()

    def step(self, name: str, ppa_id: str | None) -> None:
        """Report reaching step ``name`` of work on ``ppa_id`` to :attr:`faults`, if set."""
        if self.faults is not None:
            self.faults(name, ppa_id)

    def lock_for(self, ppa_id: str) -> asyncio.Lock:
        lock = self._locks.get(ppa_id)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[ppa_id] = lock
        return lock

    async def reconcile_room(self, ppa_id: str) -> None:
        """Unlock the live room unless the database says the PPA is locked (undo of a lock)."""
        if self.db is None:
            return
        async with self.db.transaction() as session:
            locked = await session.scalar(select(PPA.locked).where(PPA.id == ppa_id))
        if not locked:
            await self.rooms.unlock(ppa_id)


def runtime(state: State) -> VersionsRuntime:
    """The runtime of the app owning ``state`` (created at first use)."""
    current: VersionsRuntime | None = getattr(state, "versions", None)
    if current is None:

        def documents() -> DocumentSource:
            source: DocumentSource = state.documents
            return source

        current = VersionsRuntime(
            key=signing_key(state.settings),
            rooms_of=lambda: live_rooms(state),
            documents_of=documents,
            db=state.db,
            publish_dir=state.settings.log_publish_dir,
        )
        state.versions = current
    return current


class LifecycleGuard:
    def __init__(self, rt: VersionsRuntime) -> None:
        self.runtime = rt
        self._after_commit: list[Action] = []
        self._on_failure: list[Action] = []
        self._held: list[asyncio.Lock] = []

    async def hold(self, ppa_id: str) -> None:
        """Wait for (then hold until the end of the request) the PPA's lifecycle lock."""
        lock = self.runtime.lock_for(ppa_id)
        await lock.acquire()
        self._held.append(lock)

    def after_commit(self, action: Action) -> None:
        self._after_commit.append(action)

    def on_failure(self, action: Action) -> None:
        self._on_failure.append(action)

    async def committed(self) -> None:
        for action in self._after_commit:
            try:
                await action()
            except Exception:
                log.exception("versions.after_commit_failed")

    async def failed(self) -> None:
        for action in reversed(self._on_failure):
            try:
                await action()
            except Exception:
                log.exception("versions.undo_failed")

    def release(self) -> None:
        while self._held:
            self._held.pop().release()


async def lifecycle_guard(request: Request) -> AsyncIterator[LifecycleGuard]:
    guard = LifecycleGuard(runtime(request.app.state))
    try:
        yield guard
    except BaseException:
        await guard.failed()
        raise
    else:
        await guard.committed()
    finally:
        guard.release()


Guard = Annotated[LifecycleGuard, Depends(lifecycle_guard, scope="function")]
"""Declare it before ``SessionDep`` and ``CurrentPrincipal`` so it exits after the commit."""


def get_runtime(request: Request) -> VersionsRuntime:
    return runtime(request.app.state)


Runtime = Annotated[VersionsRuntime, Depends(get_runtime)]
