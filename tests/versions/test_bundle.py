"""Audit bundle: build, verify offline, exhaustive single-byte tampering, forged histories."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from editor.schema import Objectif, PPAContent
from tests.versions.factory import History, history
from versions.bundle import (
    assemble_bundle,
    read_members,
    verify_bundle,
    verify_members,
    zip_members,
)
from versions.canonical import canonical_json, content_hash
from versions.chain import VersionKind, VersionRecord, make_record
from versions.merkle import InMemoryLog, version_leaf_data
from versions.signing import SignedTreeHead, generate_private_key, key_id, sign_tree_head


def bundle_of(h: History) -> bytes:
    return assemble_bundle(
        "ppa-1",
        list(zip(h.records, h.contents, h.leaf_indexes, strict=True)),
        h.log.tree,
        h.heads,
        h.key.public_key(),
    )


@pytest.fixture(scope="module")
def small() -> tuple[History, bytes]:
    h = history(3)
    return h, bundle_of(h)


def test_intact_bundle_verifies(small: tuple[History, bytes], tmp_path: Path) -> None:
    h, data = small
    path = tmp_path / "audit.zip"
    path.write_bytes(data)
    report = verify_bundle(path, trusted_key_id=key_id(h.key.public_key()))
    assert report.ok, report.render()
    assert report.exit_code == 0
    assert (report.versions, report.heads, report.tree_size) == (3, 3, 9)
    text = report.render()
    assert "Bundle d'audit intègre" in text
    assert "Audit bundle intact" in text
    assert key_id(h.key.public_key()) in text
    assert bundle_of(h) == data  # deterministic bytes


def test_the_bundle_holds_what_the_auditor_needs(small: tuple[History, bytes]) -> None:
    h, data = small
    members = read_members(data)
    assert members["versions/0002/content.json"] == h.contents[1]
    assert members["public_key.pem"].startswith(b"-----BEGIN PUBLIC KEY-----")
    assert len([n for n in members if n.startswith("heads/")]) == 3
    assert len([n for n in members if n.startswith("consistency/")]) == 2
    assert b'"recorded_by":"coord-1"' in members["versions/0003/accords.json"]


def expected_subject(member: str) -> re.Pattern[str] | None:
    """The subject the first finding must name when ``member`` is altered (None: any)."""
    if m := re.fullmatch(r"versions/(\d{4})/(\w+)\.json", member):
        number, part = int(m.group(1)), m.group(2)
        return {
            "content": re.compile(rf"^version {number}$"),
            "meta": re.compile(rf"^version {number}$"),
            "accords": re.compile(rf"^(accords of )?version {number}$"),
            "leaf": re.compile(rf"^log leaf of version {number}$"),
            "inclusion": re.compile(rf"^inclusion proof of version {number}$"),
        }[part]
    if m := re.fullmatch(r"heads/(\d{4})\.json", member):
        return re.compile(rf"^signed tree head {int(m.group(1))}$")
    if m := re.fullmatch(r"consistency/(\d{4})\.json", member):
        k = int(m.group(1))
        return re.compile(rf"^consistency proof between signed tree heads {k} and {k + 1}$")
    return None  # manifest, public key: any finding


@pytest.mark.parametrize("mask", [0x01, 0x20, 0xFF])
def test_every_single_byte_flip_of_every_member_is_detected(mask: int) -> None:
    """Exhaustive over a tiny bundle: 2 versions (the 2nd validated, with accords), 2 heads."""
    tiny = history(
        2,
        kinds=[VersionKind.NAMED, VersionKind.VALIDATED],
        content=PPAContent(objectifs=[Objectif(id="o1", titre="Bus")]),
    )
    members = read_members(bundle_of(tiny))
    assert members["versions/0002/accords.json"] != b"[]"
    assert verify_members(members).ok
    flips = 0
    for name, content in members.items():
        pattern = expected_subject(name)
        for position in range(len(content)):
            altered = bytearray(content)
            altered[position] ^= mask
            report = verify_members({**members, name: bytes(altered)})
            assert not report.ok, (name, position)
            first = report.first_broken
            assert first is not None
            if pattern is not None:
                assert pattern.match(first.subject), (name, position, str(first))
            flips += 1
    assert flips == sum(len(c) for c in members.values()) > 3000


def test_raw_zip_corruption_never_yields_a_false_acceptance(
    small: tuple[History, bytes],
) -> None:
    """Flipping bytes of the zip itself: refused, or the members are exactly the originals."""
    _, data = small
    original = read_members(data)
    refused = 0
    for position in range(0, len(data), 3):
        altered = bytearray(data)
        altered[position] ^= 0x01
        report = verify_bundle(bytes(altered))
        if report.ok:
            assert read_members(bytes(altered)) == original, position
        else:
            refused += 1
    assert refused > len(data) // 6


def test_named_first_broken_links(small: tuple[History, bytes]) -> None:
    h, data = small
    members = read_members(data)

    def first(**changes: bytes) -> str:
        report = verify_members({**members, **changes})
        assert report.exit_code == 1
        assert "premier maillon rompu" in report.render()
        return str(report.first_broken)

    other = h.contents[0].replace(b"Trajets accompagn", b"Trajets accompagN")
    assert first(**{"versions/0002/content.json": other}) == "version 2: content hash mismatch"
    head = members["heads/0002.json"].replace(b'"tree_size":6', b'"tree_size":7')
    assert first(**{"heads/0002.json": head}) == "signed tree head 2: bad signature"
    inclusion = canonical_json(
        {
            "leaf_index": h.leaf_indexes[1],
            "tree_size": 9,
            "path": [p.hex() for p in h.log.tree.inclusion_proof(h.leaf_indexes[0], 9)],
        }
    )
    assert (
        first(**{"versions/0002/inclusion.json": inclusion})
        == "inclusion proof of version 2: root mismatch"
    )
    assert first(**{"extra.txt": b"x"}) == "bundle: unexpected member extra.txt"
    report = verify_members({k: v for k, v in members.items() if k != "heads/0003.json"})
    assert str(report.first_broken) == "bundle: missing member heads/0003.json"
    assert str(verify_bundle(b"not a zip").first_broken) == "bundle: unreadable zip"
    wrong_key = verify_members(members, trusted_key_id="0" * 64)
    assert str(wrong_key.first_broken) == "public key: not the expected key"


def rewritten_history(h: History) -> tuple[History, bytes]:
    """What a dishonest service would produce: version 1 rewritten, everything recomputed and
    re-signed with the service's own key, the same other leaves around it."""
    log = InMemoryLog()
    records: list[VersionRecord] = []
    contents: list[bytes] = []
    indexes: list[int] = []
    heads: list[SignedTreeHead] = []
    honest_leaves = list(h.log.leaf_hashes(0, h.log.size()))
    version_positions = set(h.leaf_indexes)
    for index, leaf in enumerate(honest_leaves):
        if index not in version_positions:
            log.append_hash(leaf)
            continue
        number = len(records) + 1
        content = bytes(h.contents[number - 1])
        if number == 1:
            content = content.replace(b"Prendre le bus seule", b"Prendre le bus accompagne")
        record = make_record(
            h.records[number - 1].meta, content_hash(content), records[-1] if records else None
        )
        log.append(version_leaf_data("ppa-1", number, record.content_hash, record.chain_hash))
        records.append(record)
        contents.append(content)
        indexes.append(index)
        old = h.heads[number - 1]
        heads.append(sign_tree_head(h.key, log.size(), log.tree.root(), old.timestamp))
    forged = History(h.key, log, records, contents, indexes, heads)
    return forged, bundle_of(forged)


def test_a_rewritten_and_re_signed_history_is_caught_by_a_known_head(
    small: tuple[History, bytes],
) -> None:
    h, _ = small
    _, data = rewritten_history(h)
    # Internally consistent: alone, a bundle cannot reveal a rewrite by the key holder...
    assert verify_bundle(data).ok
    # ...but an auditor (or a witness) holding an earlier signed head catches it.
    report = verify_bundle(data, known_heads=[h.heads[0]])
    assert str(report.first_broken) == (
        "signed tree head 1: contradicts a head known to the auditor (history rewritten)"
    )
    assert verify_bundle(bundle_of(h), known_heads=h.heads).ok
    unknown = replace(h.heads[0], tree_size=4)
    assert str(verify_bundle(bundle_of(h), known_heads=[unknown]).first_broken) == (
        "known signed tree head of size 4: not covered by the bundle"
    )


def test_a_bundle_signed_by_another_key_is_refused_when_the_key_is_pinned(
    small: tuple[History, bytes],
) -> None:
    h, _ = small
    thief = generate_private_key()
    heads = [sign_tree_head(thief, x.tree_size, x.root_hash, x.timestamp) for x in h.heads]
    stolen = replace(h, key=thief, heads=heads)
    data = bundle_of(stolen)
    assert verify_bundle(data).ok
    pinned = verify_bundle(data, trusted_key_id=key_id(h.key.public_key()))
    assert str(pinned.first_broken) == "public key: not the expected key"


def test_heads_going_back_in_time_are_refused(small: tuple[History, bytes]) -> None:
    h, _ = small
    late = h.heads[1]
    early = sign_tree_head(
        h.key,
        late.tree_size,
        late.root_hash,
        late.timestamp - int(timedelta(days=30) / timedelta(milliseconds=1)),
    )
    report = verify_bundle(bundle_of(replace(h, heads=[h.heads[0], early, h.heads[2]])))
    assert str(report.first_broken) == "signed tree head 2: goes back in time"


def test_zip_members_is_deterministic_and_reads_back() -> None:
    members = {"b.json": b"{}", "a.json": b"[]"}
    assert zip_members(members) == zip_members(dict(reversed(members.items())))
    assert read_members(zip_members(members)) == members
