"""Per-PPA hash chain: building, verifying, naming the first broken link."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from versions.canonical import sha256_hex
from versions.chain import (
    GENESIS,
    AccordMode,
    AccordRecord,
    AccordType,
    ChainError,
    VersionKind,
    VersionMeta,
    VersionRecord,
    VersionRef,
    chain_hash,
    make_record,
    verify_chain,
)

T0 = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)


def build(n: int = 4) -> tuple[list[VersionRecord], list[bytes]]:
    records: list[VersionRecord] = []
    contents: list[bytes] = []
    kinds = [VersionKind.CHECKPOINT, VersionKind.NAMED, VersionKind.VALIDATED, VersionKind.AVENANT]
    for number in range(1, n + 1):
        kind = kinds[(number - 1) % len(kinds)]
        accords: tuple[AccordRecord, ...] = ()
        if kind is VersionKind.VALIDATED:
            accords = (
                AccordRecord(
                    AccordType.STRUCTURE,
                    AccordMode.SIGNE,
                    "coord-1",
                    "coord-1",
                    T0,
                    date=date(2025, 1, 7),
                ),
                AccordRecord(
                    AccordType.PERSONNE, AccordMode.ORAL, "Léa", "coord-1", T0, temoin="Marc"
                ),
            )
        meta = VersionMeta(
            ppa_id="ppa-1",
            number=number,
            kind=kind,
            label=f"v{number}",
            created_at=T0 + timedelta(days=number),
            created_by="member-1",
            parent_number=number - 1 or None,
            based_on=VersionRef("ppa-0", 3) if number == 1 else None,
            accords=accords,
        )
        content = f'{{"n":{number}}}'.encode()
        records.append(make_record(meta, sha256_hex(content), records[-1] if records else None))
        contents.append(content)
    return records, contents


def test_chain_builds_and_verifies() -> None:
    records, contents = build()
    assert records[0].prev_chain_hash == GENESIS
    assert all(b.prev_chain_hash == a.chain_hash for a, b in itertools.pairwise(records))
    result = verify_chain(records, contents)
    assert result.ok
    assert result.checked == 4
    assert str(result) == "chain intact (4 versions)"
    assert verify_chain([]).ok


def test_metadata_round_trip() -> None:
    records, _ = build()
    for record in records:
        assert VersionRecord.from_json(record.to_json()) == record
        split = record.to_json(with_accords=False)
        accords = [a.to_json() for a in record.meta.accords]
        assert VersionRecord.from_json(split, accords) == record


@pytest.mark.parametrize(
    ("position", "change", "reason"),
    [
        (1, {"content_hash": "f" * 64}, "chain hash mismatch"),
        (2, {"prev_chain_hash": "e" * 64}, "link to the previous version broken"),
        (3, {"chain_hash": "d" * 64}, "chain hash mismatch"),
    ],
)
def test_first_broken_link_is_named(position: int, change: dict[str, str], reason: str) -> None:
    records, _ = build()
    records[position] = replace(records[position], **change)  # type: ignore[arg-type]
    result = verify_chain(records)
    assert not result.ok
    assert result.broken_number == position + 1
    assert result.reason == reason
    assert str(result) == f"version {position + 1}: {reason}"


def test_metadata_and_accord_changes_break_the_chain() -> None:
    records, contents = build()
    meta = records[2].meta
    for altered in (
        replace(meta, label="autre"),
        replace(meta, created_by="intrus"),
        replace(meta, created_at=meta.created_at + timedelta(microseconds=1)),
        replace(meta, accords=meta.accords[:1]),
        replace(meta, accords=(replace(meta.accords[0], mode=AccordMode.REFUSE), meta.accords[1])),
    ):
        tampered = list(records)
        tampered[2] = replace(records[2], meta=altered)
        result = verify_chain(tampered, contents)
        assert (result.ok, result.broken_number) == (False, 3)


def test_content_mismatch_numbering_and_foreign_versions() -> None:
    records, contents = build()
    bad_contents = list(contents)
    bad_contents[1] = b'{"n":99}'
    assert str(verify_chain(records, bad_contents)) == "version 2: content hash mismatch"
    assert verify_chain(records[1:]).broken_number == 2  # gap: starts at 2
    other, _ = build()
    foreign = replace(other[1], meta=replace(other[1].meta, ppa_id="ppa-2"))
    assert verify_chain([records[0], foreign]).reason == "belongs to another PPA"
    with pytest.raises(ChainError):
        make_record(records[1].meta, "a" * 64, None)
    with pytest.raises(ChainError):
        chain_hash("not-hex", "a" * 64, records[0].meta)
    with pytest.raises(ValueError, match="timezone-aware"):
        chain_hash(GENESIS, "a" * 64, replace(records[0].meta, created_at=datetime(2025, 1, 1)))
