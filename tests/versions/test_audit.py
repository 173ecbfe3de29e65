"""Canonical audit events, batch digests (Merkle roots) and id ranges of sealed checkpoints."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from versions.audit import (
    AuditEventRecord,
    batch_digest,
    canonical_event,
    decode_id_ranges,
    encode_id_ranges,
    event_inclusion_proof,
    verify_event_in_batch,
)
from versions.merkle import EMPTY_ROOT, ProofError

AT = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


def event(number: int, **changes: object) -> AuditEventRecord:
    values: dict[str, object] = {
        "id": number,
        "at": AT + timedelta(seconds=number),
        "actor_type": "user",
        "actor_id": f"user-{number % 3}",
        "role": "coordinator",
        "action": "ppa.read",
        "object_type": "ppa",
        "object_id": "ppa-1",
        "person_id": "person-1",
        "client_addr": "127.0.0.1",
        "outcome": "ok",
    }
    values.update(changes)
    return AuditEventRecord(**values)  # type: ignore[arg-type]


def test_canonical_event_is_stable_and_tagged() -> None:
    data = canonical_event(event(7))
    assert data.startswith(b'{"action":"ppa.read","actor_id":"user-1"')
    assert b'"type":"audit-event"' in data
    assert b'"at":"2026-11-26T09:00:07.000000Z"' in data
    assert canonical_event(event(7)) == data


@pytest.mark.parametrize(
    "field",
    [
        "id",
        "at",
        "actor_type",
        "actor_id",
        "role",
        "action",
        "object_type",
        "object_id",
        "person_id",
        "client_addr",
        "outcome",
    ],
)
def test_any_field_changes_the_digest(field: str) -> None:
    batch = [event(n) for n in range(1, 6)]
    original = batch_digest(batch)
    altered_value: object = {"id": 99, "at": AT, "actor_id": None}.get(field, "altered")
    batch[2] = event(3, **{field: altered_value})
    if field == "id":
        batch = sorted(batch, key=lambda e: e.id)
    assert batch_digest(batch) != original


def test_digest_binds_the_exact_set() -> None:
    batch = [event(n) for n in range(1, 9)]
    digest = batch_digest(batch)
    assert batch_digest(batch[:-1]) != digest
    assert batch_digest([*batch[:3], *batch[4:]]) != digest
    assert batch_digest([]) == EMPTY_ROOT.hex()
    with pytest.raises(ValueError, match="increasing"):
        batch_digest(list(reversed(batch)))
    with pytest.raises(ValueError, match="increasing"):
        batch_digest([batch[0], batch[0]])


def test_event_inclusion_proofs() -> None:
    batch = [event(n) for n in (1, 2, 3, 5, 8, 13, 21)]
    digest = batch_digest(batch)
    for position, item in enumerate(batch):
        proof = event_inclusion_proof(batch, position)
        verify_event_in_batch(item, position, len(batch), proof, digest)
        with pytest.raises(ProofError):
            verify_event_in_batch(
                event(item.id, action="forged"), position, len(batch), proof, digest
            )
        with pytest.raises(ProofError):
            verify_event_in_batch(item, (position + 1) % len(batch), len(batch), proof, digest)
    with pytest.raises(ProofError):
        verify_event_in_batch(batch[0], 0, len(batch), [], digest)
    with pytest.raises(ProofError):
        verify_event_in_batch(batch[0], 0, len(batch), event_inclusion_proof(batch, 0), "zz")


def test_id_ranges_round_trip_and_are_canonical() -> None:
    assert encode_id_ranges([5, 1, 2, 3, 7, 8, 10]) == "1-3,5,7-8,10"
    assert decode_id_ranges("1-3,5,7-8,10") == [1, 2, 3, 5, 7, 8, 10]
    assert encode_id_ranges([]) == ""
    assert decode_id_ranges("") == []
    for bad in ("3-1", "1-2,3", "01", "1,1", "2,1", "1-1", "a", "1,", "-1"):
        with pytest.raises(ValueError, match="id ranges"):
            decode_id_ranges(bad)
