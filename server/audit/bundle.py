"""The audit trail of one PPA for its audit bundle (:mod:`versions.bundle`).

The bundle shows the events whose object is the PPA (``object_type`` ``"ppa"``, ``object_id`` =
its id; such traces always name the PPA's person, which lets the query use the
``(person_id, at)`` index), never the traces of the person's other PPAs or of other persons. For
each checkpoint sealing some of them, whose leaf lies below the bundle's latest signed head, the
whole batch is read (every person's events: the batch's Merkle tree is needed to prove one event
in it) but only this PPA's events and their proofs go into the bundle. An event sealed by a
checkpoint beyond that head (sealed meanwhile) or not sealed yet is exported as not sealed.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.audit.seal import checkpoint_of, events_by_id, record_of
from server.models import PPA, AuditCheckpointRow, AuditEvent
from versions.audit import AuditEventRecord, decode_id_ranges
from versions.bundle import AUDIT_OBJECT_TYPE, SealedBatch


async def ppa_audit_trail(
    session: AsyncSession, ppa: PPA, tree_size: int
) -> tuple[list[AuditEventRecord], list[SealedBatch]]:
    """The PPA's audit events (increasing ids) and the sealed batches holding some of them
    whose checkpoint leaf lies below ``tree_size`` (the bundle's latest signed head).

    A batch whose rows were altered or deleted is returned as it now reads: the bundle's batch
    proofs then fail to reach the sealed digest, which the auditor's verification reports.
    """
    rows = await session.scalars(
        select(AuditEvent)
        .where(
            AuditEvent.person_id == ppa.person_id,
            AuditEvent.object_type == AUDIT_OBJECT_TYPE,
            AuditEvent.object_id == ppa.id,
        )
        .order_by(AuditEvent.id)
    )
    events = [record_of(row) for row in rows]
    if not events:
        return [], []
    wanted = {event.id for event in events}
    checkpoints = await session.scalars(
        select(AuditCheckpointRow)
        .where(
            AuditCheckpointRow.leaf_index < tree_size,
            AuditCheckpointRow.max_event_id >= events[0].id,
            AuditCheckpointRow.min_event_id <= events[-1].id,
        )
        .order_by(AuditCheckpointRow.seq)
    )
    batches: list[SealedBatch] = []
    for checkpoint in checkpoints:
        ids = decode_id_ranges(checkpoint.event_ids)
        if wanted.isdisjoint(ids):
            continue
        found = await events_by_id(session, ids)
        batch = tuple(record_of(found[i]) for i in ids if i in found)
        batches.append(SealedBatch(checkpoint_of(checkpoint), checkpoint.leaf_index, batch))
    return events, batches
