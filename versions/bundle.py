"""Audit bundle of a PPA: a zip an auditor verifies offline, naming the first broken link.

Layout (every JSON member is canonical JSON, :mod:`versions.canonical`; ``NNNN`` is 1-based and
zero-padded)::

    manifest.json                 {"format", "ppa_id", "key_id", "versions", "heads", "tree_size"}
    public_key.pem                the service's Ed25519 public key (SubjectPublicKeyInfo PEM)
    heads/NNNN.json               signed tree heads, oldest first (the last one is "latest")
    consistency/NNNN.json         {"old_size", "new_size", "path"}: head NNNN -> head NNNN+1
    versions/NNNN/content.json    the version's canonical content, byte for byte as stored
    versions/NNNN/meta.json       metadata and hashes (VersionRecord without the accords)
    versions/NNNN/accords.json    agreements recorded with the version ([] if none)
    versions/NNNN/leaf.json       the version's leaf data in the global log (bytes as hashed)
    versions/NNNN/inclusion.json  {"leaf_index", "tree_size", "path"}: leaf -> latest head

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
   2.1.3.2), leaf indexes increasing.

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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from versions.canonical import CanonicalError, canonical_json, parse_canonical, sha256_hex
from versions.chain import GENESIS, AccordRecord, ChainError, VersionRecord, chain_hash
from versions.merkle import (
    MerkleTree,
    ProofError,
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

_T = TypeVar("_T")

BUNDLE_FORMAT = "ppa-collab-audit-bundle/1"
"""Value of ``format`` in the manifest."""

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


def _name(prefix: str, number: int, suffix: str = "") -> str:
    return f"{prefix}/{number:04d}{suffix}"


def _proof_json(path: Sequence[bytes]) -> list[str]:
    return [node.hex() for node in path]


def build_bundle(
    ppa_id: str,
    versions: Sequence[BundleVersion],
    heads: Sequence[SignedTreeHead],
    consistency_proofs: Sequence[Sequence[bytes]],
    public_key: Ed25519PublicKey,
) -> bytes:
    """Return the zip bytes of an audit bundle built from plain data (deterministic output).

    ``heads`` are oldest first and need at least one (the latest, which every inclusion proof
    targets); ``consistency_proofs[i]`` goes from ``heads[i]`` to ``heads[i + 1]``.
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
        members[f"{base}/inclusion.json"] = canonical_json(
            {
                "leaf_index": version.leaf_index,
                "tree_size": latest.tree_size,
                "path": _proof_json(version.inclusion_proof),
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
) -> bytes:
    """Build a bundle computing the proofs from a :class:`~versions.merkle.MerkleTree`.

    ``versions`` are ``(record, canonical content, leaf index)``; inclusion proofs target the
    last of ``heads`` and consistency proofs link successive heads.
    """
    if not heads:
        raise ValueError("an audit bundle needs at least one signed tree head")
    size = heads[-1].tree_size
    bundle_versions = [
        BundleVersion(record, content, index, tuple(tree.inclusion_proof(index, size)))
        for record, content, index in versions
    ]
    proofs = [
        tree.consistency_proof(old.tree_size, new.tree_size)
        for old, new in itertools.pairwise(heads)
    ]
    return build_bundle(ppa_id, bundle_versions, heads, proofs, public_key)


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

    def render(self) -> str:
        """Return the short French + English report printed by ``ppa audit verify``."""
        if self.ok:
            return (
                f"Bundle d'audit intègre : PPA {self.ppa_id}, {self.versions} version(s), "
                f"{self.heads} tête(s) d'arbre signée(s), journal de taille {self.tree_size}.\n"
                f"Audit bundle intact: PPA {self.ppa_id}, {self.versions} version(s), "
                f"{self.heads} signed tree head(s), log size {self.tree_size}.\n"
                f"Clé / key id : {self.key_id} (à comparer avec la clé publiée / compare it "
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
        value = _obj(
            subject,
            _canonical(subject, self.member(subject, "manifest.json")),
            {"format", "ppa_id", "key_id", "versions", "heads", "tree_size"},
        )
        if value["format"] != BUNDLE_FORMAT:
            raise subject.fail("unknown format", "format inconnu")
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
        value = _obj(
            proof_subject,
            _canonical(proof_subject, self.member(proof_subject, f"{base}/inclusion.json")),
            {"leaf_index", "tree_size", "path"},
        )
        leaf_index = _nat(proof_subject, value["leaf_index"])
        size = _nat(proof_subject, value["tree_size"])
        path = _path(proof_subject, value["path"])
        latest = self.heads[-1] if self.heads else None
        if latest is None:
            raise proof_subject.fail("no valid latest signed head", "pas de tête signée valide")
        if size != latest.tree_size:
            raise proof_subject.fail("not into the latest head", "ne vise pas la dernière tête")
        if leaf_index <= last_leaf:
            raise proof_subject.fail("leaf index out of order", "index de feuille dans le désordre")
        try:
            verify_inclusion(hash_leaf(leaf), leaf_index, size, path, latest.root_hash)
        except ProofError as exc:
            raise proof_subject.fail(str(exc), "preuve rejetée") from exc
        return record.chain_hash, leaf_index

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
