"""Versions of PPAs: checkpoints, named versions, validation, avenants, restores, revisions.

Every function works inside the caller's transaction (the request session commits; services
never commit), except :func:`checkpoint`, the entry point for the collaboration engine, which
opens its own.

Ordering rules, shared by every lifecycle step:

* the PPA row is written first (a compare-and-set on ``ppas``: a row lock on PostgreSQL, the
  single writer on SQLite), so two steps on the same PPA serialise and version numbers follow;
  every ``ppas`` row a step touches is written before the global log is appended to (advisory
  lock on PostgreSQL), so steps on different PPAs never wait on each other in a cycle;
* whatever the live rooms must do durably (``lock`` flushes pending writes, ``write``) happens
  before the transaction writes anything (SQLite has one writer; the rooms use their own
  connections);
* the room lock taken by a validation is undone if anything fails, the commit included
  (:class:`~server.versions_api.runtime.LifecycleGuard`); an avenant unlocks the room only after
  its commit.

Restore (decided here): restoring version ``n`` of an editable PPA (draft or avenant in progress)
writes its content into the live draft - a forward step recorded as a new ``restore`` version
whose parent is ``n``, preceded by a checkpoint of what the draft held - and never rewrites
history. Restoring a version of a locked PPA (validated or superseded) creates a new draft PPA for
the person (``previous_ppa_id`` = the locked PPA) whose version 1 is a ``restore`` based on
``(PPA, n)``; the validated PPA stays untouched.

Restore versus validation across processes (decided here): a restore writes into the live room,
so the database must say it may *before* the room write. A restore first **claims** the PPA in a
short transaction of its own - ``UPDATE ppas SET restore_claim = <token>, restore_claim_at = now
WHERE id = ? AND NOT locked AND status IN (draft, avenant_draft) AND no live claim`` - and answers
409 (French) when no row matched; only then does it write the room, and its main transaction
releases the claim with a compare-and-set on the token. Validation (and abandoning an avenant)
reads the PPA's last claim token *before* reading the live state, refuses (409) while a claim is
live, and its own compare-and-set requires the token to be unchanged and no claim live: a restore
that claimed after the validation read the state makes the validation lose; a restore that claims
after the validation's compare-and-set waits for it (row lock on PostgreSQL, single writer on
SQLite) and then finds the PPA locked. So a validated version always holds what the locked
document holds, and no restore writes into a locked document. A claim left by a crashed restore
goes stale after :data:`RESTORE_CLAIM_TTL`. (Across processes, the live state of a room loaded by
another process reaches this one through the Redis fan-out, as for every live write.)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Literal, cast
from zoneinfo import ZoneInfo

from pycrdt import merge_updates
from sqlalchemy import ColumnElement, CursorResult, and_, event, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import State

from editor.crdt import doc_from_state, doc_to_content, encode_state, write_content
from editor.schema import PPAContent
from server import authz
from server.audit.bundle import ppa_audit_trail
from server.audit.seal import seal as seal_audit
from server.auth.principal import Principal
from server.authz import Capability
from server.db import new_uuid, utcnow
from server.errors import Conflict, InvalidInput, Locked, NotFound
from server.esms.service import notify_validated
from server.ledger.log import append_leaf, head_of, latest_head, tree
from server.models import PPA, Person, PPADocument, TreeHead, Version, VersionAccord
from server.models.ppa import PPAStatus
from server.ppas import service as ppas_service
from server.versions_api import repository
from server.versions_api.authorship import authors_since, authorship_between
from server.versions_api.runtime import LifecycleGuard, VersionsRuntime, runtime
from versions.bundle import assemble_bundle
from versions.canonical import canonical_content, content_from_canonical, content_hash
from versions.chain import (
    GENESIS,
    VALIDATED_KINDS,
    AccordMode,
    AccordRecord,
    AccordType,
    VersionKind,
    VersionMeta,
    VersionRef,
    chain_hash,
    verify_chain,
)
from versions.chain import VerifyResult as ChainVerifyResult
from versions.diff import VersionDiff, diff_contents
from versions.lifecycle import (
    LifecycleError,
    LifecycleEvent,
    PPAState,
    avenant_summary,
    avenant_title,
    avenant_violations,
    next_review_date,
    transition,
)
from versions.merkle import LEAF_TYPE_VERSION, version_leaf_data

PARIS = ZoneInfo("Europe/Paris")
SYSTEM_CHECKPOINT = "system:checkpoint"
"""``created_by`` of the checkpoints the service takes on its own."""
EMPTY_UPDATE = b"\x00\x00"

RESTORE_CLAIM_TTL = timedelta(minutes=2)
"""A restore claim older than this is stale (its restore crashed)."""
RESTORE_IN_PROGRESS = (
    "Une restauration de version est en cours (ou vient d'avoir lieu) sur ce PPA : "
    "rechargez-le et réessayez dans un instant."
)

faults: Callable[[str, str | None], None] | None = None
"""Test seam: called with the name of each step of a validation and the id of the PPA it works
on (raise to inject a failure). Background work on other PPAs (session-end checkpoints) calls it
too: a test filters on the PPA id."""

_step_ppa: ContextVar[str | None] = ContextVar("versions_step_ppa", default=None)
"""The PPA the current task is recording or validating (for :data:`faults`)."""


def _step(name: str) -> None:
    if faults is not None:
        faults(name, _step_ppa.get())


class AvenantRefusedError(InvalidInput):
    code = "AvenantRefused"


class ValidationRefused(InvalidInput):
    code = "ValidationRefused"


def local_day(at: datetime) -> date:
    return at.astimezone(PARIS).date()


def content_of_state(state: bytes) -> PPAContent:
    return doc_to_content(doc_from_state(state))


def content_of(version: Version) -> PPAContent:
    return content_from_canonical(version.content)


async def read_state(session: AsyncSession, rt: VersionsRuntime, ppa_id: str) -> bytes:
    """The live document's state: the room's when loaded, else the stored document's."""
    live = await rt.rooms.current_state(ppa_id)
    if live is not None:
        return live
    return await rt.documents.current_state(session, ppa_id)


async def write_live(
    session: AsyncSession,
    rt: VersionsRuntime,
    ppa_id: str,
    content: PPAContent,
    author: str,
    *,
    current: bytes | None = None,
) -> bytes:
    """Make the live document hold ``content`` (minimal CRDT changes); return the new state.

    Goes through the live rooms (durable, relayed) when they handle it, else folds the update
    into ``ppa_documents`` in this transaction. Call it before writing anything else.
    """
    if current is None:
        current = await read_state(session, rt, ppa_id)
    doc = doc_from_state(current)
    before = doc.get_state()
    write_content(doc, content)
    change = doc.get_update(before)
    new_state = encode_state(doc)
    if change == EMPTY_UPDATE:
        return new_state
    if not await rt.rooms.write(ppa_id, change, author):
        document = await session.get(PPADocument, ppa_id)
        if document is None:
            raise NotFound("Document du PPA introuvable.")
        document.state = merge_updates(document.state, change)
        document.updated_at = rt.clock()
        await session.flush()
    return new_state


def _lifecycle(ppa: PPA, event_: LifecycleEvent) -> PPAState:
    state = PPAState(ppa.status)
    try:
        transition(state, event_)
    except LifecycleError as exc:
        if ppa.locked:
            raise Locked(exc.message_fr) from exc
        raise Conflict(exc.message_fr) from exc
    return state


async def _compare_and_set(
    session: AsyncSession, ppa_id: str, conditions: Sequence[Any], values: dict[str, Any]
) -> bool:
    result = await session.execute(
        update(PPA)
        .where(PPA.id == ppa_id, *conditions)
        .values(**values)
        .execution_options(synchronize_session="fetch")
    )
    return cast(CursorResult[Any], result).rowcount == 1


async def _lock_editable_row(session: AsyncSession, ppa_id: str, at: datetime) -> None:
    """Take the PPA's row (see the module's ordering rules); 409 if it is locked meanwhile."""
    if not await _compare_and_set(session, ppa_id, [PPA.locked.is_(False)], {"updated_at": at}):
        raise Locked(
            "Ce PPA vient d'être validé et verrouillé : il ne peut plus être modifié. "
            "Ouvrez un avenant ou une révision."
        )


def _claim_live(now: datetime) -> ColumnElement[bool]:
    return and_(PPA.restore_claim_at.is_not(None), PPA.restore_claim_at > now - RESTORE_CLAIM_TTL)


async def _restore_marker(session: AsyncSession, ppa_id: str) -> str | None:
    """The PPA's last restore claim token, read before the live state; 409 while one is live."""
    row = (
        await session.execute(
            select(PPA.restore_claim, _claim_live(utcnow()).label("live")).where(PPA.id == ppa_id)
        )
    ).one()
    if row.live:
        raise Conflict(RESTORE_IN_PROGRESS)
    token: str | None = row.restore_claim
    return token


def _no_restore_since(marker: str | None) -> list[ColumnElement[bool]]:
    """Compare-and-set conditions: no restore claimed since ``marker`` was read, none live."""
    return [PPA.restore_claim.is_not_distinct_from(marker), ~_claim_live(utcnow())]


async def _claim_for_restore(rt: VersionsRuntime, ppa_id: str) -> str | None:
    """Claim the editable PPA for a restore in a committed transaction of its own (see the
    module docstring); 409 when it is locked or another restore holds it."""
    if rt.db is None:
        return None  # scripts: no live rooms, no other process writing
    token, now = new_uuid(), utcnow()
    editable = [PPAStatus.DRAFT.value, PPAStatus.AVENANT_DRAFT.value]
    async with rt.db.transaction() as claim:
        won = await _compare_and_set(
            claim,
            ppa_id,
            [PPA.locked.is_(False), PPA.status.in_(editable), ~_claim_live(now)],
            {"restore_claim": token, "restore_claim_at": now},
        )
        locked = (
            False if won else bool(await claim.scalar(select(PPA.locked).where(PPA.id == ppa_id)))
        )
    if won:
        return token
    if locked:
        raise Locked(
            "Ce PPA vient d'être validé et verrouillé : la restauration n'a pas été appliquée. "
            "Restaurez la version depuis le PPA validé (un nouveau brouillon sera créé)."
        )
    raise Conflict(RESTORE_IN_PROGRESS)


async def _release_claim(rt: VersionsRuntime, ppa_id: str, token: str) -> None:
    if rt.db is None:
        return
    async with rt.db.transaction() as session:
        await _compare_and_set(
            session, ppa_id, [PPA.restore_claim == token], {"restore_claim_at": None}
        )


@dataclass
class NewVersion:
    kind: VersionKind
    label: str
    state: bytes
    content: PPAContent
    created_by: str
    authors: list[str]
    parent_number: int | None = None
    based_on: VersionRef | None = None
    accords: tuple[AccordRecord, ...] = field(default=())
    summary: str = ""
    next_review: date | None = None
    series_rank: int | None = None
    avenant_number: int | None = None


async def record_version(
    session: AsyncSession, rt: VersionsRuntime, ppa_id: str, new: NewVersion, at: datetime
) -> Version:
    """Insert the next version of the PPA: log leaf + signed head, version row, accords.

    The caller holds the PPA's row (it wrote it in this transaction).
    """
    _step_ppa.set(ppa_id)
    previous = await repository.latest_version(session, ppa_id)
    number = 1 if previous is None else previous.number + 1
    canonical = canonical_content(new.content)
    digest = content_hash(canonical)
    meta = VersionMeta(
        ppa_id=ppa_id,
        number=number,
        kind=new.kind,
        label=new.label,
        created_at=at,
        created_by=new.created_by,
        parent_number=new.parent_number,
        based_on=new.based_on,
        accords=new.accords,
    )
    prev = GENESIS if previous is None else previous.chain_hash
    chained = chain_hash(prev, digest, meta)
    # The audit events committed so far are sealed first (server.audit.seal), so the version's
    # signed head covers them too.
    await seal_audit(session, rt.key, publish_dir=rt.publish_dir)
    leaf_index, _head = await append_leaf(
        session,
        rt.key,
        version_leaf_data(ppa_id, number, digest, chained),
        kind=LEAF_TYPE_VERSION,
        ppa_id=ppa_id,
        step=_step,
        publish_dir=rt.publish_dir,
    )
    version = Version(
        ppa_id=ppa_id,
        number=number,
        kind=new.kind.value,
        label=new.label,
        summary=new.summary,
        content=canonical,
        yjs_state=new.state,
        content_hash=digest,
        prev_chain_hash=prev,
        chain_hash=chained,
        created_by=new.created_by,
        authors=list(new.authors),
        created_at=at,
        parent_number=new.parent_number,
        based_on_ppa_id=None if new.based_on is None else new.based_on.ppa_id,
        based_on_number=None if new.based_on is None else new.based_on.number,
        leaf_index=leaf_index,
        series_rank=new.series_rank,
        avenant_number=new.avenant_number,
        next_review=new.next_review,
    )
    session.add(version)
    await session.flush()
    _step("version")
    for position, accord in enumerate(new.accords):
        session.add(
            VersionAccord(
                ppa_id=ppa_id,
                version_number=number,
                position=position,
                type=accord.type.value,
                mode=accord.mode.value,
                par=accord.par,
                temoin=accord.temoin,
                date=accord.date,
                motif=accord.motif,
                recorded_by=accord.recorded_by,
                recorded_at=accord.recorded_at,
            )
        )
    await session.flush()
    _step("accords")
    return version


async def _checkpoint_if_changed(
    session: AsyncSession,
    rt: VersionsRuntime,
    ppa_id: str,
    state: bytes,
    label: str,
    created_by: str,
    at: datetime,
) -> Version | None:
    content = content_of_state(state)
    latest = await repository.latest_version(session, ppa_id)
    if latest is not None and latest.content_hash == content_hash(content):
        return None
    authors = await authors_since(
        session, ppa_id, None if latest is None else latest.created_at, at, created_by
    )
    return await record_version(
        session,
        rt,
        ppa_id,
        NewVersion(VersionKind.CHECKPOINT, label, state, content, created_by, authors),
        at,
    )


# -- checkpoints and named versions ----------------------------------------------------------


async def checkpoint(
    app_state: State,
    ppa_id: str,
    reason: str = "Fin de session d'édition",
    *,
    document: bytes | None = None,
) -> int | None:
    """Take an automatic checkpoint of the PPA's live document, in a transaction of its own.

    For the collaboration engine (end of an editing session: the room unloads or its last
    client leaves). ``document`` is the room's Yjs state (read from the live rooms / stored
    document when ``None``). Returns the new version number, or ``None`` when the content did
    not change since the last version or the PPA is locked.
    """
    rt = runtime(app_state)
    if rt.db is None:
        raise RuntimeError("checkpoint needs the app's database")
    async with rt.db.transaction() as session:
        ppa = await session.get(PPA, ppa_id)
        if ppa is None or ppa.locked:
            return None
        state = document if document is not None else await read_state(session, rt, ppa_id)
        latest = await repository.latest_version(session, ppa_id)
        if latest is not None and latest.content_hash == content_hash(content_of_state(state)):
            return None
        at = rt.clock()
        if not await _compare_and_set(session, ppa_id, [PPA.locked.is_(False)], {"updated_at": at}):
            return None
        version = await _checkpoint_if_changed(
            session, rt, ppa_id, state, reason, SYSTEM_CHECKPOINT, at
        )
        return None if version is None else version.number


async def save_named(
    session: AsyncSession, rt: VersionsRuntime, principal: Principal, ppa: PPA, label: str
) -> Version:
    """A contributor's "Enregistrer une version" (always recorded, even without changes)."""
    _lifecycle(ppa, LifecycleEvent.SAVE_NAMED)
    state = await read_state(session, rt, ppa.id)
    at = rt.clock()
    await _lock_editable_row(session, ppa.id, at)
    latest = await repository.latest_version(session, ppa.id)
    authors = await authors_since(
        session, ppa.id, None if latest is None else latest.created_at, at, principal.id
    )
    return await record_version(
        session,
        rt,
        ppa.id,
        NewVersion(VersionKind.NAMED, label, state, content_of_state(state), principal.id, authors),
        at,
    )


# -- validation ------------------------------------------------------------------------------


@dataclass(frozen=True)
class AccordInput:
    mode: AccordMode
    par: str
    temoin: str = ""
    date: date | None = None
    motif: str = ""


def _problems_detail(problems: Sequence[dict[str, str]]) -> str:
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
) -> Version:
    """Validate the draft (or the avenant in progress): all of it, or nothing.

    Locks the live room, compare-and-sets the PPA (``draft``/``avenant_draft`` -> ``validated``,
    locked), checks the content (problems, the avenant rule), records a checkpoint if the content
    changed since the last version, then the validated version with its agreements, log leaf and
    signed head; a revision supersedes the PPA it replaces.
    """
    _step_ppa.set(ppa.id)
    _lifecycle(ppa, LifecycleEvent.VALIDATE)
    await guard.hold(ppa.id)
    await session.refresh(ppa)
    state = _lifecycle(ppa, LifecycleEvent.VALIDATE)
    await rt.rooms.lock(ppa.id)
    ppa_id = ppa.id

    async def undo_lock() -> None:
        await rt.reconcile_room(ppa_id)

    guard.on_failure(undo_lock)
    _step("room_locked")
    marker = await _restore_marker(session, ppa.id)
    doc_state = await read_state(session, rt, ppa.id)
    at = rt.clock()
    won = await _compare_and_set(
        session,
        ppa.id,
        [PPA.status == state.value, PPA.locked.is_(False), *_no_restore_since(marker)],
        {"status": PPAStatus.VALIDATED.value, "locked": True, "updated_at": at},
    )
    if not won:
        if await session.scalar(select(PPA.restore_claim).where(PPA.id == ppa.id)) != marker:
            raise Conflict(RESTORE_IN_PROGRESS)
        raise Conflict(
            "Ce PPA vient de changer d'état (validé par quelqu'un d'autre ?) : "
            "rechargez-le avant de recommencer."
        )
    _step("ppa_locked")

    content = content_of_state(doc_state)
    problems = await ppas_service.problems_of(session, rt.documents, ppa, content)
    if problems:
        raise ValidationRefused(
            _problems_detail(problems),
            extra={"problems": [{"path": p["path"], "message": p["message"]} for p in problems]},
        )
    base: Version | None = None
    if state is PPAState.AVENANT_DRAFT:
        base = await repository.last_validated(session, ppa.id)
        if base is None:
            raise Conflict("Avenant sans version validée de référence.")
        violations = avenant_violations(content_of(base), content)
        if violations:
            lines = "\n".join(f"- {v.message}" for v in violations)
            raise AvenantRefusedError(
                "Cet avenant ne peut pas être validé : un avenant peut modifier les actions "
                "(modalités, planning, prestations) mais pas les objectifs ni les besoins.\n"
                f"{lines}\nPour changer les objectifs ou les besoins, créez un nouveau PPA "
                f"(révision : POST /api/ppas/{ppa.id}/revisions).",
                extra={
                    "problems": [{"path": v.change.path, "message": v.message} for v in violations],
                    "revision_url": f"/api/ppas/{ppa.id}/revisions",
                },
            )

    if ppa.previous_ppa_id is not None:
        previous_id = ppa.previous_ppa_id
        superseded = await _compare_and_set(
            session,
            previous_id,
            [PPA.status.in_([PPAStatus.VALIDATED.value, PPAStatus.AVENANT_DRAFT.value])],
            {"status": PPAStatus.SUPERSEDED.value, "locked": True, "updated_at": at},
        )
        if superseded:

            async def lock_previous() -> None:
                await rt.rooms.lock(previous_id)

            guard.after_commit(lock_previous)
    _step("superseded")

    await _checkpoint_if_changed(
        session, rt, ppa.id, doc_state, "Point de sauvegarde avant validation", principal.id, at
    )
    _step("checkpoint")

    validated_on = local_day(at)
    accords = [
        AccordRecord(
            type=AccordType.STRUCTURE,
            mode=structure.mode,
            par=structure.par,
            recorded_by=principal.id,
            recorded_at=at,
            temoin=structure.temoin,
            date=structure.date or validated_on,
            motif=structure.motif,
        )
    ]
    if personne is not None:
        accords.append(
            AccordRecord(
                type=AccordType.PERSONNE,
                mode=personne.mode,
                par=personne.par,
                recorded_by=principal.id,
                recorded_at=at,
                temoin=personne.temoin,
                date=personne.date or validated_on,
                motif=personne.motif,
            )
        )
    rank = await repository.count_kind(session, ppa.id, repository.VALIDATED_KIND_VALUES) + 1
    latest = await repository.latest_version(session, ppa.id)
    authors = await authors_since(
        session, ppa.id, None if latest is None else latest.created_at, at, principal.id
    )
    new = NewVersion(
        kind=VersionKind.VALIDATED,
        label=f"v{rank} - version validée",
        state=doc_state,
        content=content,
        created_by=principal.id,
        authors=authors,
        accords=tuple(accords),
        next_review=next_review_date(validated_on, content.bilan),
        series_rank=rank,
    )
    if base is not None:
        avenant_number = await repository.count_kind(session, ppa.id, [VersionKind.AVENANT]) + 1
        new.kind = VersionKind.AVENANT
        new.label = avenant_title(avenant_number, rank, base.series_rank or 1)
        new.summary = avenant_summary(content_of(base), content)
        new.parent_number = base.number
        new.avenant_number = avenant_number
    version = await record_version(session, rt, ppa.id, new, at)
    # Published to the structures' software in the same transaction (sent after commit).
    await notify_validated(session, ppa.id, version.number)
    if faults is not None:
        event.listen(session.sync_session, "before_commit", lambda _s: _step("commit"), once=True)
    return version


# -- avenants --------------------------------------------------------------------------------


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
    _lifecycle(ppa, LifecycleEvent.OPEN_AVENANT)
    await guard.hold(ppa.id)
    await session.refresh(ppa)
    _lifecycle(ppa, LifecycleEvent.OPEN_AVENANT)
    base = await _validated_base(session, ppa)
    await write_live(session, rt, ppa.id, content_of(base), principal.id)
    won = await _compare_and_set(
        session,
        ppa.id,
        [PPA.status == PPAStatus.VALIDATED.value, PPA.locked.is_(True)],
        {"status": PPAStatus.AVENANT_DRAFT.value, "locked": False, "updated_at": rt.clock()},
    )
    if not won:
        raise Conflict("Ce PPA vient de changer d'état : rechargez-le avant de recommencer.")
    ppa_id = ppa.id

    async def unlock() -> None:
        await rt.rooms.unlock(ppa_id)

    guard.after_commit(unlock)
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
    _lifecycle(ppa, LifecycleEvent.ABANDON_AVENANT)
    await guard.hold(ppa.id)
    await session.refresh(ppa)
    _lifecycle(ppa, LifecycleEvent.ABANDON_AVENANT)
    await rt.rooms.lock(ppa.id)
    ppa_id = ppa.id

    async def undo_lock() -> None:
        await rt.reconcile_room(ppa_id)

    guard.on_failure(undo_lock)
    base = await _validated_base(session, ppa)
    marker = await _restore_marker(session, ppa.id)
    draft = await read_state(session, rt, ppa.id)
    await write_live(session, rt, ppa.id, content_of(base), principal.id, current=draft)
    at = rt.clock()
    won = await _compare_and_set(
        session,
        ppa.id,
        [
            PPA.status == PPAStatus.AVENANT_DRAFT.value,
            PPA.locked.is_(False),
            *_no_restore_since(marker),
        ],
        {"status": PPAStatus.VALIDATED.value, "locked": True, "updated_at": at},
    )
    if not won:
        raise Conflict("Ce PPA vient de changer d'état : rechargez-le avant de recommencer.")
    await _checkpoint_if_changed(
        session, rt, ppa.id, draft, "Avenant abandonné (brouillon conservé)", principal.id, at
    )
    return base


# -- restore and revisions -------------------------------------------------------------------


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
    _step_ppa.set(ppa.id)
    target = content_of(source)
    await guard.hold(ppa.id)
    await session.refresh(ppa)
    if ppa.locked:
        return await _restore_as_new_ppa(session, rt, principal, ppa, source, target)
    _lifecycle(ppa, LifecycleEvent.RESTORE)
    token = await _claim_for_restore(rt, ppa.id)
    if token is not None:
        claimed = token
        ppa_id = ppa.id

        async def release() -> None:
            await _release_claim(rt, ppa_id, claimed)

        guard.on_failure(release)
    _step("restore_claimed")
    before = await read_state(session, rt, ppa.id)
    after = await write_live(session, rt, ppa.id, target, principal.id, current=before)
    _step("restore_written")
    at = rt.clock()
    if token is None:
        await _lock_editable_row(session, ppa.id, at)
    elif not await _compare_and_set(
        session,
        ppa.id,
        [PPA.restore_claim == token, PPA.locked.is_(False)],
        {"updated_at": at, "restore_claim_at": None},
    ):
        raise Locked(
            "Ce PPA vient d'être verrouillé : la restauration n'a pas pu être enregistrée."
        )
    await _checkpoint_if_changed(
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
    assert person is not None
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
    return Restored(created, version, new_ppa=True)


# -- reading: diffs, history, bundles, reviews ----------------------------------------------


async def diff_versions(
    session: AsyncSession, ppa: PPA, older: Version, newer: Version
) -> tuple[VersionDiff, Literal["update_log", "versions"]]:
    """Structured diff from ``older`` to ``newer`` (any two versions), with authorship."""
    low, high = sorted((older.number, newer.number))
    between = [v for v in await repository.all_versions(session, ppa.id) if low <= v.number <= high]
    changes, source = await authorship_between(session, between[0], between[-1], between)
    return diff_contents(content_of(older), content_of(newer), authorship=changes), source


@dataclass(frozen=True)
class History:
    versions: list[Version]
    accords: dict[int, list[VersionAccord]]
    chain: ChainVerifyResult
    head: TreeHead | None


async def history(session: AsyncSession, ppa: PPA) -> History:
    versions = await repository.all_versions(session, ppa.id)
    accords = await repository.accords_of(session, ppa.id)
    records = [repository.version_record(v, accords.get(v.number, [])) for v in versions]
    chain = verify_chain(records, [v.content for v in versions])
    return History(versions, accords, chain, await latest_head(session))


async def audit_bundle(
    session: AsyncSession, rt: VersionsRuntime, ppa: PPA, known_sizes: Sequence[int] = ()
) -> bytes:
    """The zip an auditor verifies offline (:mod:`versions.bundle`).

    ``known_sizes`` are sizes of signed heads the auditor (or a witness) already holds: their
    heads join the bundle, linked to the others by consistency proofs, so ``ppa audit verify
    --known-head`` checks that today's log extends what was published then. The PPA's audit
    events and the checkpoints sealing them under the latest head come along
    (:func:`server.audit.bundle.ppa_audit_trail`).
    """
    latest = await latest_head(session)
    if latest is None:
        raise Conflict("Le journal des versions est vide : aucune preuve à exporter.")
    if any(size < 1 or size > latest.tree_size for size in known_sizes):
        raise InvalidInput("Taille de tête signée inconnue du journal.")
    versions = await repository.all_versions(session, ppa.id)
    accords = await repository.accords_of(session, ppa.id)
    sizes = {v.leaf_index + 1 for v in versions} | {latest.tree_size} | set(known_sizes)
    heads = list(
        await session.scalars(
            select(TreeHead).where(TreeHead.tree_size.in_(sizes)).order_by(TreeHead.tree_size)
        )
    )
    entries = [
        (repository.version_record(v, accords.get(v.number, [])), v.content, v.leaf_index)
        for v in versions
    ]
    signed = [head_of(h) for h in heads]
    public_key = rt.key.public_key()
    events, batches = await ppa_audit_trail(session, ppa, latest.tree_size)

    def build(sync: Any) -> bytes:
        return assemble_bundle(
            ppa.id,
            entries,
            tree(sync, latest.tree_size),
            signed,
            public_key,
            events,
            batches,
        )

    return await session.run_sync(build)


async def review_due(
    session: AsyncSession, principal: Principal, within_days: int, today: date
) -> list[tuple[PPA, Version]]:
    """Current validated versions whose next review falls before ``today + within_days``."""
    current = (
        select(Version.ppa_id, func.max(Version.number).label("number"))
        .where(Version.kind.in_([k.value for k in VALIDATED_KINDS]))
        .group_by(Version.ppa_id)
        .subquery()
    )
    readers = authz.persons_with(principal, Capability.READ_VALIDATED).with_only_columns(Person.id)
    rows = await session.execute(
        select(PPA, Version)
        .join(current, current.c.ppa_id == PPA.id)
        .join(Version, and_(Version.ppa_id == PPA.id, Version.number == current.c.number))
        .where(
            PPA.status.in_([PPAStatus.VALIDATED.value, PPAStatus.AVENANT_DRAFT.value]),
            PPA.person_id.in_(readers),
            Version.next_review <= today + timedelta(days=within_days),
        )
        .order_by(Version.next_review, PPA.id)
    )
    return [(ppa, version) for ppa, version in rows]
