"""Restoring a version, and starting a revision (a new PPA for the next period).

Restore (decided here): restoring version ``n`` of an editable PPA (draft or avenant in progress)
writes its content into the live draft - a forward step recorded as a new ``restore`` version
whose parent is ``n``, preceded by a checkpoint of what the draft held - and never rewrites
history. Restoring a version of a locked PPA (validated or superseded) creates a new draft PPA for
the person (``previous_ppa_id`` = the locked PPA) whose version 1 is a ``restore`` based on
``(PPA, n)``; the validated PPA stays untouched. The database decides before the live room is
written (:mod:`server.versions_api.service.claims`).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from editor.schema import PPAContent
from server import authz
from server.auth.principal import Principal
from server.authz import Capability
from server.errors import Conflict, Locked
from server.models import PPA, Person, Version
from server.notifications.service import version_event
from server.ppas import service as ppas_service
from server.versions_api import repository
from server.versions_api.authorship import changes_from_updates, read_update_log
from server.versions_api.runtime import LifecycleGuard, VersionsRuntime
from server.versions_api.service.claims import claim_for_restore, release_claim
from server.versions_api.service.common import (
    compare_and_set,
    content_of,
    content_of_state,
    lifecycle,
    lock_editable_row,
    read_state,
    write_live,
)
from server.versions_api.service.recording import (
    NewVersion,
    checkpoint_if_changed,
    record_version,
)
from versions.chain import VersionKind, VersionRef
from versions.diff import VersionDiff, diff_contents
from versions.lifecycle import LifecycleEvent


@dataclass(frozen=True)
class Restored:
    ppa: PPA
    version: Version
    new_ppa: bool


async def restore(
    session: AsyncSession,
    rt: VersionsRuntime,
    guard: LifecycleGuard,
    principal: Principal,
    ppa: PPA,
    source: Version,
) -> Restored:
    """Bring version ``source`` back as the new draft (see the module docstring)."""
    target = content_of(source)
    await guard.hold(ppa.id)
    await session.refresh(ppa)
    if ppa.locked:
        return await _restore_as_new_ppa(session, rt, principal, ppa, source, target)
    lifecycle(ppa, LifecycleEvent.RESTORE)
    token = await claim_for_restore(rt, ppa.id)
    if token is not None:
        claimed = token
        ppa_id = ppa.id

        async def release() -> None:
            await release_claim(rt, ppa_id, claimed)

        guard.on_failure(release)
    rt.step("restore_claimed", ppa.id)
    before = await read_state(session, rt, ppa.id)
    after = await write_live(session, rt, ppa.id, target, principal.id, current=before)
    rt.step("restore_written", ppa.id)
    at = rt.clock()
    if token is None:
        await lock_editable_row(session, ppa.id, at)
    elif not await compare_and_set(
        session,
        ppa.id,
        [PPA.restore_claim == token, PPA.locked.is_(False)],
        {"updated_at": at, "restore_claim_at": None},
    ):
        raise Locked(
            "Ce PPA vient d'être verrouillé : la restauration n'a pas pu être enregistrée."
        )
    await checkpoint_if_changed(
        session, rt, ppa.id, before, "Point de sauvegarde avant restauration", principal.id, at
    )
    version = await record_version(
        session,
        rt,
        ppa.id,
        NewVersion(
            kind=VersionKind.RESTORE,
            label=f"Restauration de la version {source.number}",
            state=after,
            content=target,
            created_by=principal.id,
            authors=[principal.id],
            parent_number=source.number,
        ),
        at,
    )
    return Restored(ppa, version, new_ppa=False)


async def restore_preview(
    session: AsyncSession, rt: VersionsRuntime, ppa: PPA, source: Version
) -> VersionDiff:
    """What restoring ``source`` would take out of the live draft (kept as a checkpoint in the
    history): the changes of the live document since that version, each with its authors from
    the update log (or none when its bytes are gone). A locked PPA loses nothing: its restore
    is a new draft PPA (409)."""
    if ppa.locked:
        raise Conflict(
            "Ce PPA est verrouillé : restaurer une version crée un nouveau brouillon, rien n'est "
            "retiré de ce document."
        )
    live = content_of_state(await read_state(session, rt, ppa.id))
    updates = await read_update_log(session, ppa.id, source.created_at, rt.clock())
    changes = changes_from_updates(source.yjs_state, updates) if updates is not None else None
    return diff_contents(content_of(source), live, authorship=changes)


async def _new_ppa_from(
    session: AsyncSession,
    rt: VersionsRuntime,
    principal: Principal,
    origin: PPA,
    *,
    title: str,
    content: PPAContent | None,
) -> PPA:
    await authz.get_person(session, principal, origin.person_id, Capability.EDIT)
    person = await session.get(Person, origin.person_id)
    if person is None:
        raise RuntimeError("person is None")
    created = await ppas_service.create_ppa(
        session,
        rt.documents,
        person=person,
        created_by=principal.id,
        title=title[:200],
        content=content,
        previous=origin if content is None else None,
    )
    created.previous_ppa_id = origin.id
    await session.flush()
    return created


async def _restore_as_new_ppa(
    session: AsyncSession,
    rt: VersionsRuntime,
    principal: Principal,
    ppa: PPA,
    source: Version,
    target: PPAContent,
) -> Restored:
    content = target.model_copy(update={"accords": []}, deep=True)
    created = await _new_ppa_from(
        session,
        rt,
        principal,
        ppa,
        title=f"{ppa.title} (restauration de la version {source.number})",
        content=content,
    )
    state = await rt.documents.current_state(session, created.id)
    version = await record_version(
        session,
        rt,
        created.id,
        NewVersion(
            kind=VersionKind.RESTORE,
            label=f"Restauration de la version {source.number} du PPA « {ppa.title} »",
            state=state,
            content=content_of_state(state),
            created_by=principal.id,
            authors=[principal.id],
            based_on=VersionRef(ppa.id, source.number),
        ),
        rt.clock(),
    )
    return Restored(created, version, new_ppa=True)


async def start_revision(
    session: AsyncSession, rt: VersionsRuntime, principal: Principal, ppa: PPA
) -> Restored:
    """A new PPA for the next period, starting from the last validated version of ``ppa``."""
    base = await repository.last_validated(session, ppa.id)
    if base is None:
        raise Conflict(
            "Ce PPA n'a pas encore de version validée : une révision part toujours de la "
            "dernière version validée."
        )
    created = await _new_ppa_from(
        session, rt, principal, ppa, title=f"{ppa.title} (révision)", content=None
    )
    state = await rt.documents.current_state(session, created.id)
    version = await record_version(
        session,
        rt,
        created.id,
        NewVersion(
            kind=VersionKind.REVISION,
            label=f"Révision à partir de la v{base.series_rank or 1} du PPA « {ppa.title} »",
            state=state,
            content=content_of_state(state),
            created_by=principal.id,
            authors=[principal.id],
            based_on=VersionRef(ppa.id, base.number),
        ),
        rt.clock(),
    )
    await version_event(
        session, "ppa.revision_started", created.id, ppa.person_id, None, principal.id
    )
    return Restored(created, version, new_ppa=True)
