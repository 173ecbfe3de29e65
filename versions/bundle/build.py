"""Building an audit bundle from versions, signed heads, proofs and the PPA's audit trail."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from versions.audit import AuditEventRecord, canonical_event
from versions.bundle.layout import BUNDLE_FORMAT, member_name, zip_members
from versions.canonical import canonical_json
from versions.chain import VersionRecord
from versions.merkle import (
    AuditCheckpoint,
    InMemoryLog,
    MerkleTree,
    audit_checkpoint_leaf_data,
    version_leaf_data,
)
from versions.signing import SignedTreeHead, key_id, public_key_to_pem


@dataclass(frozen=True)
class BundleVersion:
    """One version as exported: its record, stored canonical content, leaf index, inclusion proof.

    ``inclusion_proof`` proves leaf ``leaf_index`` into the latest signed head of the bundle.
    """

    record: VersionRecord
    content: bytes
    leaf_index: int
    inclusion_proof: tuple[bytes, ...]


@dataclass(frozen=True)
class BundleCheckpoint:
    """An audit checkpoint as exported: its leaf content, leaf index and inclusion proof.

    ``inclusion_proof`` proves leaf ``leaf_index`` into the latest signed head of the bundle.
    """

    checkpoint: AuditCheckpoint
    leaf_index: int
    inclusion_proof: tuple[bytes, ...]


@dataclass(frozen=True)
class BundleAuditEvent:
    """An audit event of the PPA as exported, with its proof into a checkpoint's batch.

    ``checkpoint`` is the 1-based number of the bundle's checkpoint sealing it (``None``: not
    sealed yet); ``position`` is its index in that batch (increasing ids) and ``batch_proof`` the
    RFC 9162 inclusion proof of its canonical encoding into the batch digest.
    """

    event: AuditEventRecord
    checkpoint: int | None = None
    position: int = 0
    batch_proof: tuple[bytes, ...] = ()


@dataclass(frozen=True)
class SealedBatch:
    """A sealed batch, for :func:`assemble_bundle`: its checkpoint, leaf index and every event
    of the batch (all persons', increasing ids; only the PPA's go into the bundle)."""

    checkpoint: AuditCheckpoint
    leaf_index: int
    events: tuple[AuditEventRecord, ...]


def _proof_json(path: Sequence[bytes]) -> list[str]:
    return [node.hex() for node in path]


def _inclusion_json(leaf_index: int, tree_size: int, path: Sequence[bytes]) -> bytes:
    """The ``inclusion.json`` member of a log leaf (a version or an audit checkpoint)."""
    return canonical_json(
        {"leaf_index": leaf_index, "tree_size": tree_size, "path": _proof_json(path)}
    )


def build_bundle(
    ppa_id: str,
    versions: Sequence[BundleVersion],
    heads: Sequence[SignedTreeHead],
    consistency_proofs: Sequence[Sequence[bytes]],
    public_key: Ed25519PublicKey,
    audit_events: Sequence[BundleAuditEvent] = (),
    audit_checkpoints: Sequence[BundleCheckpoint] = (),
) -> bytes:
    """Return the zip bytes of an audit bundle built from plain data (deterministic output).

    ``heads`` are oldest first and need at least one (the latest, which every inclusion proof
    targets); ``consistency_proofs[i]`` goes from ``heads[i]`` to ``heads[i + 1]``.
    ``audit_events`` (increasing ids) refer to ``audit_checkpoints`` (oldest first) by number.
    """
    if not heads:
        raise ValueError("an audit bundle needs at least one signed tree head")
    if len(consistency_proofs) != len(heads) - 1:
        raise ValueError("one consistency proof between each pair of successive heads")
    latest = heads[-1]
    members: dict[str, bytes] = {
        "manifest.json": canonical_json(
            {
                "format": BUNDLE_FORMAT,
                "ppa_id": ppa_id,
                "key_id": key_id(public_key),
                "versions": len(versions),
                "heads": len(heads),
                "tree_size": latest.tree_size,
                "audit_events": len(audit_events),
                "audit_checkpoints": len(audit_checkpoints),
            }
        ),
        "public_key.pem": public_key_to_pem(public_key),
    }
    for number, head in enumerate(heads, start=1):
        members[member_name("heads", number, ".json")] = canonical_json(head.to_json())
    pairs = zip(itertools.pairwise(heads), consistency_proofs, strict=True)
    for number, ((old, new), proof) in enumerate(pairs, start=1):
        members[member_name("consistency", number, ".json")] = canonical_json(
            {"old_size": old.tree_size, "new_size": new.tree_size, "path": _proof_json(proof)}
        )
    for version in versions:
        record = version.record
        base = member_name("versions", record.meta.number)
        members[f"{base}/content.json"] = version.content
        members[f"{base}/meta.json"] = canonical_json(record.to_json(with_accords=False))
        members[f"{base}/accords.json"] = canonical_json(
            [accord.to_json() for accord in record.meta.accords]
        )
        members[f"{base}/leaf.json"] = version_leaf_data(
            record.meta.ppa_id, record.meta.number, record.content_hash, record.chain_hash
        )
        members[f"{base}/inclusion.json"] = _inclusion_json(
            version.leaf_index, latest.tree_size, version.inclusion_proof
        )
    for number, sealed in enumerate(audit_checkpoints, start=1):
        base = member_name("audit/checkpoints", number)
        members[f"{base}/leaf.json"] = audit_checkpoint_leaf_data(sealed.checkpoint)
        members[f"{base}/inclusion.json"] = _inclusion_json(
            sealed.leaf_index, latest.tree_size, sealed.inclusion_proof
        )
    for number, shown in enumerate(audit_events, start=1):
        base = member_name("audit/events", number)
        members[f"{base}/event.json"] = canonical_event(shown.event)
        members[f"{base}/seal.json"] = canonical_json(
            {
                "checkpoint": shown.checkpoint,
                "position": None if shown.checkpoint is None else shown.position,
                "path": _proof_json(shown.batch_proof) if shown.checkpoint is not None else [],
            }
        )
    return zip_members(members)


def assemble_bundle(
    ppa_id: str,
    versions: Sequence[tuple[VersionRecord, bytes, int]],
    tree: MerkleTree,
    heads: Sequence[SignedTreeHead],
    public_key: Ed25519PublicKey,
    audit_events: Sequence[AuditEventRecord] = (),
    audit_batches: Sequence[SealedBatch] = (),
) -> bytes:
    """Build a bundle computing the proofs from a :class:`~versions.merkle.MerkleTree`.

    ``versions`` are ``(record, canonical content, leaf index)``; inclusion proofs target the
    last of ``heads`` and consistency proofs link successive heads. ``audit_events`` are the
    PPA's events to show; ``audit_batches`` the sealed batches holding some of them (leaves
    below the latest head). An event found in no batch is exported as not sealed yet; a batch
    holding none of the events is left out.
    """
    if not heads:
        raise ValueError("an audit bundle needs at least one signed tree head")
    size = heads[-1].tree_size
    bundle_events, bundle_checkpoints = _audit_entries(tree, size, audit_events, audit_batches)
    bundle_versions = [
        BundleVersion(record, content, index, tuple(tree.inclusion_proof(index, size)))
        for record, content, index in versions
    ]
    proofs = [
        tree.consistency_proof(old.tree_size, new.tree_size)
        for old, new in itertools.pairwise(heads)
    ]
    return build_bundle(
        ppa_id,
        bundle_versions,
        heads,
        proofs,
        public_key,
        bundle_events,
        bundle_checkpoints,
    )


def _audit_entries(
    tree: MerkleTree,
    size: int,
    events: Sequence[AuditEventRecord],
    batches: Sequence[SealedBatch],
) -> tuple[list[BundleAuditEvent], list[BundleCheckpoint]]:
    shown = sorted(events, key=lambda event: event.id)
    wanted = {event.id for event in shown}
    if len(wanted) != len(shown):
        raise ValueError("audit events must be distinct")
    sealing: dict[int, tuple[int, int, tuple[bytes, ...]]] = {}
    checkpoints: list[BundleCheckpoint] = []
    for batch in sorted(batches, key=lambda b: b.leaf_index):
        if batch.leaf_index >= size:
            raise ValueError("a sealed batch lies beyond the latest signed head")
        positions = [i for i, event in enumerate(batch.events) if event.id in wanted]
        if not positions:
            continue
        log = InMemoryLog()
        for event in batch.events:
            log.append(canonical_event(event))
        checkpoints.append(
            BundleCheckpoint(
                batch.checkpoint,
                batch.leaf_index,
                tuple(tree.inclusion_proof(batch.leaf_index, size)),
            )
        )
        for position in positions:
            proof = tuple(log.tree.inclusion_proof(position))
            sealing[batch.events[position].id] = (len(checkpoints), position, proof)
    bundle_events = []
    for event in shown:
        if event.id in sealing:
            number, position, proof = sealing[event.id]
            bundle_events.append(BundleAuditEvent(event, number, position, proof))
        else:
            bundle_events.append(BundleAuditEvent(event))
    return bundle_events, checkpoints
