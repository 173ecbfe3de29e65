"""Audit bundle of a PPA: a zip an auditor verifies offline, naming the first broken link.

Layout (every JSON member is canonical JSON, :mod:`versions.canonical`; ``NNNN`` is 1-based and
zero-padded)::

    manifest.json                 {"format", "ppa_id", "key_id", "versions", "heads", "tree_size",
                                   "audit_events", "audit_checkpoints"}
    public_key.pem                the service's Ed25519 public key (SubjectPublicKeyInfo PEM)
    heads/NNNN.json               signed tree heads, oldest first (the last one is "latest")
    consistency/NNNN.json         {"old_size", "new_size", "path"}: head NNNN -> head NNNN+1
    versions/NNNN/content.json    the version's canonical content, byte for byte as stored
    versions/NNNN/meta.json       metadata and hashes (VersionRecord without the accords)
    versions/NNNN/accords.json    agreements recorded with the version ([] if none)
    versions/NNNN/leaf.json       the version's leaf data in the global log (bytes as hashed)
    versions/NNNN/inclusion.json  {"leaf_index", "tree_size", "path"}: leaf -> latest head
    audit/checkpoints/KKKK/leaf.json       an audit checkpoint's leaf data (bytes as hashed)
    audit/checkpoints/KKKK/inclusion.json  {"leaf_index", "tree_size", "path"}: -> latest head
    audit/events/NNNN/event.json  an audit event of the PPA, canonical (versions.audit)
    audit/events/NNNN/seal.json   {"checkpoint", "position", "path"}: event -> batch digest of
                                  checkpoint KKKK = "checkpoint" (all null/[] when not sealed yet)

The PPA's audit events are those whose object is the PPA (``object_type`` ``"ppa"``,
``object_id`` = the PPA's id: reads, saves, validations, live writes, exports of this PPA), in
increasing id order; never the traces of the person's other PPAs or of other persons. An event
carries ids, action, instant and outcome only (the audit table holds no document content). A
sealed event comes with the RFC 9162 inclusion proof of its canonical encoding in its batch
(:func:`versions.audit.batch_digest`; the batch size is ``last_seq - first_seq + 1`` of the
checkpoint), and the checkpoint leaf with its inclusion proof into the bundle's latest signed head
- the same head that covers the versions. Only the checkpoints sealing at least one shown event
are included, oldest first. Events not sealed yet (committed after the last seal, or sealed after
the latest head) are listed with a null seal: the verifier counts them as "non scellés", not as
failures. Format 1 bundles (no ``audit/`` members, no audit counts in the manifest) still verify.
What :func:`verify_bundle` checks, in this order (the first failure is "the first broken link"):

1. the archive: readable, no duplicate, missing or unexpected member, sizes within limits;
   the manifest;
2. the public key: an Ed25519 key in canonical PEM whose key id is the manifest's (and the
   ``trusted_key_id`` given by the auditor, who should compare it with the published one);
3. every signed tree head: well-formed, signed by that key, sizes and times never going back;
4. every consistency proof between successive heads (RFC 9162 section 2.1.4.2);
5. every version in order: content hash of the stored bytes, metadata and accords well-formed,
   numbering, link to the previous chain hash, recomputed chain hash, leaf data equal to the
   version's leaf encoding, inclusion of that leaf into the latest signed head (RFC 9162 section
   2.1.3.2), leaf indexes increasing;
6. every audit checkpoint in order: leaf data well-formed and canonical, sealed positions after
   the previous checkpoint's, inclusion of its leaf into the latest signed head, leaf indexes
   increasing;
7. every audit event in order: canonical encoding, about this PPA, ids increasing, and for a
   sealed one the inclusion proof of its encoding into its checkpoint's batch digest.

What the audit part proves: each shown event is intact and was sealed in a batch the signed log
covers (so it existed, as shown, when that checkpoint was sealed). It does *not* prove
completeness: a batch mixes every person's traces, the bundle holds only this PPA's subset, and
a checkpoint does not commit to per-PPA counts, so an event of this PPA left out of the bundle
is not detected here (``ppa audit verify-trail`` recomputes whole batches on the server's
database).

Every member is parsed strictly (canonical bytes, exact keys, lowercase hex), so flipping any
byte of any member is detected. The bundle carries its own public key: the signature proves who
signed only if the auditor checks the key id against the one the service publishes.
"""

from __future__ import annotations

import io
import itertools
import re
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, TypeVar

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from versions.audit import (
    AUDIT_EVENT_TYPE,
    AuditEventRecord,
    canonical_event,
    verify_event_in_batch,
)
from versions.canonical import CanonicalError, canonical_json, parse_canonical, sha256_hex
from versions.chain import GENESIS, AccordRecord, ChainError, VersionRecord, chain_hash
from versions.merkle import (
    LEAF_TYPE_AUDIT_CHECKPOINT,
    AuditCheckpoint,
    InMemoryLog,
    MerkleTree,
    ProofError,
    audit_checkpoint_leaf_data,
    hash_leaf,
    verify_consistency,
    verify_inclusion,
    version_leaf_data,
)
from versions.signing import (
    SignatureError,
    SignedTreeHead,
    key_id,
    load_public_key_pem,
    public_key_to_pem,
    verify_tree_head,
)
from versions.timefmt import parse_instant

_T = TypeVar("_T")

BUNDLE_FORMAT = "ppa-collab-audit-bundle/2"
"""Value of ``format`` in the manifest of the bundles built now (with the PPA's audit trail)."""

BUNDLE_FORMAT_V1 = "ppa-collab-audit-bundle/1"
"""Format of the earlier bundles (versions and proofs only), still verified."""

AUDIT_OBJECT_TYPE = "ppa"
"""``object_type`` of the audit events a PPA's bundle shows (with ``object_id`` = the PPA)."""

MAX_MEMBERS = 100_000
"""Most members a bundle may hold (refuses zip bombs)."""

MAX_TOTAL_BYTES = 512 * 1024 * 1024
"""Most uncompressed bytes a bundle may hold."""

_HEX32 = re.compile(r"^[0-9a-f]{64}$")
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)


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


def _name(prefix: str, number: int, suffix: str = "") -> str:
    return f"{prefix}/{number:04d}{suffix}"


def _proof_json(path: Sequence[bytes]) -> list[str]:
    return [node.hex() for node in path]


def _inclusion_json(leaf_index: int, tree_size: int, path: Sequence[bytes]) -> bytes:
    """The ``inclusion.json`` member of a log leaf (a version or an audit checkpoint)."""
    return canonical_json(
        {"leaf_index": leaf_index, "tree_size": tree_size, "path": _proof_json(path)}
    )


_AUDIT_EVENT_KEYS = {"type", *(f.name for f in fields(AuditEventRecord))}
"""The keys of an audit event's canonical encoding (its type tag and its fields)."""


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
        members[_name("heads", number, ".json")] = canonical_json(head.to_json())
    pairs = zip(itertools.pairwise(heads), consistency_proofs, strict=True)
    for number, ((old, new), proof) in enumerate(pairs, start=1):
        members[_name("consistency", number, ".json")] = canonical_json(
            {"old_size": old.tree_size, "new_size": new.tree_size, "path": _proof_json(proof)}
        )
    for version in versions:
        record = version.record
        base = _name("versions", record.meta.number)
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
        base = _name("audit/checkpoints", number)
        members[f"{base}/leaf.json"] = audit_checkpoint_leaf_data(sealed.checkpoint)
        members[f"{base}/inclusion.json"] = _inclusion_json(
            sealed.leaf_index, latest.tree_size, sealed.inclusion_proof
        )
    for number, shown in enumerate(audit_events, start=1):
        base = _name("audit/events", number)
        members[f"{base}/event.json"] = canonical_event(shown.event)
        members[f"{base}/seal.json"] = canonical_json(
            {
                "checkpoint": shown.checkpoint,
                "position": None if shown.checkpoint is None else shown.position,
                "path": _proof_json(shown.batch_proof) if shown.checkpoint is not None else [],
            }
        )
    return zip_members(members)


def zip_members(members: Mapping[str, bytes]) -> bytes:
    """Return a deterministic zip of ``members`` (sorted names, fixed dates, deflated)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(members):
            info = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, members[name])
    return buffer.getvalue()


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


@dataclass(frozen=True)
class Finding:
    """A broken link: what (``subject``) and why (``problem``), in English and French."""

    subject: str
    problem: str
    subject_fr: str
    problem_fr: str

    def __str__(self) -> str:
        """Return ``subject: problem`` in English."""
        return f"{self.subject}: {self.problem}"

    def fr(self) -> str:
        """Return ``sujet : problème`` in French."""
        return f"{self.subject_fr} : {self.problem_fr}"


@dataclass(frozen=True)
class Report:
    """Outcome of :func:`verify_bundle`: the findings (first = first broken link) and a summary."""

    findings: tuple[Finding, ...]
    ppa_id: str | None = None
    versions: int = 0
    heads: int = 0
    tree_size: int | None = None
    key_id: str | None = None
    checked: tuple[str, ...] = field(default=())
    audit_trail: bool = False
    audit_events: int = 0
    audit_sealed: int = 0
    audit_unsealed: int = 0
    audit_checkpoints: int = 0

    @property
    def ok(self) -> bool:
        """Return whether the bundle is intact."""
        return not self.findings

    @property
    def first_broken(self) -> Finding | None:
        """Return the first broken link, or ``None`` when intact."""
        return self.findings[0] if self.findings else None

    @property
    def exit_code(self) -> int:
        """Return the command's exit status: 0 intact, 1 broken."""
        return 0 if self.ok else 1

    def _render_audit(self) -> str:
        if not self.audit_trail:
            return (
                "Journal d'audit : absent (bundle au format 1).\n"
                "Audit trail: not in the bundle (format 1).\n"
            )
        return (
            f"Journal d'audit du PPA : {self.audit_sealed} événement(s) vérifié(s) "
            f"(scellé(s) dans {self.audit_checkpoints} point(s) de scellement), "
            f"{self.audit_unsealed} non scellé(s).\n"
            f"PPA audit trail: {self.audit_sealed} event(s) verified (sealed in "
            f"{self.audit_checkpoints} checkpoint(s)), {self.audit_unsealed} not sealed yet.\n"
        )

    def render(self) -> str:
        """Return the short French + English report printed by ``ppa audit verify``."""
        if self.ok:
            return (
                f"Bundle d'audit intègre : PPA {self.ppa_id}, {self.versions} version(s), "
                f"{self.heads} tête(s) d'arbre signée(s), journal de taille {self.tree_size}.\n"
                f"Audit bundle intact: PPA {self.ppa_id}, {self.versions} version(s), "
                f"{self.heads} signed tree head(s), log size {self.tree_size}.\n"
                + self._render_audit()
                + f"Clé / key id : {self.key_id} (à comparer avec la clé publiée / compare it "
                "with the published key)."
            )
        first = self.findings[0]
        more = len(self.findings) - 1
        return (
            f"Bundle d'audit ALTÉRÉ - premier maillon rompu : {first.fr()}"
            + (f" ({more} autre(s) anomalie(s))" if more else "")
            + f"\nAudit bundle BROKEN - first broken link: {first}"
            + (f" ({more} more problem(s))" if more else "")
        )


class _Broken(Exception):
    def __init__(self, finding: Finding) -> None:
        super().__init__(str(finding))
        self.finding = finding


@dataclass
class _Subject:
    en: str
    fr: str

    def fail(self, problem: str, problem_fr: str) -> _Broken:
        return _Broken(Finding(self.en, problem, self.fr, problem_fr))


def _canonical(subject: _Subject, data: bytes) -> Any:
    try:
        return parse_canonical(data)
    except CanonicalError as exc:
        raise subject.fail("unreadable", "illisible") from exc


def _obj(subject: _Subject, value: Any, keys: set[str]) -> dict[str, Any]:
    if not isinstance(value, dict) or set(value) != keys:
        raise subject.fail("malformed", "mal formé")
    return value


def _nat(subject: _Subject, value: Any) -> int:
    if type(value) is not int or value < 0:
        raise subject.fail("malformed", "mal formé")
    return value


def _path(subject: _Subject, value: Any) -> list[bytes]:
    if not isinstance(value, list) or len(value) > 64:
        raise subject.fail("malformed", "mal formé")
    nodes: list[bytes] = []
    for node in value:
        if not isinstance(node, str) or not _HEX32.match(node):
            raise subject.fail("malformed", "mal formé")
        nodes.append(bytes.fromhex(node))
    return nodes


def _read_zip(data: bytes) -> dict[str, bytes]:
    archive_subject = _Subject("bundle", "archive")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
            names = [info.filename for info in infos]
            if len(set(names)) != len(names):
                raise archive_subject.fail("duplicate member", "membre en double")
            if len(infos) > MAX_MEMBERS or sum(i.file_size for i in infos) > MAX_TOTAL_BYTES:
                raise archive_subject.fail("too large", "trop volumineuse")
            members: dict[str, bytes] = {}
            total = 0
            for info in infos:
                with archive.open(info) as stream:
                    content = stream.read(MAX_TOTAL_BYTES - total + 1)
                total += len(content)
                if total > MAX_TOTAL_BYTES:
                    raise archive_subject.fail("too large", "trop volumineuse")
                members[info.filename] = content
            return members
    except _Broken:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError) as exc:
        raise archive_subject.fail("unreadable zip", "zip illisible") from exc
    except Exception as exc:  # zlib errors and other decoder failures on a corrupted archive
        raise archive_subject.fail("unreadable zip", "zip illisible") from exc


class _Verifier:
    def __init__(
        self,
        members: Mapping[str, bytes],
        trusted_key_id: str | None,
        known_heads: Sequence[SignedTreeHead],
    ) -> None:
        self.members = members
        self.trusted_key_id = trusted_key_id
        self.known_heads = known_heads
        self.findings: list[Finding] = []
        self.ppa_id: str | None = None
        self.versions = 0
        self.heads_count = 0
        self.tree_size: int | None = None
        self.key_id: str | None = None
        self.public_key: Ed25519PublicKey | None = None
        self.heads: list[SignedTreeHead | None] = []
        self.audit_trail = False
        self.audit_events = 0
        self.audit_checkpoints = 0
        self.audit_sealed = 0
        self.audit_unsealed = 0
        self.checkpoints: list[AuditCheckpoint | None] = []

    def check(self, step: Callable[..., _T], *args: Any) -> _T | None:
        """Run one check; record its finding and return ``None`` if it fails."""
        try:
            return step(*args)
        except _Broken as broken:
            self.findings.append(broken.finding)
            return None

    def member(self, subject: _Subject, name: str) -> bytes:
        data = self.members.get(name)
        if data is None:
            raise subject.fail(f"missing member {name}", f"fichier {name} absent")
        return data

    def manifest(self) -> bool:
        subject = _Subject("manifest", "manifeste")
        value = _canonical(subject, self.member(subject, "manifest.json"))
        keys = {"format", "ppa_id", "key_id", "versions", "heads", "tree_size"}
        if isinstance(value, dict) and value.get("format") == BUNDLE_FORMAT:
            self.audit_trail = True
            keys |= {"audit_events", "audit_checkpoints"}
        elif not isinstance(value, dict) or value.get("format") != BUNDLE_FORMAT_V1:
            raise subject.fail("unknown format", "format inconnu")
        value = _obj(subject, value, keys)
        if self.audit_trail:
            self.audit_events = _nat(subject, value["audit_events"])
            self.audit_checkpoints = _nat(subject, value["audit_checkpoints"])
            if self.audit_events > MAX_MEMBERS or self.audit_checkpoints > MAX_MEMBERS:
                raise subject.fail("malformed", "mal formé")
        if not isinstance(value["ppa_id"], str) or not isinstance(value["key_id"], str):
            raise subject.fail("malformed", "mal formé")
        self.ppa_id, self.key_id = value["ppa_id"], value["key_id"]
        self.versions = _nat(subject, value["versions"])
        self.heads_count = _nat(subject, value["heads"])
        self.tree_size = _nat(subject, value["tree_size"])
        if self.heads_count < 1 or self.versions > MAX_MEMBERS or self.heads_count > MAX_MEMBERS:
            raise subject.fail("malformed", "mal formé")
        expected = {"manifest.json", "public_key.pem"}
        expected |= {_name("heads", i, ".json") for i in range(1, self.heads_count + 1)}
        expected |= {_name("consistency", i, ".json") for i in range(1, self.heads_count)}
        for number in range(1, self.versions + 1):
            base = _name("versions", number)
            expected |= {
                f"{base}/{part}.json"
                for part in ("content", "meta", "accords", "leaf", "inclusion")
            }
        for number in range(1, self.audit_checkpoints + 1):
            base = _name("audit/checkpoints", number)
            expected |= {f"{base}/leaf.json", f"{base}/inclusion.json"}
        for number in range(1, self.audit_events + 1):
            base = _name("audit/events", number)
            expected |= {f"{base}/event.json", f"{base}/seal.json"}
        names = set(self.members)
        if missing := sorted(expected - names):
            raise _Subject("bundle", "archive").fail(
                f"missing member {missing[0]}", f"fichier {missing[0]} absent"
            )
        if unexpected := sorted(names - expected):
            raise _Subject("bundle", "archive").fail(
                f"unexpected member {unexpected[0]}", f"fichier inattendu {unexpected[0]}"
            )
        return True

    def key(self) -> None:
        subject = _Subject("public key", "clé publique")
        data = self.member(subject, "public_key.pem")
        try:
            public_key = load_public_key_pem(data)
        except (ValueError, TypeError) as exc:
            raise subject.fail("unreadable", "illisible") from exc
        if public_key_to_pem(public_key) != data:
            raise subject.fail("not in canonical PEM form", "PEM non canonique")
        if key_id(public_key) != self.key_id:
            raise subject.fail("key id differs from the manifest", "identifiant ≠ manifeste")
        if self.trusted_key_id is not None and key_id(public_key) != self.trusted_key_id:
            raise subject.fail("not the expected key", "ce n'est pas la clé attendue")
        self.public_key = public_key

    def head(self, number: int) -> None:
        subject = _Subject(f"signed tree head {number}", f"tête d'arbre signée {number}")
        self.heads.append(None)
        value = _canonical(subject, self.member(subject, _name("heads", number, ".json")))
        try:
            head = SignedTreeHead.from_json(value)
        except SignatureError as exc:
            raise subject.fail("malformed", "mal formée") from exc
        if self.public_key is None:
            raise subject.fail("no valid public key", "pas de clé publique valide")
        try:
            verify_tree_head(head, self.public_key)
        except SignatureError as exc:
            raise subject.fail("bad signature", "signature invalide") from exc
        previous = next((h for h in reversed(self.heads[:-1]) if h is not None), None)
        if previous is not None and (
            head.tree_size < previous.tree_size or head.timestamp < previous.timestamp
        ):
            raise subject.fail("goes back in time", "revient en arrière")
        self.heads[-1] = head

    def known_head(self, known: SignedTreeHead) -> None:
        for number, head in enumerate(self.heads, start=1):
            if head is not None and head.tree_size == known.tree_size:
                if head.root_hash != known.root_hash:
                    raise _Subject(
                        f"signed tree head {number}", f"tête d'arbre signée {number}"
                    ).fail(
                        "contradicts a head known to the auditor (history rewritten)",
                        "contredit une tête connue de l'auditeur (historique réécrit)",
                    )
                return
        raise _Subject(
            f"known signed tree head of size {known.tree_size}",
            f"tête signée connue de taille {known.tree_size}",
        ).fail("not covered by the bundle", "absente du bundle")

    def consistency(self, number: int) -> None:
        subject = _Subject(
            f"consistency proof between signed tree heads {number} and {number + 1}",
            f"preuve de cohérence entre les têtes {number} et {number + 1}",
        )
        old, new = self.heads[number - 1], self.heads[number]
        value = _obj(
            subject,
            _canonical(subject, self.member(subject, _name("consistency", number, ".json"))),
            {"old_size", "new_size", "path"},
        )
        old_size, new_size = _nat(subject, value["old_size"]), _nat(subject, value["new_size"])
        path = _path(subject, value["path"])
        if old is None or new is None:
            raise subject.fail("a signed head is invalid", "une tête signée est invalide")
        if (old_size, new_size) != (old.tree_size, new.tree_size):
            raise subject.fail("sizes differ from the heads", "tailles ≠ têtes signées")
        try:
            verify_consistency(old_size, new_size, old.root_hash, new.root_hash, path)
        except ProofError as exc:
            raise subject.fail(str(exc), "preuve rejetée") from exc

    def version(self, number: int, prev: str | None, last_leaf: int) -> tuple[str, int]:
        """Check version ``number``; return its chain hash and leaf index."""
        subject = _Subject(f"version {number}", f"version {number}")
        base = _name("versions", number)
        content = self.member(subject, f"{base}/content.json")
        meta_value = _canonical(subject, self.member(subject, f"{base}/meta.json"))
        accords_subject = _Subject(
            f"accords of version {number}", f"accords de la version {number}"
        )
        accords_value = _canonical(accords_subject, self.member(subject, f"{base}/accords.json"))
        if not isinstance(accords_value, list):
            raise accords_subject.fail("malformed", "mal formés")
        try:
            for item in accords_value:
                AccordRecord.from_json(item)
        except ChainError as exc:
            raise accords_subject.fail("malformed", "mal formés") from exc
        try:
            record = VersionRecord.from_json(meta_value, accords_value)
        except ChainError as exc:
            raise subject.fail("metadata malformed", "métadonnées mal formées") from exc
        if sha256_hex(content) != record.content_hash:
            raise subject.fail("content hash mismatch", "empreinte du contenu incorrecte")
        if record.meta.ppa_id != self.ppa_id:
            raise subject.fail("belongs to another PPA", "appartient à un autre PPA")
        if record.meta.number != number:
            raise subject.fail("wrong number", "numéro incorrect")
        if prev is not None and record.prev_chain_hash != prev:
            raise subject.fail(
                "link to the previous version broken", "lien avec la version précédente rompu"
            )
        if chain_hash(record.prev_chain_hash, record.content_hash, record.meta) != (
            record.chain_hash
        ):
            raise subject.fail("chain hash mismatch", "empreinte de chaînage incorrecte")
        leaf_subject = _Subject(
            f"log leaf of version {number}", f"feuille du journal de la version {number}"
        )
        leaf = self.member(leaf_subject, f"{base}/leaf.json")
        expected_leaf = version_leaf_data(
            record.meta.ppa_id, record.meta.number, record.content_hash, record.chain_hash
        )
        if leaf != expected_leaf:
            raise leaf_subject.fail("does not match the version", "ne correspond pas à la version")
        proof_subject = _Subject(
            f"inclusion proof of version {number}", f"preuve d'inclusion de la version {number}"
        )
        leaf_index = self.inclusion(proof_subject, f"{base}/inclusion.json", leaf, last_leaf)
        return record.chain_hash, leaf_index

    def inclusion(self, subject: _Subject, name: str, leaf: bytes, last_leaf: int) -> int:
        """Check ``{"leaf_index", "tree_size", "path"}`` of ``leaf`` into the latest head."""
        value = _obj(
            subject,
            _canonical(subject, self.member(subject, name)),
            {"leaf_index", "tree_size", "path"},
        )
        leaf_index = _nat(subject, value["leaf_index"])
        size = _nat(subject, value["tree_size"])
        path = _path(subject, value["path"])
        latest = self.heads[-1] if self.heads else None
        if latest is None:
            raise subject.fail("no valid latest signed head", "pas de tête signée valide")
        if size != latest.tree_size:
            raise subject.fail("not into the latest head", "ne vise pas la dernière tête")
        if leaf_index <= last_leaf:
            raise subject.fail("leaf index out of order", "index de feuille dans le désordre")
        try:
            verify_inclusion(hash_leaf(leaf), leaf_index, size, path, latest.root_hash)
        except ProofError as exc:
            raise subject.fail(str(exc), "preuve rejetée") from exc
        return leaf_index

    def checkpoint(self, number: int, last_seq: int, last_leaf: int) -> tuple[int, int]:
        """Check audit checkpoint ``number``; return its last sealed position and leaf index."""
        self.checkpoints.append(None)
        subject = _Subject(
            f"audit checkpoint {number}", f"point de scellement {number} du journal d'audit"
        )
        base = _name("audit/checkpoints", number)
        leaf = self.member(subject, f"{base}/leaf.json")
        value = _obj(
            subject,
            _canonical(subject, leaf),
            {"type", "first_seq", "last_seq", "events_digest", "at"},
        )
        digest = value["events_digest"]
        if (
            value["type"] != LEAF_TYPE_AUDIT_CHECKPOINT
            or not isinstance(digest, str)
            or not _HEX32.match(digest)
            or not isinstance(value["at"], str)
        ):
            raise subject.fail("malformed", "mal formé")
        first, last = _nat(subject, value["first_seq"]), _nat(subject, value["last_seq"])
        try:
            at = parse_instant(value["at"])
        except ValueError as exc:
            raise subject.fail("malformed", "mal formé") from exc
        checkpoint = AuditCheckpoint(first, last, digest, at)
        if audit_checkpoint_leaf_data(checkpoint) != leaf:
            raise subject.fail("not canonical", "non canonique")
        if first < 1 or last < first:
            raise subject.fail("sealed positions invalid", "positions scellées invalides")
        if first <= last_seq:
            raise subject.fail(
                "sealed positions overlap the previous checkpoint",
                "positions scellées chevauchant le point précédent",
            )
        proof_subject = _Subject(
            f"inclusion proof of audit checkpoint {number}",
            f"preuve d'inclusion du point de scellement {number}",
        )
        leaf_index = self.inclusion(proof_subject, f"{base}/inclusion.json", leaf, last_leaf)
        self.checkpoints[-1] = checkpoint
        return last, leaf_index

    def audit_event(self, number: int, last_id: int) -> int:
        """Check audit event ``number``; return its id."""
        subject = _Subject(f"audit event {number}", f"événement d'audit {number}")
        base = _name("audit/events", number)
        data = self.member(subject, f"{base}/event.json")
        value = _obj(
            subject,
            _canonical(subject, data),
            _AUDIT_EVENT_KEYS,
        )
        texts = ("actor_type", "action", "object_type", "outcome")
        optional = ("actor_id", "role", "object_id", "person_id", "client_addr")
        if (
            value["type"] != AUDIT_EVENT_TYPE
            or not isinstance(value["at"], str)
            or not all(isinstance(value[k], str) for k in texts)
            or not all(value[k] is None or isinstance(value[k], str) for k in optional)
        ):
            raise subject.fail("malformed", "mal formé")
        try:
            at = parse_instant(value["at"])
        except ValueError as exc:
            raise subject.fail("malformed", "mal formé") from exc
        event = AuditEventRecord(
            id=_nat(subject, value["id"]),
            at=at,
            actor_type=value["actor_type"],
            actor_id=value["actor_id"],
            role=value["role"],
            action=value["action"],
            object_type=value["object_type"],
            object_id=value["object_id"],
            person_id=value["person_id"],
            client_addr=value["client_addr"],
            outcome=value["outcome"],
        )
        if canonical_event(event) != data:
            raise subject.fail("not canonical", "non canonique")
        if event.object_type != AUDIT_OBJECT_TYPE or event.object_id != self.ppa_id:
            raise subject.fail("not about this PPA", "ne concerne pas ce PPA")
        if event.id <= last_id:
            raise subject.fail("ids out of order", "identifiants dans le désordre")
        seal_subject = _Subject(
            f"batch proof of audit event {number}",
            f"preuve de scellement de l'événement d'audit {number}",
        )
        seal = _obj(
            seal_subject,
            _canonical(seal_subject, self.member(seal_subject, f"{base}/seal.json")),
            {"checkpoint", "position", "path"},
        )
        if seal["checkpoint"] is None:
            if seal["position"] is not None or seal["path"] != []:
                raise seal_subject.fail("malformed", "mal formée")
            self.audit_unsealed += 1
            return event.id
        which = _nat(seal_subject, seal["checkpoint"])
        position = _nat(seal_subject, seal["position"])
        path = _path(seal_subject, seal["path"])
        if not 1 <= which <= self.audit_checkpoints:
            raise seal_subject.fail("unknown checkpoint", "point de scellement inconnu")
        checkpoint = self.checkpoints[which - 1] if which <= len(self.checkpoints) else None
        if checkpoint is None:
            raise seal_subject.fail(
                f"audit checkpoint {which} is invalid",
                f"le point de scellement {which} est invalide",
            )
        size = checkpoint.last_seq - checkpoint.first_seq + 1
        if position >= size:
            raise seal_subject.fail("position outside the batch", "position hors du lot")
        try:
            verify_event_in_batch(event, position, size, path, checkpoint.events_digest)
        except ProofError as exc:
            raise seal_subject.fail(
                f"{exc} (not in the batch of audit checkpoint {which})",
                f"preuve rejetée (absent du lot du point de scellement {which})",
            ) from exc
        self.audit_sealed += 1
        return event.id

    def run(self) -> None:
        if not self.check(self.manifest):
            return
        self.check(self.key)
        for number in range(1, self.heads_count + 1):
            self.check(self.head, number)
        latest = self.heads[-1]
        if latest is not None and self.tree_size != latest.tree_size:
            self.findings.append(
                Finding(
                    "manifest",
                    "tree size differs from the latest head",
                    "manifeste",
                    "taille ≠ dernière tête",
                )
            )
        for known in self.known_heads:
            self.check(self.known_head, known)
        for number in range(1, self.heads_count):
            self.check(self.consistency, number)
        prev: str | None = GENESIS
        last_leaf = -1
        for number in range(1, self.versions + 1):
            outcome = self.check(self.version, number, prev, last_leaf)
            if outcome is None:
                prev = None  # the next link cannot be checked against an unverified version
            else:
                prev, last_leaf = outcome
        last_seq, last_leaf = 0, -1
        for number in range(1, self.audit_checkpoints + 1):
            sealed = self.check(self.checkpoint, number, last_seq, last_leaf)
            if sealed is not None:
                last_seq, last_leaf = sealed
        last_id = -1
        for number in range(1, self.audit_events + 1):
            event_id = self.check(self.audit_event, number, last_id)
            if event_id is not None:
                last_id = event_id


def verify_members(
    members: Mapping[str, bytes],
    trusted_key_id: str | None = None,
    known_heads: Sequence[SignedTreeHead] = (),
) -> Report:
    """Verify a bundle given as ``{member name: bytes}`` (see :func:`verify_bundle`)."""
    verifier = _Verifier(members, trusted_key_id, known_heads)
    verifier.run()
    return Report(
        findings=tuple(verifier.findings),
        ppa_id=verifier.ppa_id,
        versions=verifier.versions,
        heads=verifier.heads_count,
        tree_size=verifier.tree_size,
        key_id=verifier.key_id,
        audit_trail=verifier.audit_trail,
        audit_events=verifier.audit_events,
        audit_sealed=verifier.audit_sealed,
        audit_unsealed=verifier.audit_unsealed,
        audit_checkpoints=verifier.audit_checkpoints,
    )


def read_members(source: str | Path | bytes) -> dict[str, bytes]:
    """Return the members of a bundle (path or bytes); raise ``ValueError`` if unreadable."""
    data = source if isinstance(source, bytes) else Path(source).read_bytes()
    try:
        return _read_zip(data)
    except _Broken as broken:
        raise ValueError(str(broken.finding)) from broken


def verify_bundle(
    source: str | Path | bytes,
    trusted_key_id: str | None = None,
    known_heads: Sequence[SignedTreeHead] = (),
) -> Report:
    """Verify an audit bundle offline (path or zip bytes) and report the first broken link.

    ``trusted_key_id`` is the key id the service publishes; without it, the report states the
    bundle's key id for the auditor to compare. ``known_heads`` are signed heads the auditor
    obtained earlier (or from a witness): each must appear in the bundle with the same root, which
    catches a service that rewrote history and re-signed everything. Never raises on a corrupted
    bundle: every problem becomes a :class:`Finding`.
    """
    try:
        data = source if isinstance(source, bytes) else Path(source).read_bytes()
    except OSError:
        return Report((Finding("bundle", "cannot be read", "archive", "impossible à lire"),))
    try:
        members = _read_zip(data)
    except _Broken as broken:
        return Report((broken.finding,))
    return verify_members(members, trusted_key_id, known_heads)
