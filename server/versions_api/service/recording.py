"""Recording versions: the log leaf, signed head and version row of every kind, checkpoints and
named versions.

Every function of this package works inside the caller's transaction (the request session
commits; services never commit), except :func:`checkpoint`, the entry point for the
collaboration engine, which opens its own.

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
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import State

from editor.schema import PPAContent
from server.audit.seal import seal as seal_audit
from server.auth.principal import Principal
from server.ledger.log import append_leaf
from server.models import PPA, Version, VersionAccord
from server.notifications.planning import planning_event
from server.notifications.service import version_event
from server.versions_api import repository
from server.versions_api.authorship import authors_since
from server.versions_api.runtime import VersionsRuntime, runtime
from server.versions_api.service.common import (
    compare_and_set,
    content_of_state,
    lifecycle,
    lock_editable_row,
    read_state,
)
from versions.canonical import canonical_content, content_from_canonical, content_hash
from versions.chain import (
    GENESIS,
    AccordRecord,
    VersionKind,
    VersionMeta,
    VersionRef,
    chain_hash,
)
from versions.lifecycle import LifecycleEvent
from versions.merkle import LEAF_TYPE_VERSION, version_leaf_data
from versions.rules import edition_for

SYSTEM_CHECKPOINT = "system:checkpoint"
"""``created_by`` of the checkpoints the service takes on its own."""


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
        step=lambda name: rt.step(name, ppa_id),
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
        rules_edition=edition_for(new.kind),
    )
    session.add(version)
    await session.flush()
    rt.step("version", ppa_id)
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
    rt.step("accords", ppa_id)
    await _planning_changes(session, ppa_id, previous, new, number, digest)
    return version


async def _planning_changes(
    session: AsyncSession,
    ppa_id: str,
    previous: Version | None,
    new: NewVersion,
    number: int,
    digest: str,
) -> None:
    """Every new version (iteration, validation, avenant, restore) that changed the planning of
    actions tells the members they concern (not the version's authors: they know)."""
    if previous is None or previous.content_hash == digest:
        return
    ppa = await session.get(PPA, ppa_id)
    if ppa is None:
        raise RuntimeError(f"PPA {ppa_id} not found")
    await planning_event(
        session,
        ppa_id=ppa_id,
        person_id=ppa.person_id,
        number=number,
        before=content_from_canonical(previous.content),
        after=new.content,
        actor_id=None if new.created_by == SYSTEM_CHECKPOINT else new.created_by,
        also_not=new.authors,
    )


async def checkpoint_if_changed(
    session: AsyncSession,
    rt: VersionsRuntime,
    ppa_id: str,
    state: bytes,
    label: str,
    created_by: str,
    at: datetime,
) -> Version | None:
    """Record ``state`` as a checkpoint unless the last version holds the same content."""
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
        if not await compare_and_set(session, ppa_id, [PPA.locked.is_(False)], {"updated_at": at}):
            return None
        version = await checkpoint_if_changed(
            session, rt, ppa_id, state, reason, SYSTEM_CHECKPOINT, at
        )
        if version is None:
            return None
        # A new iteration, told to the cercle but not to the session's authors (they know).
        await version_event(
            session,
            "ppa.iteration",
            ppa_id,
            ppa.person_id,
            version.number,
            None,
            also_not=version.authors,
        )
        return version.number


class SessionCheckpoints:
    """:class:`server.collab.ports.CheckpointWriter` of one app: :func:`checkpoint`."""

    def __init__(self, app_state: State) -> None:
        self._state = app_state

    async def checkpoint(self, ppa_id: str) -> int | None:
        return await checkpoint(self._state, ppa_id)


async def save_named(
    session: AsyncSession, rt: VersionsRuntime, principal: Principal, ppa: PPA, label: str
) -> Version:
    """A contributor's "Enregistrer une version" (always recorded, even without changes)."""
    lifecycle(ppa, LifecycleEvent.SAVE_NAMED)
    state = await read_state(session, rt, ppa.id)
    at = rt.clock()
    await lock_editable_row(session, ppa.id, at)
    latest = await repository.latest_version(session, ppa.id)
    authors = await authors_since(
        session, ppa.id, None if latest is None else latest.created_at, at, principal.id
    )
    version = await record_version(
        session,
        rt,
        ppa.id,
        NewVersion(VersionKind.NAMED, label, state, content_of_state(state), principal.id, authors),
        at,
    )
    await version_event(
        session, "ppa.iteration", ppa.id, ppa.person_id, version.number, principal.id
    )
    return version
