"""Validation of the draft (or of the avenant in progress): all of it, or nothing."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncSession

from editor.schema import PPAContent, Severity
from server.auth.principal import Principal
from server.errors import Conflict
from server.esms.service import notify_validated
from server.models import PPA, Version
from server.models.ppa import PPAStatus
from server.notifications.service import version_event
from server.ppas import service as ppas_service
from server.versions_api import repository
from server.versions_api.authorship import authors_since
from server.versions_api.runtime import LifecycleGuard, VersionsRuntime
from server.versions_api.service import online
from server.versions_api.service.agreements import RepresentativeInput, agreement_problems
from server.versions_api.service.claims import (
    RESTORE_IN_PROGRESS,
    no_restore_since,
    restore_marker,
)
from server.versions_api.service.common import (
    AvenantRefusedError,
    ValidationRefused,
    compare_and_set,
    content_of,
    content_of_state,
    lifecycle,
    local_day,
    read_state,
)
from server.versions_api.service.recording import (
    NewVersion,
    checkpoint_if_changed,
    record_version,
)
from versions.canonical import content_hash
from versions.chain import AccordMode, AccordRecord, AccordType, VersionKind
from versions.lifecycle import (
    AVENANT_SCOPE_FR,
    LifecycleEvent,
    PPAState,
    avenant_summary,
    avenant_title,
    avenant_violations,
    next_review_date,
)
from versions.timeline import effective_next_review


@dataclass(frozen=True)
class AccordInput:
    mode: AccordMode
    par: str
    temoin: str = ""
    date: date | None = None
    motif: str = ""
    recorded_by: str | None = None
    """Who recorded it (default: who validates); the person for her online agreement."""
    recorded_at: datetime | None = None


def _problems_detail(problems: Sequence[dict[str, Any]]) -> str:
    lines = "\n".join(f"- {p['message']}" for p in problems[:20])
    more = f"\n(et {len(problems) - 20} autre(s))" if len(problems) > 20 else ""
    return (
        f"Le PPA ne peut pas être validé tant que ces points ne sont pas corrigés :\n{lines}{more}"
    )


async def validate(
    session: AsyncSession,
    rt: VersionsRuntime,
    guard: LifecycleGuard,
    principal: Principal,
    ppa: PPA,
    structure: AccordInput,
    personne: AccordInput | None,
    representant: RepresentativeInput | None = None,
) -> Version:
    """Validate the draft (or the avenant in progress): all of it, or nothing.

    The person's agreement is required, and her legal representative's when his measure asks
    for it (:mod:`server.versions_api.service.agreements`): missing, they are blocking
    problems of the same 409 as the content's.

    Locks the live room, compare-and-sets the PPA (``draft``/``avenant_draft`` -> ``validated``,
    locked), checks the content (problems, the avenant rule), records a checkpoint if the content
    changed since the last version, then the validated version with its agreements, log leaf and
    signed head; a revision supersedes the PPA it replaces.
    """
    state = await _lock_room(session, rt, guard, ppa)
    doc_state, at = await _lock_ppa(session, rt, ppa, state)
    content = content_of_state(doc_state)
    given_online = None
    if personne is None:
        given_online = await online.for_validation(session, ppa, content_hash(content))
        if given_online is not None:
            row = given_online.row
            personne = AccordInput(
                given_online.mode,
                given_online.par,
                given_online.temoin,
                local_day(row.given_at),
                row.motif,
                recorded_by=row.given_by,
                recorded_at=row.given_at,
            )
    agreements = await agreement_problems(session, ppa, personne is not None, representant)
    base = await _check_content(session, rt, ppa, state, content, local_day(at), agreements)
    await _supersede_previous(session, rt, guard, ppa, at)
    rt.step("superseded", ppa.id)
    await checkpoint_if_changed(
        session, rt, ppa.id, doc_state, "Point de sauvegarde avant validation", principal.id, at
    )
    rt.step("checkpoint", ppa.id)
    accords = _accords(principal, structure, personne, representant, at)
    new = await _validated_version(session, ppa, principal, doc_state, content, accords, at)
    if base is not None:
        await _as_avenant(session, ppa, new, base, content)
    version = await record_version(session, rt, ppa.id, new, at)
    if given_online is not None:
        given_online.row.used_in_version = version.number
    # Published to the structures' software in the same transaction (sent after commit).
    await notify_validated(session, ppa.id, version.number)
    nature = "ppa.validated" if base is None else "ppa.avenant_validated"
    await version_event(session, nature, ppa.id, ppa.person_id, version.number, principal.id)
    if rt.faults is not None:
        ppa_id = ppa.id
        event.listen(
            session.sync_session, "before_commit", lambda _s: rt.step("commit", ppa_id), once=True
        )
    return version


async def _lock_room(
    session: AsyncSession, rt: VersionsRuntime, guard: LifecycleGuard, ppa: PPA
) -> PPAState:
    """Hold the PPA's lifecycle lock, lock its live room (undone if anything fails)."""
    lifecycle(ppa, LifecycleEvent.VALIDATE)
    await guard.hold(ppa.id)
    await session.refresh(ppa)
    state = lifecycle(ppa, LifecycleEvent.VALIDATE)
    await rt.rooms.lock(ppa.id)
    ppa_id = ppa.id

    async def undo_lock() -> None:
        await rt.reconcile_room(ppa_id)

    guard.on_failure(undo_lock)
    rt.step("room_locked", ppa.id)
    return state


async def _lock_ppa(
    session: AsyncSession, rt: VersionsRuntime, ppa: PPA, state: PPAState
) -> tuple[bytes, datetime]:
    """Read the live state, then lock the PPA's row unless a restore claimed it since."""
    marker = await restore_marker(session, ppa.id)
    doc_state = await read_state(session, rt, ppa.id)
    at = rt.clock()
    won = await compare_and_set(
        session,
        ppa.id,
        [PPA.status == state.value, PPA.locked.is_(False), *no_restore_since(marker)],
        {"status": PPAStatus.VALIDATED.value, "locked": True, "updated_at": at},
    )
    if not won:
        if await session.scalar(select(PPA.restore_claim).where(PPA.id == ppa.id)) != marker:
            raise Conflict(RESTORE_IN_PROGRESS)
        raise Conflict(
            "Ce PPA vient de changer d'état (validé par quelqu'un d'autre ?) : "
            "rechargez-le avant de recommencer."
        )
    rt.step("ppa_locked", ppa.id)
    return doc_state, at


async def _check_content(
    session: AsyncSession,
    rt: VersionsRuntime,
    ppa: PPA,
    state: PPAState,
    content: PPAContent,
    validated_on: date,
    agreements: list[dict[str, Any]],
) -> Version | None:
    """Refuse an avenant touching objectives or besoins (first: it needs a revision, whatever
    else is missing), then a content with blocking problems (those *à vérifier* do not block)
    or missing agreements; the validated version an avenant amends (``None`` for a draft)."""
    base = await _avenant_base(session, ppa, state, content)
    problems = await ppas_service.problems_of(session, rt.documents, ppa, content, validated_on)
    blocking = [p for p in problems if p["severity"] == Severity.BLOQUANT.value] + agreements
    if blocking:
        raise ValidationRefused(_problems_detail(blocking), extra={"problems": blocking})
    return base


async def _avenant_base(
    session: AsyncSession, ppa: PPA, state: PPAState, content: PPAContent
) -> Version | None:
    """The validated version an avenant amends, once its changes are checked (``None`` for a
    draft)."""
    if state is not PPAState.AVENANT_DRAFT:
        return None
    base = await repository.last_validated(session, ppa.id)
    if base is None:
        raise Conflict("Avenant sans version validée de référence.")
    full = await repository.last_full_validation(session, ppa.id)
    full_on = None if full is None else local_day(full.created_at)
    violations = avenant_violations(content_of(base), content, full_validated_on=full_on)
    if violations:
        lines = "\n".join(f"- {v.message}" for v in violations)
        raise AvenantRefusedError(
            f"Cet avenant ne peut pas être validé : {AVENANT_SCOPE_FR}.\n"
            f"{lines}\nPour ces changements, créez un nouveau PPA "
            f"(révision : POST /api/ppas/{ppa.id}/revisions).",
            extra={
                "problems": [{"path": v.path, "message": v.message} for v in violations],
                "revision_url": f"/api/ppas/{ppa.id}/revisions",
            },
        )
    return base


async def _supersede_previous(
    session: AsyncSession, rt: VersionsRuntime, guard: LifecycleGuard, ppa: PPA, at: datetime
) -> None:
    """A revision supersedes the PPA it replaces (its room is locked after the commit)."""
    if ppa.previous_ppa_id is None:
        return
    previous_id = ppa.previous_ppa_id
    superseded = await compare_and_set(
        session,
        previous_id,
        [PPA.status.in_([PPAStatus.VALIDATED.value, PPAStatus.AVENANT_DRAFT.value])],
        {"status": PPAStatus.SUPERSEDED.value, "locked": True, "updated_at": at},
    )
    if superseded:

        async def lock_previous() -> None:
            await rt.rooms.lock(previous_id)

        guard.after_commit(lock_previous)


def _accords(
    principal: Principal,
    structure: AccordInput,
    personne: AccordInput | None,
    representant: RepresentativeInput | None,
    at: datetime,
) -> list[AccordRecord]:
    """The agreements of the structure, of the person (and of her legal representative, whose
    ``par`` is his cercle member id), dated the local day by default."""
    validated_on = local_day(at)
    given = [(AccordType.STRUCTURE, structure)]
    if personne is not None:
        given.append((AccordType.PERSONNE, personne))
    if representant is not None:
        r = representant
        given.append(
            (AccordType.REPRESENTANT, AccordInput(r.mode, r.member_id, r.temoin, r.date, r.motif))
        )
    return [
        AccordRecord(
            type=type_,
            mode=accord.mode,
            par=accord.par,
            recorded_by=accord.recorded_by or principal.id,
            recorded_at=accord.recorded_at or at,
            temoin=accord.temoin,
            date=accord.date or validated_on,
            motif=accord.motif,
        )
        for type_, accord in given
    ]


async def _validated_version(
    session: AsyncSession,
    ppa: PPA,
    principal: Principal,
    doc_state: bytes,
    content: PPAContent,
    accords: list[AccordRecord],
    at: datetime,
) -> NewVersion:
    """The validated version to record: next rank of the series, next review date."""
    rank = await repository.count_kind(session, ppa.id, repository.VALIDATED_KIND_VALUES) + 1
    latest = await repository.latest_version(session, ppa.id)
    authors = await authors_since(
        session, ppa.id, None if latest is None else latest.created_at, at, principal.id
    )
    return NewVersion(
        kind=VersionKind.VALIDATED,
        label=f"v{rank} - version validée",
        state=doc_state,
        content=content,
        created_by=principal.id,
        authors=authors,
        accords=tuple(accords),
        next_review=next_review_date(local_day(at), content.bilan),
        series_rank=rank,
    )


async def _as_avenant(
    session: AsyncSession, ppa: PPA, new: NewVersion, base: Version, content: PPAContent
) -> None:
    """Make ``new`` the next avenant of the validated version ``base``."""
    avenant_number = await repository.count_kind(session, ppa.id, [VersionKind.AVENANT]) + 1
    new.kind = VersionKind.AVENANT
    new.label = avenant_title(avenant_number, new.series_rank or 1, base.series_rank or 1)
    new.summary = avenant_summary(content_of(base), content)
    new.parent_number = base.number
    new.avenant_number = avenant_number
    # The yearly review is counted from the last full validation: an avenant does not reset it.
    full = await repository.last_full_validation(session, ppa.id)
    if full is not None:
        new.next_review = effective_next_review(
            local_day(full.created_at), content.bilan.prochaine_revision
        )
