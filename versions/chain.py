"""Per-PPA hash chain of versions.

Each version ``n`` of a PPA stores ``chain_hash(n) = SHA-256(canonical JSON of {"type":
"ppa-version-chain/1", "prev": chain_hash(n-1), "content_hash": ..., "meta": metadata})``, with
``prev`` of version 1 being :data:`GENESIS` (64 zeros). Changing any byte of a past version's
content, metadata or recorded agreements changes its chain hash and breaks every later link; the
last chain hash is further sealed in the global Merkle log (:mod:`versions.merkle`).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from versions.canonical import CanonicalError, canonical_json, sha256_hex
from versions.timefmt import format_date, format_instant, parse_date, parse_instant

GENESIS = "0" * 64
"""``prev`` chain hash of the first version of every PPA."""

CHAIN_TYPE = "ppa-version-chain/1"
"""Domain separation tag of the chain hash input."""

_HEX32 = re.compile(r"^[0-9a-f]{64}$")


class VersionKind(StrEnum):
    """Why a version exists."""

    CHECKPOINT = "checkpoint"
    """Taken by the service (end of an editing session, before a validation)."""
    NAMED = "named"
    """Saved by a contributor ("Enregistrer une version"), with a label."""
    VALIDATED = "validated"
    """The validated PPA (frozen for ever)."""
    AVENANT = "avenant"
    """A validated avenant (amendment), the new current version."""
    REVISION = "revision"
    """First version of a new PPA started from the last validated one of the person."""
    RESTORE = "restore"
    """An older version brought back as the new draft (a forward step)."""


VALIDATED_KINDS = frozenset({VersionKind.VALIDATED, VersionKind.AVENANT})
"""Kinds of versions that are validated (locked, importable by structures)."""


class AccordType(StrEnum):
    """Whose agreement (same values as ``editor.schema.TypeAccord``)."""

    STRUCTURE = "structure"
    PERSONNE = "personne"
    REPRESENTANT = "representant"
    """The person's legal representative; ``par`` is his cercle member id."""


class AccordMode(StrEnum):
    """How it was given (same values as ``editor.schema.ModeAccord``)."""

    SIGNE = "signe"
    ORAL = "oral"
    REFUSE = "refuse"
    NON_SOLLICITE = "non_sollicite"


class ChainError(ValueError):
    """Malformed chain data (wrong types, non-canonical instants or hashes)."""


@dataclass(frozen=True)
class AccordRecord:
    """An agreement recorded with a validation: who gave it, how, when, who recorded it.

    ``par`` is who agreed (a member id or a name), ``temoin`` the witness of an oral agreement,
    ``motif`` the reason (refusal, not sought). Person-related text stays in the database and in
    audit bundles, never in logs.
    """

    type: AccordType
    mode: AccordMode
    par: str
    recorded_by: str
    recorded_at: datetime
    temoin: str = ""
    date: dt.date | None = None
    motif: str = ""

    def to_json(self) -> dict[str, Any]:
        """Return the plain JSON object (hashed as part of the version metadata)."""
        return {
            "type": self.type.value,
            "mode": self.mode.value,
            "par": self.par,
            "temoin": self.temoin,
            "date": None if self.date is None else format_date(self.date),
            "motif": self.motif,
            "recorded_by": self.recorded_by,
            "recorded_at": format_instant(self.recorded_at),
        }

    @classmethod
    def from_json(cls, value: Any) -> AccordRecord:
        """Parse :meth:`to_json` output strictly; raise :class:`ChainError` otherwise."""
        obj = _object(
            value,
            {"type", "mode", "par", "temoin", "date", "motif", "recorded_by", "recorded_at"},
        )
        try:
            day = obj["date"]
            return cls(
                type=AccordType(_str(obj["type"])),
                mode=AccordMode(_str(obj["mode"])),
                par=_str(obj["par"]),
                temoin=_str(obj["temoin"]),
                date=None if day is None else parse_date(_str(day)),
                motif=_str(obj["motif"]),
                recorded_by=_str(obj["recorded_by"]),
                recorded_at=parse_instant(_str(obj["recorded_at"])),
            )
        except ValueError as exc:
            raise ChainError(f"malformed accord: {exc}") from exc


@dataclass(frozen=True)
class VersionRef:
    """A version of another PPA (a revision starts from the previous PPA's last validated one)."""

    ppa_id: str
    number: int

    def to_json(self) -> dict[str, Any]:
        """Return the plain JSON object."""
        return {"ppa_id": self.ppa_id, "number": self.number}


@dataclass(frozen=True)
class VersionMeta:
    """Metadata of one version, covered by its chain hash.

    ``parent_number`` is the version of the same PPA this one derives from (the validated version
    an avenant amends, the version a restore brings back; ``None`` for a first version);
    ``based_on`` points to another PPA's version (revisions). ``accords`` are the agreements
    recorded with a validation (empty otherwise).
    """

    ppa_id: str
    number: int
    kind: VersionKind
    label: str
    created_at: datetime
    created_by: str
    parent_number: int | None = None
    based_on: VersionRef | None = None
    accords: tuple[AccordRecord, ...] = field(default=())

    def to_json(self, *, with_accords: bool = True) -> dict[str, Any]:
        """Return the plain JSON object hashed into the chain (``accords`` included by default)."""
        value: dict[str, Any] = {
            "ppa_id": self.ppa_id,
            "number": self.number,
            "kind": self.kind.value,
            "label": self.label,
            "created_at": format_instant(self.created_at),
            "created_by": self.created_by,
            "parent_number": self.parent_number,
            "based_on": None if self.based_on is None else self.based_on.to_json(),
        }
        if with_accords:
            value["accords"] = [accord.to_json() for accord in self.accords]
        return value

    @classmethod
    def from_json(cls, value: Any, accords: Any = None) -> VersionMeta:
        """Parse :meth:`to_json` output strictly; ``accords`` may come separately.

        Raises :class:`ChainError` on any malformed field.
        """
        keys = {
            "ppa_id",
            "number",
            "kind",
            "label",
            "created_at",
            "created_by",
            "parent_number",
            "based_on",
        }
        if accords is None:
            keys.add("accords")
        obj = _object(value, keys)
        raw_accords = obj["accords"] if accords is None else accords
        if not isinstance(raw_accords, list):
            raise ChainError("accords must be a list")
        based = obj["based_on"]
        try:
            based_on = None
            if based is not None:
                ref = _object(based, {"ppa_id", "number"})
                based_on = VersionRef(_str(ref["ppa_id"]), _int(ref["number"]))
            parent = obj["parent_number"]
            return cls(
                ppa_id=_str(obj["ppa_id"]),
                number=_int(obj["number"]),
                kind=VersionKind(_str(obj["kind"])),
                label=_str(obj["label"]),
                created_at=parse_instant(_str(obj["created_at"])),
                created_by=_str(obj["created_by"]),
                parent_number=None if parent is None else _int(parent),
                based_on=based_on,
                accords=tuple(AccordRecord.from_json(item) for item in raw_accords),
            )
        except ValueError as exc:
            raise ChainError(f"malformed version metadata: {exc}") from exc


@dataclass(frozen=True)
class VersionRecord:
    """A stored version as the chain sees it: metadata, content hash and the two chain hashes."""

    meta: VersionMeta
    content_hash: str
    prev_chain_hash: str
    chain_hash: str

    def to_json(self, *, with_accords: bool = True) -> dict[str, Any]:
        """Return the plain JSON object (metadata plus hashes)."""
        return {
            "meta": self.meta.to_json(with_accords=with_accords),
            "content_hash": self.content_hash,
            "prev_chain_hash": self.prev_chain_hash,
            "chain_hash": self.chain_hash,
        }

    @classmethod
    def from_json(cls, value: Any, accords: Any = None) -> VersionRecord:
        """Parse :meth:`to_json` output strictly; raise :class:`ChainError` otherwise."""
        obj = _object(value, {"meta", "content_hash", "prev_chain_hash", "chain_hash"})
        return cls(
            meta=VersionMeta.from_json(obj["meta"], accords),
            content_hash=_hex(obj["content_hash"]),
            prev_chain_hash=_hex(obj["prev_chain_hash"]),
            chain_hash=_hex(obj["chain_hash"]),
        )


def _object(value: Any, keys: set[str]) -> dict[str, Any]:
    if not isinstance(value, dict) or set(value) != keys:
        raise ChainError(f"expected an object with keys {sorted(keys)}")
    return value


def _str(value: Any) -> str:
    if not isinstance(value, str):
        raise ChainError("expected a string")
    return value


def _int(value: Any) -> int:
    if type(value) is not int:
        raise ChainError("expected an integer")
    return value


def _hex(value: Any) -> str:
    if not isinstance(value, str) or not _HEX32.match(value):
        raise ChainError("expected a lowercase SHA-256 hex digest")
    return value


def chain_hash(prev_chain_hash: str, content_hash: str, meta: VersionMeta) -> str:
    """Return a version's chain hash from the previous chain hash, content hash and metadata."""
    _hex(prev_chain_hash)
    _hex(content_hash)
    try:
        data = canonical_json(
            {
                "type": CHAIN_TYPE,
                "prev": prev_chain_hash,
                "content_hash": content_hash,
                "meta": meta.to_json(),
            }
        )
    except CanonicalError as exc:
        raise ChainError(f"metadata cannot be encoded: {exc}") from exc
    return sha256_hex(data)


def make_record(
    meta: VersionMeta, content_hash: str, previous: VersionRecord | None
) -> VersionRecord:
    """Return the record of a new version following ``previous`` (``None`` for version 1).

    Raises :class:`ChainError` if the numbering or PPA does not follow on.
    """
    if previous is None:
        if meta.number != 1:
            raise ChainError("the first version has number 1")
        prev = GENESIS
    else:
        if meta.ppa_id != previous.meta.ppa_id or meta.number != previous.meta.number + 1:
            raise ChainError("a version follows the previous version of the same PPA")
        prev = previous.chain_hash
    return VersionRecord(meta, content_hash, prev, chain_hash(prev, content_hash, meta))


@dataclass(frozen=True)
class VerifyResult:
    """Outcome of :func:`verify_chain`: ``ok``, versions checked, the first broken link."""

    ok: bool
    checked: int
    broken_number: int | None = None
    reason: str | None = None

    def __str__(self) -> str:
        """Return a short English description."""
        if self.ok:
            return f"chain intact ({self.checked} versions)"
        return f"version {self.broken_number}: {self.reason}"


def verify_chain(
    versions: Sequence[VersionRecord], contents: Sequence[bytes] | None = None
) -> VerifyResult:
    """Check a PPA's versions in order and name the first broken link.

    Checks: same PPA, numbers 1..n without gaps, version 1 starts from :data:`GENESIS`, each
    ``prev_chain_hash`` equals the previous ``chain_hash``, each ``chain_hash`` is recomputed from
    its inputs, and - when ``contents`` (the stored canonical bytes, same order) are given - each
    content hash is the SHA-256 of those bytes.
    """
    if contents is not None and len(contents) != len(versions):
        raise ValueError("one content per version")
    ppa_id = versions[0].meta.ppa_id if versions else None
    prev = GENESIS
    for position, record in enumerate(versions):
        expected_number = position + 1
        number = record.meta.number

        def broken(reason: str, number: int = number, checked: int = position) -> VerifyResult:
            return VerifyResult(False, checked, number, reason)

        if record.meta.ppa_id != ppa_id:
            return broken("belongs to another PPA")
        if number != expected_number:
            return broken(f"unexpected number (expected {expected_number})")
        if contents is not None and sha256_hex(contents[position]) != record.content_hash:
            return broken("content hash mismatch")
        if record.prev_chain_hash != prev:
            return broken("link to the previous version broken")
        try:
            recomputed = chain_hash(record.prev_chain_hash, record.content_hash, record.meta)
        except ChainError as exc:
            return broken(str(exc))
        if recomputed != record.chain_hash:
            return broken("chain hash mismatch")
        prev = record.chain_hash
    return VerifyResult(True, len(versions))
