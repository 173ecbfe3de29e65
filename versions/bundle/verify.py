"""Offline verification of an audit bundle: every problem becomes a finding, never an exception.

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

from collections.abc import Callable, Mapping, Sequence
from dataclasses import fields
from pathlib import Path
from typing import Any, TypeVar

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from versions.audit import (
    AUDIT_EVENT_TYPE,
    AuditEventRecord,
    canonical_event,
    verify_event_in_batch,
)
from versions.bundle.layout import (
    AUDIT_OBJECT_TYPE,
    BUNDLE_FORMAT,
    BUNDLE_FORMAT_V1,
    HEX32,
    MAX_MEMBERS,
    member_name,
    read_zip,
)
from versions.bundle.report import BrokenLinkError, Finding, Report, Subject
from versions.canonical import CanonicalError, parse_canonical, sha256_hex
from versions.chain import GENESIS, AccordRecord, ChainError, VersionRecord, chain_hash
from versions.merkle import (
    LEAF_TYPE_AUDIT_CHECKPOINT,
    AuditCheckpoint,
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

INTERNAL_ERROR = "internal error"
"""``problem`` of the finding recorded when a check fails unexpectedly (a verifier bug)."""

_AUDIT_EVENT_KEYS = {"type", *(f.name for f in fields(AuditEventRecord))}
"""The keys of an audit event's canonical encoding (its type tag and its fields)."""


def _canonical(subject: Subject, data: bytes) -> Any:
    try:
        return parse_canonical(data)
    except CanonicalError as exc:
        raise subject.fail("unreadable", "illisible") from exc


def _obj(subject: Subject, value: Any, keys: set[str]) -> dict[str, Any]:
    if not isinstance(value, dict) or set(value) != keys:
        raise subject.fail("malformed", "mal formé")
    return value


def _nat(subject: Subject, value: Any) -> int:
    if type(value) is not int or value < 0:
        raise subject.fail("malformed", "mal formé")
    return value


def _path(subject: Subject, value: Any) -> list[bytes]:
    if not isinstance(value, list) or len(value) > 64:
        raise subject.fail("malformed", "mal formé")
    nodes: list[bytes] = []
    for node in value:
        if not isinstance(node, str) or not HEX32.match(node):
            raise subject.fail("malformed", "mal formé")
        nodes.append(bytes.fromhex(node))
    return nodes


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
        except BrokenLinkError as broken:
            self.findings.append(broken.finding)
            return None
        except Exception as exc:  # a verifier bug still reports a broken bundle, never a traceback
            self.findings.append(
                Finding(
                    "bundle",
                    INTERNAL_ERROR,
                    "archive",
                    f"illisible (erreur interne du vérificateur : {type(exc).__name__})",
                )
            )
            return None

    def member(self, subject: Subject, name: str) -> bytes:
        data = self.members.get(name)
        if data is None:
            raise subject.fail(f"missing member {name}", f"fichier {name} absent")
        return data

    def manifest(self) -> bool:
        subject = Subject("manifest", "manifeste")
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
        expected |= {member_name("heads", i, ".json") for i in range(1, self.heads_count + 1)}
        expected |= {member_name("consistency", i, ".json") for i in range(1, self.heads_count)}
        for number in range(1, self.versions + 1):
            base = member_name("versions", number)
            expected |= {
                f"{base}/{part}.json"
                for part in ("content", "meta", "accords", "leaf", "inclusion")
            }
        for number in range(1, self.audit_checkpoints + 1):
            base = member_name("audit/checkpoints", number)
            expected |= {f"{base}/leaf.json", f"{base}/inclusion.json"}
        for number in range(1, self.audit_events + 1):
            base = member_name("audit/events", number)
            expected |= {f"{base}/event.json", f"{base}/seal.json"}
        names = set(self.members)
        if missing := sorted(expected - names):
            raise Subject("bundle", "archive").fail(
                f"missing member {missing[0]}", f"fichier {missing[0]} absent"
            )
        if unexpected := sorted(names - expected):
            raise Subject("bundle", "archive").fail(
                f"unexpected member {unexpected[0]}", f"fichier inattendu {unexpected[0]}"
            )
        return True

    def key(self) -> None:
        subject = Subject("public key", "clé publique")
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
        subject = Subject(f"signed tree head {number}", f"tête d'arbre signée {number}")
        self.heads.append(None)
        value = _canonical(subject, self.member(subject, member_name("heads", number, ".json")))
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
                    raise Subject(
                        f"signed tree head {number}", f"tête d'arbre signée {number}"
                    ).fail(
                        "contradicts a head known to the auditor (history rewritten)",
                        "contredit une tête connue de l'auditeur (historique réécrit)",
                    )
                return
        raise Subject(
            f"known signed tree head of size {known.tree_size}",
            f"tête signée connue de taille {known.tree_size}",
        ).fail("not covered by the bundle", "absente du bundle")

    def consistency(self, number: int) -> None:
        subject = Subject(
            f"consistency proof between signed tree heads {number} and {number + 1}",
            f"preuve de cohérence entre les têtes {number} et {number + 1}",
        )
        old, new = self.heads[number - 1], self.heads[number]
        value = _obj(
            subject,
            _canonical(subject, self.member(subject, member_name("consistency", number, ".json"))),
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
        subject = Subject(f"version {number}", f"version {number}")
        base = member_name("versions", number)
        content = self.member(subject, f"{base}/content.json")
        meta_value = _canonical(subject, self.member(subject, f"{base}/meta.json"))
        accords_subject = Subject(f"accords of version {number}", f"accords de la version {number}")
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
        leaf_subject = Subject(
            f"log leaf of version {number}", f"feuille du journal de la version {number}"
        )
        leaf = self.member(leaf_subject, f"{base}/leaf.json")
        expected_leaf = version_leaf_data(
            record.meta.ppa_id, record.meta.number, record.content_hash, record.chain_hash
        )
        if leaf != expected_leaf:
            raise leaf_subject.fail("does not match the version", "ne correspond pas à la version")
        proof_subject = Subject(
            f"inclusion proof of version {number}", f"preuve d'inclusion de la version {number}"
        )
        leaf_index = self.inclusion(proof_subject, f"{base}/inclusion.json", leaf, last_leaf)
        return record.chain_hash, leaf_index

    def inclusion(self, subject: Subject, name: str, leaf: bytes, last_leaf: int) -> int:
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
        subject = Subject(
            f"audit checkpoint {number}", f"point de scellement {number} du journal d'audit"
        )
        base = member_name("audit/checkpoints", number)
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
            or not HEX32.match(digest)
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
        proof_subject = Subject(
            f"inclusion proof of audit checkpoint {number}",
            f"preuve d'inclusion du point de scellement {number}",
        )
        leaf_index = self.inclusion(proof_subject, f"{base}/inclusion.json", leaf, last_leaf)
        self.checkpoints[-1] = checkpoint
        return last, leaf_index

    def audit_event(self, number: int, last_id: int) -> int:
        """Check audit event ``number``; return its id."""
        subject = Subject(f"audit event {number}", f"événement d'audit {number}")
        base = member_name("audit/events", number)
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
        seal_subject = Subject(
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
        return read_zip(data)
    except BrokenLinkError as broken:
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
        members = read_zip(data)
    except BrokenLinkError as broken:
        return Report((broken.finding,))
    return verify_members(members, trusted_key_id, known_heads)
