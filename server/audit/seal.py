"""Sealing the audit trail into the global Merkle log, and checking the sealed trail.

A seal takes the committed ``audit_events`` no checkpoint covers yet, computes their batch digest
(:mod:`versions.audit`), appends one ``audit-checkpoint`` leaf and signs a new tree head, and
records an ``audit_checkpoints`` row, all in the caller's transaction. It runs:

* at every version append, *before* the version's leaf (so the version's signed head also covers
  every audit event committed before it): :func:`server.versions_api.service.record_version`;
* on demand: ``ppa audit seal`` and ``POST /api/log/audit-checkpoints`` (auditors, admins), so an
  idle service still seals.

Concurrency (documented choice). Seals are serialised with every log append (PostgreSQL advisory
lock; SQLite's single writer). Under that lock a seal reads the *committed* rows only, and takes
every one that no checkpoint covers - it never seals "a range of ids". On PostgreSQL an id comes
from a sequence when the row is inserted, so a transaction that got a lower id may commit after a
seal that took higher ids: its event is not lost, the next seal takes it (its id lies below the
previous batch's highest id: a *late* event). Each batch's digest binds its exact ids and the row
keeps them (``event_ids``), so verification never guesses. To find late events cheaply a seal only
looks at ids above the highest id sealed :data:`LATE_WINDOW` before (transactions that trace are
request-long; one lasting longer than that would leave its event unsealed, which
:func:`verify_trail` reports). On SQLite ids are given under the write lock, in commit order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.db import utcnow
from server.ledger.log import append_leaf, serialise_appends
from server.models import AuditCheckpointRow, AuditEvent, LogLeaf
from versions.audit import (
    AuditEventRecord,
    batch_digest,
    decode_id_ranges,
    encode_id_ranges,
)
from versions.merkle import (
    LEAF_TYPE_AUDIT_CHECKPOINT,
    AuditCheckpoint,
    InMemoryLog,
    audit_checkpoint_leaf_data,
    hash_leaf,
)
from versions.signing import SignedTreeHead

LATE_WINDOW = timedelta(hours=1)
"""How long after a seal an event with a lower id may still commit and be sealed later."""

MAX_BATCH = 20_000
"""Most events one checkpoint seals (``ppa audit seal`` loops until nothing is pending)."""


def record_of(event: AuditEvent) -> AuditEventRecord:
    """The framework-free record of an ``audit_events`` row."""
    return AuditEventRecord(
        id=event.id,
        at=event.at,
        actor_type=event.actor_type,
        actor_id=event.actor_id,
        role=event.role,
        action=event.action,
        object_type=event.object_type,
        object_id=event.object_id,
        person_id=event.person_id,
        client_addr=event.client_addr,
        outcome=event.outcome,
    )


def checkpoint_of(row: AuditCheckpointRow) -> AuditCheckpoint:
    """The checkpoint (leaf content) a row records."""
    return AuditCheckpoint(row.first_seq, row.last_seq, row.events_digest, row.at)


async def latest_checkpoint(session: AsyncSession) -> AuditCheckpointRow | None:
    return await session.scalar(
        select(AuditCheckpointRow).order_by(AuditCheckpointRow.seq.desc()).limit(1)
    )


async def pending_events(session: AsyncSession, limit: int = MAX_BATCH) -> list[AuditEvent]:
    """Committed events no checkpoint covers (oldest id first), at most ``limit``."""
    floor = await session.scalar(
        select(func.max(AuditCheckpointRow.max_event_id)).where(
            AuditCheckpointRow.at < utcnow() - LATE_WINDOW
        )
    )
    floor = int(floor or 0)
    sealed: set[int] = set()
    for ranges in await session.scalars(
        select(AuditCheckpointRow.event_ids).where(AuditCheckpointRow.max_event_id > floor)
    ):
        sealed.update(decode_id_ranges(ranges))
    # The ids first (the window holds every event of the last hour, sealed or not), then the
    # rows of the unsealed ones only: a seal costs what it seals, not the whole window.
    unsealed: list[int] = []
    after = floor
    while len(unsealed) < limit:
        ids = list(
            await session.scalars(
                select(AuditEvent.id)
                .where(AuditEvent.id > after)
                .order_by(AuditEvent.id)
                .limit(5000)
            )
        )
        if not ids:
            break
        unsealed.extend(i for i in ids if i not in sealed)
        after = ids[-1]
    del unsealed[limit:]
    found: list[AuditEvent] = []
    for start in range(0, len(unsealed), 1000):
        chunk = unsealed[start : start + 1000]
        found.extend(
            await session.scalars(
                select(AuditEvent).where(AuditEvent.id.in_(chunk)).order_by(AuditEvent.id)
            )
        )
    return found


async def seal(
    session: AsyncSession,
    key: Ed25519PrivateKey,
    *,
    publish_dir: Path | None = None,
    limit: int = MAX_BATCH,
) -> AuditCheckpointRow | None:
    """Seal the pending audit events into one checkpoint leaf (``None`` if nothing is pending)."""
    await serialise_appends(session)
    events = await pending_events(session, limit)
    if not events:
        return None
    previous = await latest_checkpoint(session)
    first = 1 if previous is None else previous.last_seq + 1
    at = utcnow()
    records = [record_of(e) for e in events]
    checkpoint = AuditCheckpoint(first, first + len(records) - 1, batch_digest(records), at)
    leaf_index, _head = await append_leaf(
        session,
        key,
        audit_checkpoint_leaf_data(checkpoint),
        kind=LEAF_TYPE_AUDIT_CHECKPOINT,
        ppa_id=None,
        publish_dir=publish_dir,
    )
    row = AuditCheckpointRow(
        seq=1 if previous is None else previous.seq + 1,
        first_seq=checkpoint.first_seq,
        last_seq=checkpoint.last_seq,
        min_event_id=records[0].id,
        max_event_id=records[-1].id,
        event_ids=encode_id_ranges(r.id for r in records),
        events_digest=checkpoint.events_digest,
        at=at,
        leaf_index=leaf_index,
    )
    session.add(row)
    await session.flush()
    return row


# -- verification of the sealed trail --------------------------------------------------------


@dataclass
class TrailReport:
    """Outcome of :func:`verify_trail`: the first broken checkpoint (if any) and a summary."""

    checkpoints: int = 0
    events: int = 0
    unsealed: int = 0
    broken_seq: int | None = None
    problem: str = ""
    problem_fr: str = ""
    known_heads: int = 0

    @property
    def ok(self) -> bool:
        return self.broken_seq is None and not self.problem

    def render(self) -> str:
        if self.ok:
            return (
                f"Journal d'audit intègre : {self.checkpoints} point(s) de scellement, "
                f"{self.events} événement(s) scellé(s), {self.unsealed} pas encore scellé(s).\n"
                f"Audit trail intact: {self.checkpoints} checkpoint(s), {self.events} sealed "
                f"event(s), {self.unsealed} not sealed yet."
                + (
                    f"\n{self.known_heads} tête(s) signée(s) connue(s) vérifiée(s) / "
                    "known signed head(s) checked."
                    if self.known_heads
                    else ""
                )
            )
        where_fr = f"point de scellement n° {self.broken_seq}" if self.broken_seq else "journal"
        where = f"checkpoint {self.broken_seq}" if self.broken_seq else "log"
        return (
            f"Journal d'audit ALTÉRÉ - premier maillon rompu : {where_fr} : {self.problem_fr}\n"
            f"Audit trail BROKEN - first broken link: {where}: {self.problem}"
        )


class _BrokenLinkError(Exception):
    def __init__(self, problem: str, problem_fr: str) -> None:
        super().__init__(problem)
        self.problem = problem
        self.problem_fr = problem_fr


async def events_by_id(session: AsyncSession, ids: Sequence[int]) -> dict[int, AuditEvent]:
    """The audit events with these ids (read by chunks of 1,000), keyed by id."""
    found: dict[int, AuditEvent] = {}
    for start in range(0, len(ids), 1000):
        chunk = ids[start : start + 1000]
        for event in await session.scalars(select(AuditEvent).where(AuditEvent.id.in_(chunk))):
            found[event.id] = event
    return found


async def _check_checkpoint(
    session: AsyncSession, row: AuditCheckpointRow, expected_first: int, sealed: set[int]
) -> int:
    if row.first_seq != expected_first or row.last_seq < row.first_seq:
        raise _BrokenLinkError(
            "sealed positions not contiguous with the previous checkpoint",
            "positions non contiguës avec le point précédent",
        )
    try:
        ids = decode_id_ranges(row.event_ids)
    except ValueError as exc:
        raise _BrokenLinkError("event id set unreadable", "liste des événements illisible") from exc
    if len(ids) != row.last_seq - row.first_seq + 1 or sealed.intersection(ids):
        raise _BrokenLinkError(
            "event id set does not match the sealed positions",
            "liste des événements ≠ positions scellées",
        )
    events = await events_by_id(session, ids)
    if missing := [i for i in ids if i not in events]:
        raise _BrokenLinkError(
            f"sealed event {missing[0]} deleted", f"événement scellé {missing[0]} supprimé"
        )
    digest = batch_digest([record_of(events[i]) for i in ids])
    leaf = await session.get(LogLeaf, row.leaf_index)
    expected = audit_checkpoint_leaf_data(
        AuditCheckpoint(row.first_seq, row.last_seq, digest, row.at)
    )
    if leaf is None or leaf.kind != LEAF_TYPE_AUDIT_CHECKPOINT:
        raise _BrokenLinkError("log leaf missing", "feuille du journal absente")
    if leaf.data != expected or leaf.leaf_hash != hash_leaf(leaf.data):
        raise _BrokenLinkError(
            "events differ from the sealed digest (altered, inserted or removed rows)",
            "les événements ne correspondent plus à l'empreinte scellée (lignes modifiées, "
            "ajoutées ou supprimées)",
        )
    sealed.update(ids)
    return len(ids)


async def verify_trail(
    session: AsyncSession, known_heads: Sequence[SignedTreeHead] = ()
) -> TrailReport:
    """Recompute every sealed batch from ``audit_events`` and compare it with its log leaf.

    ``known_heads`` (published heads, e.g. ``sth-<size>.json`` files) are checked against the
    root recomputed from the stored leaf *data* (stored hashes and nodes are not trusted), which
    catches a log rewritten and re-signed with the service's own key.
    """
    report = TrailReport()
    sealed: set[int] = set()
    expected_first = 1
    rows = await session.scalars(select(AuditCheckpointRow).order_by(AuditCheckpointRow.seq))
    for number, row in enumerate(rows, start=1):
        try:
            if row.seq != number:
                raise _BrokenLinkError("checkpoint numbering has a gap", "numérotation interrompue")
            report.events += await _check_checkpoint(session, row, expected_first, sealed)
        except _BrokenLinkError as broken:
            report.broken_seq = row.seq
            report.problem, report.problem_fr = broken.problem, broken.problem_fr
            return report
        expected_first = row.last_seq + 1
        report.checkpoints += 1
    total = int(await session.scalar(select(func.count()).select_from(AuditEvent)) or 0)
    report.unsealed = total - len(sealed)
    if known_heads:
        log = InMemoryLog()
        for data in await session.scalars(select(LogLeaf.data).order_by(LogLeaf.leaf_index)):
            log.append(data)
        for known in known_heads:
            if known.tree_size > log.size() or log.tree.root(known.tree_size) != known.root_hash:
                report.problem = (
                    f"log differs from the published signed head of size {known.tree_size}"
                )
                report.problem_fr = (
                    f"le journal contredit la tête signée publiée de taille {known.tree_size} "
                    "(historique réécrit)"
                )
                return report
            report.known_heads += 1
    return report
