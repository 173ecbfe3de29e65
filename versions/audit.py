"""Audit-trail checkpoints: canonical encoding of audit events and the digest of a sealed batch.

The server seals batches of its append-only audit trail into the global Merkle log as
``audit-checkpoint`` leaves (:class:`versions.merkle.AuditCheckpoint`). This module defines,
without any framework:

* the **canonical encoding** of one audit event (:func:`canonical_event`): canonical JSON
  (:mod:`versions.canonical`) of ``{"type": "audit-event", "id", "at", "actor_type",
  "actor_id", "role", "action", "object_type", "object_id", "person_id", "client_addr",
  "outcome"}`` - ids, actions, instants and outcomes only (the audit table holds no document
  content); ``at`` is UTC with microseconds (:func:`versions.timefmt.format_instant`);
* the **batch digest** (:func:`batch_digest`): the RFC 9162 Merkle tree hash (SHA-256, hex) of the
  batch's canonical events in increasing id order. A Merkle root rather than a flat hash of the
  lines lets a bundle prove that *one* event (a PPA's) belongs to a sealed batch with
  ``log2(batch size)`` hashes (:func:`event_inclusion_proof`, :func:`verify_event_in_batch`),
  without disclosing the other events of the batch (other persons' traces); when a verifier holds
  every event of the batch it simply recomputes the root;
* **sealed positions**: checkpoints number the sealed events ``1, 2, 3...`` in the order they were
  sealed (within a batch: by id). Checkpoint ``k`` covers positions ``first_seq..last_seq``,
  exactly ``previous.last_seq + 1`` onwards: contiguous, no gap, no overlap, by construction. The
  event ids of a batch are usually one run of ids, but not always (a transaction that allocated a
  lower id may commit after a seal: its event goes into the next batch); the digest binds the exact
  ids, and :func:`encode_id_ranges` writes the id set compactly (``"1-500,502,504-510"``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from versions.canonical import canonical_json
from versions.merkle import (
    EMPTY_ROOT,
    InMemoryLog,
    ProofError,
    hash_leaf,
    verify_inclusion,
)
from versions.timefmt import format_instant

AUDIT_EVENT_TYPE = "audit-event"
"""``type`` tag of the canonical encoding of one audit event."""

_RANGES = re.compile(r"^(0|[1-9][0-9]*)(-(0|[1-9][0-9]*))?$")


@dataclass(frozen=True)
class AuditEventRecord:
    """One audit event as sealed: who (ids), what, on which object, when, from where, outcome."""

    id: int
    at: datetime
    actor_type: str
    actor_id: str | None
    role: str | None
    action: str
    object_type: str
    object_id: str | None
    person_id: str | None
    client_addr: str | None
    outcome: str

    def to_json(self) -> dict[str, Any]:
        """Return the plain JSON object of the event (with its ``type`` tag)."""
        return {
            "type": AUDIT_EVENT_TYPE,
            "id": self.id,
            "at": format_instant(self.at),
            "actor_type": self.actor_type,
            "actor_id": self.actor_id,
            "role": self.role,
            "action": self.action,
            "object_type": self.object_type,
            "object_id": self.object_id,
            "person_id": self.person_id,
            "client_addr": self.client_addr,
            "outcome": self.outcome,
        }


def canonical_event(event: AuditEventRecord) -> bytes:
    """Return the canonical JSON bytes of one audit event (what the batch digest hashes)."""
    return canonical_json(event.to_json())


def _batch_log(events: Sequence[AuditEventRecord]) -> InMemoryLog:
    ids = [event.id for event in events]
    if ids != sorted(set(ids)):
        raise ValueError("a batch holds distinct events in increasing id order")
    log = InMemoryLog()
    for event in events:
        log.append(canonical_event(event))
    return log


def batch_digest(events: Sequence[AuditEventRecord]) -> str:
    """Return the hex Merkle root of the canonical events of a batch (increasing ids)."""
    if not events:
        return EMPTY_ROOT.hex()
    return _batch_log(events).tree.root().hex()


def event_inclusion_proof(events: Sequence[AuditEventRecord], position: int) -> list[bytes]:
    """Return the inclusion proof of ``events[position]`` in the batch's Merkle tree."""
    return _batch_log(events).tree.inclusion_proof(position)


def verify_event_in_batch(
    event: AuditEventRecord, position: int, batch_size: int, proof: Sequence[bytes], digest: str
) -> None:
    """Check that ``event`` is at ``position`` of a sealed batch of ``batch_size`` events whose
    :func:`batch_digest` is ``digest``; raise :class:`~versions.merkle.ProofError` otherwise."""
    try:
        root = bytes.fromhex(digest)
    except ValueError as exc:
        raise ProofError("digest is not hex") from exc
    verify_inclusion(hash_leaf(canonical_event(event)), position, batch_size, proof, root)


def encode_id_ranges(ids: Iterable[int]) -> str:
    """Return the canonical text of a set of ids: sorted runs ``a-b`` or ``a``, comma-separated."""
    ordered = sorted(set(ids))
    parts: list[str] = []
    index = 0
    while index < len(ordered):
        start = stop = ordered[index]
        while index + 1 < len(ordered) and ordered[index + 1] == stop + 1:
            index += 1
            stop = ordered[index]
        parts.append(str(start) if start == stop else f"{start}-{stop}")
        index += 1
    return ",".join(parts)


def decode_id_ranges(text: str) -> list[int]:
    """Return the sorted ids of :func:`encode_id_ranges` text; ``ValueError`` unless canonical."""
    if text == "":
        return []
    ids: list[int] = []
    for part in text.split(","):
        match = _RANGES.match(part)
        if match is None:
            raise ValueError("malformed id ranges")
        start = int(match.group(1))
        stop = int(match.group(3)) if match.group(3) is not None else start
        if stop < start:
            raise ValueError("malformed id ranges")
        ids.extend(range(start, stop + 1))
    if encode_id_ranges(ids) != text:
        raise ValueError("id ranges not in canonical form")
    return ids
