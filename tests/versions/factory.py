"""Small histories for the versions tests (a PPA, its versions, a shared log, heads)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from editor.schema import PPAContent
from tests.factories import small_ppa
from versions.audit import AuditEventRecord, batch_digest
from versions.bundle import SealedBatch
from versions.canonical import canonical_content, content_hash
from versions.chain import (
    AccordMode,
    AccordRecord,
    AccordType,
    VersionKind,
    VersionMeta,
    VersionRecord,
    make_record,
)
from versions.merkle import (
    AuditCheckpoint,
    InMemoryLog,
    audit_checkpoint_leaf_data,
    version_leaf_data,
)
from versions.signing import SignedTreeHead, generate_private_key, sign_tree_head

T0 = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)


@dataclass
class History:
    """A PPA's versions sealed in a log shared with other PPAs, and signed heads."""

    key: Ed25519PrivateKey
    log: InMemoryLog
    records: list[VersionRecord]
    contents: list[bytes]
    leaf_indexes: list[int]
    heads: list[SignedTreeHead]
    sealed: list[SealedBatch] = field(default_factory=list)


DEFAULT_KINDS = (
    VersionKind.CHECKPOINT,
    VersionKind.NAMED,
    VersionKind.VALIDATED,
    VersionKind.AVENANT,
)


def history(
    n_versions: int = 3,
    kinds: Sequence[VersionKind] = DEFAULT_KINDS,
    content: PPAContent | None = None,
    batches: Sequence[Sequence[AuditEventRecord]] = (),
) -> History:
    """Build ``n_versions`` versions of PPA ``ppa-1`` interleaved with other leaves, with heads.

    ``kinds`` cycle over the versions; a ``validated`` version carries two recorded accords.
    ``batches[i]`` (if given) are the audit events really sealed just before version ``i + 1``
    (otherwise a checkpoint leaf with a dummy digest stands there).
    """
    key = generate_private_key()
    log = InMemoryLog()
    records: list[VersionRecord] = []
    contents: list[bytes] = []
    indexes: list[int] = []
    heads: list[SignedTreeHead] = []
    sealed: list[SealedBatch] = []
    content = small_ppa() if content is None else content
    for number in range(1, n_versions + 1):
        at = T0 + timedelta(days=number)
        # Other PPAs and the audit trail share the log.
        log.append(version_leaf_data(f"other-{number}", 1, "a" * 64, "b" * 64))
        if number <= len(batches):
            events = tuple(batches[number - 1])
            first = sealed[-1].checkpoint.last_seq + 1 if sealed else 1
            checkpoint = AuditCheckpoint(first, first + len(events) - 1, batch_digest(events), at)
            index = log.append(audit_checkpoint_leaf_data(checkpoint))
            sealed.append(SealedBatch(checkpoint, index, events))
        else:
            log.append(
                audit_checkpoint_leaf_data(AuditCheckpoint(number, number + 9, "c" * 64, at))
            )
        if number > 1:
            content = content.model_copy(deep=True)
            content.projet_de_vie += f" Étape {number}."
        kind = kinds[(number - 1) % len(kinds)]
        accords: tuple[AccordRecord, ...] = ()
        if kind is VersionKind.VALIDATED:
            accords = (
                AccordRecord(AccordType.STRUCTURE, AccordMode.SIGNE, "coord-1", "coord-1", at),
                AccordRecord(
                    AccordType.PERSONNE, AccordMode.ORAL, "Léa", "coord-1", at, temoin="Marc"
                ),
            )
        meta = VersionMeta(
            ppa_id="ppa-1",
            number=number,
            kind=kind,
            label=f"Version {number}",
            created_at=at,
            created_by="member-1",
            parent_number=number - 1 or None,
            accords=accords,
        )
        data = canonical_content(content)
        record = make_record(meta, content_hash(data), records[-1] if records else None)
        records.append(record)
        contents.append(data)
        indexes.append(
            log.append(version_leaf_data("ppa-1", number, record.content_hash, record.chain_hash))
        )
        heads.append(sign_tree_head(key, log.size(), log.tree.root(), at + timedelta(minutes=1)))
    return History(key, log, records, contents, indexes, heads, sealed)
