"""Avenants: opening one on a validated PPA, abandoning the one in progress."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from server.auth.principal import Principal
from server.errors import Conflict
from server.models import PPA, Version
from server.models.ppa import PPAStatus
from server.notifications.service import version_event
from server.versions_api import repository
from server.versions_api.authorship import changes_from_updates, read_update_log
from server.versions_api.runtime import LifecycleGuard, VersionsRuntime
from server.versions_api.service.claims import no_restore_since, restore_marker
from server.versions_api.service.common import (
    compare_and_set,
    content_of,
    content_of_state,
    lifecycle,
    read_state,
    write_live,
)
from server.versions_api.service.recording import checkpoint_if_changed
from versions.diff import VersionDiff, diff_contents
from versions.lifecycle import LifecycleEvent

CHANGED_STATE = "Ce PPA vient de changer d'état : rechargez-le avant de recommencer."


async def _validated_base(session: AsyncSession, ppa: PPA) -> Version:
    base = await repository.last_validated(session, ppa.id)
    if base is None:
        raise Conflict("Ce PPA n'a pas encore de version validée.")
    return base


async def open_avenant(
    session: AsyncSession,
    rt: VersionsRuntime,
    guard: LifecycleGuard,
    principal: Principal,
    ppa: PPA,
) -> Version:
    """Open an avenant: the live document (holding the validated content) becomes editable."""
    lifecycle(ppa, LifecycleEvent.OPEN_AVENANT)
    await guard.hold(ppa.id)
    await session.refresh(ppa)
    lifecycle(ppa, LifecycleEvent.OPEN_AVENANT)
    base = await _validated_base(session, ppa)
    await write_live(session, rt, ppa.id, content_of(base), principal.id)
    won = await compare_and_set(
        session,
        ppa.id,
        [PPA.status == PPAStatus.VALIDATED.value, PPA.locked.is_(True)],
        {"status": PPAStatus.AVENANT_DRAFT.value, "locked": False, "updated_at": rt.clock()},
    )
    if not won:
        raise Conflict(CHANGED_STATE)
    ppa_id = ppa.id

    async def unlock() -> None:
        await rt.rooms.unlock(ppa_id)

    guard.after_commit(unlock)
    await version_event(session, "ppa.avenant_opened", ppa.id, ppa.person_id, None, principal.id)
    return base


async def abandon_avenant(
    session: AsyncSession,
    rt: VersionsRuntime,
    guard: LifecycleGuard,
    principal: Principal,
    ppa: PPA,
) -> Version:
    """Abandon the avenant in progress: the draft is kept as a checkpoint, the live document
    goes back to the validated content and is locked again."""
    lifecycle(ppa, LifecycleEvent.ABANDON_AVENANT)
    await guard.hold(ppa.id)
    await session.refresh(ppa)
    lifecycle(ppa, LifecycleEvent.ABANDON_AVENANT)
    await rt.rooms.lock(ppa.id)
    ppa_id = ppa.id

    async def undo_lock() -> None:
        await rt.reconcile_room(ppa_id)

    guard.on_failure(undo_lock)
    base = await _validated_base(session, ppa)
    marker = await restore_marker(session, ppa.id)
    draft = await read_state(session, rt, ppa.id)
    await write_live(session, rt, ppa.id, content_of(base), principal.id, current=draft)
    at = rt.clock()
    won = await compare_and_set(
        session,
        ppa.id,
        [
            PPA.status == PPAStatus.AVENANT_DRAFT.value,
            PPA.locked.is_(False),
            *no_restore_since(marker),
        ],
        {"status": PPAStatus.VALIDATED.value, "locked": True, "updated_at": at},
    )
    if not won:
        raise Conflict(CHANGED_STATE)
    await checkpoint_if_changed(
        session, rt, ppa.id, draft, "Avenant abandonné (brouillon conservé)", principal.id, at
    )
    return base


@dataclass(frozen=True)
class PendingAvenant:
    """What abandoning the avenant in progress would take out of the live document."""

    base: Version
    diff: VersionDiff


async def pending_avenant(session: AsyncSession, rt: VersionsRuntime, ppa: PPA) -> PendingAvenant:
    """The changes of the avenant in progress (live document against the validated version),
    each with its authors from the update log (or none when its bytes are gone)."""
    if ppa.status != PPAStatus.AVENANT_DRAFT.value:
        raise Conflict("Aucun avenant n'est en cours sur ce PPA.")
    base = await _validated_base(session, ppa)
    live = content_of_state(await read_state(session, rt, ppa.id))
    updates = await read_update_log(session, ppa.id, base.created_at, rt.clock())
    changes = changes_from_updates(base.yjs_state, updates) if updates is not None else None
    return PendingAvenant(base, diff_contents(content_of(base), live, authorship=changes))
