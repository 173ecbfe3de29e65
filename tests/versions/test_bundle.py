"""Audit bundle: build, verify offline, exhaustive single-byte tampering, forged histories."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from editor.schema import Objectif, PPAContent
from tests.versions.factory import T0, History, history
from versions.audit import AuditEventRecord
from versions.bundle import (
    BUNDLE_FORMAT_V1,
    assemble_bundle,
    read_members,
    verify_bundle,
    verify_members,
    zip_members,
)
from versions.canonical import canonical_json, content_hash, parse_canonical
from versions.chain import VersionKind, VersionRecord, make_record
from versions.merkle import InMemoryLog, version_leaf_data
from versions.signing import SignedTreeHead, generate_private_key, key_id, sign_tree_head


def event(event_id: int, ppa_id: str = "ppa-1", action: str = "version.read") -> AuditEventRecord:
    """An audit event about ``ppa_id`` (another person's when it is not ``ppa-1``)."""
    return AuditEventRecord(
        id=event_id,
        at=T0 + timedelta(minutes=event_id),
        actor_type="member",
        actor_id="member-1",
        role="referent",
        action=action,
        object_type="ppa",
        object_id=ppa_id,
        person_id="person-1" if ppa_id == "ppa-1" else "person-2",
        client_addr="127.0.0.1",
        outcome="ok",
    )


# Two sealed batches mixing ppa-1's events with another person's (5 is ppa-1's, sealed in the
# second batch), and one event of ppa-1 not sealed yet (8).
BATCHES = [
    [event(1), event(2, "ppa-2"), event(3, action="version.save")],
    [event(4, "ppa-2"), event(5), event(7, "ppa-2")],
]
PPA_EVENTS = [event(1), event(3, action="version.save"), event(5), event(8, action="ppa.history")]


def bundle_of(h: History, audit_events: Sequence[AuditEventRecord] = PPA_EVENTS) -> bytes:
    return assemble_bundle(
        "ppa-1",
        list(zip(h.records, h.contents, h.leaf_indexes, strict=True)),
        h.log.tree,
        h.heads,
        h.key.public_key(),
        audit_events if h.sealed else (),
        h.sealed,
    )


@pytest.fixture(scope="module")
def small() -> tuple[History, bytes]:
    h = history(3, batches=BATCHES)
    return h, bundle_of(h)


def test_intact_bundle_verifies(small: tuple[History, bytes], tmp_path: Path) -> None:
    h, data = small
    path = tmp_path / "audit.zip"
    path.write_bytes(data)
    report = verify_bundle(path, trusted_key_id=key_id(h.key.public_key()))
    assert report.ok, report.render()
    assert report.exit_code == 0
    assert (report.versions, report.heads, report.tree_size) == (3, 3, 9)
    assert (report.audit_events, report.audit_sealed, report.audit_unsealed) == (4, 3, 1)
    assert report.audit_checkpoints == 2
    text = report.render()
    assert "3 événement(s) vérifié(s)" in text
    assert "1 non scellé(s)" in text
    assert "3 event(s) verified" in text
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
    if m := re.fullmatch(r"audit/checkpoints/(\d{4})/(leaf|inclusion)\.json", member):
        k = int(m.group(1))
        if m.group(2) == "leaf":
            # an altered leaf that stays canonical no longer matches its inclusion proof
            return re.compile(rf"^(inclusion proof of )?audit checkpoint {k}$")
        return re.compile(rf"^inclusion proof of audit checkpoint {k}$")
    if m := re.fullmatch(r"audit/events/(\d{4})/(event|seal)\.json", member):
        n = int(m.group(1))
        if m.group(2) == "seal":
            return re.compile(rf"^batch proof of audit event {n}$")
        # an altered event that stays canonical no longer matches its batch proof
        return re.compile(rf"^(batch proof of )?audit event {n}$")
    return None  # manifest, public key: any finding


UNSEALED_EVENT = "audit/events/0004/event.json"


@pytest.mark.parametrize("mask", [0x01, 0x20, 0xFF])
def test_every_single_byte_flip_of_every_member_is_detected(mask: int) -> None:
    """Exhaustive over a tiny bundle: 2 versions (the 2nd validated, with accords), 2 heads,
    3 sealed audit events in 2 checkpoints and 1 unsealed event."""
    tiny = history(
        2,
        kinds=[VersionKind.NAMED, VersionKind.VALIDATED],
        content=PPAContent(objectifs=[Objectif(id="o1", titre="Bus")]),
        batches=BATCHES,
    )
    members = read_members(bundle_of(tiny))
    assert members["versions/0002/accords.json"] != b"[]"
    intact = verify_members(members)
    assert intact.ok
    assert (intact.audit_sealed, intact.audit_unsealed, intact.audit_checkpoints) == (3, 1, 2)
    assert b'"checkpoint":null' in members["audit/events/0004/seal.json"]
    flips = unproven = 0
    for name, content in members.items():
        pattern = expected_subject(name)
        for position in range(len(content)):
            altered = bytearray(content)
            altered[position] ^= mask
            report = verify_members({**members, name: bytes(altered)})
            if name == UNSEALED_EVENT and report.ok:
                # An event not sealed yet proves nothing: an alteration that keeps it canonical
                # and about this PPA cannot be seen, but it is never counted as verified.
                assert (report.audit_sealed, report.audit_unsealed) == (3, 1)
                unproven += 1
                flips += 1
                continue
            assert not report.ok, (name, position)
            first = report.first_broken
            assert first is not None
            if pattern is not None:
                assert pattern.match(first.subject), (name, position, str(first))
            flips += 1
    assert flips == sum(len(c) for c in members.values()) > 4000
    assert unproven < len(members[UNSEALED_EVENT])


def renumbered(members: dict[str, bytes], drop: int) -> dict[str, bytes]:
    """The bundle without audit event ``drop``: later events renumbered, manifest recounted."""
    out: dict[str, bytes] = {}
    for name, data in members.items():
        m = re.fullmatch(r"audit/events/(\d{4})/(\w+\.json)", name)
        if m is None:
            out[name] = data
        elif int(m.group(1)) != drop:
            number = int(m.group(1)) - (int(m.group(1)) > drop)
            out[f"audit/events/{number:04d}/{m.group(2)}"] = data
    manifest = parse_canonical(members["manifest.json"])
    manifest["audit_events"] -= 1
    out["manifest.json"] = canonical_json(manifest)
    return out


def test_what_the_audit_part_proves_and_what_it_does_not(small: tuple[History, bytes]) -> None:
    _, data = small
    members = read_members(data)

    def first(changed: dict[str, bytes]) -> str:
        report = verify_members(changed)
        assert report.exit_code == 1
        return str(report.first_broken)

    # A member deleted without recounting: missing.
    without = {k: v for k, v in members.items() if k != "audit/events/0002/seal.json"}
    assert first(without) == "bundle: missing member audit/events/0002/seal.json"
    # An event swapped for another PPA's (re-encoded canonically): refused.
    other = canonical_json(
        {**parse_canonical(members["audit/events/0001/event.json"]), "object_id": "ppa-2"}
    )
    assert first({**members, "audit/events/0001/event.json": other}) == (
        "audit event 1: not about this PPA"
    )
    # An event's action rewritten (canonical): its batch proof no longer leads to the digest.
    edited = members["audit/events/0002/event.json"].replace(b"version.save", b"version.read")
    assert first({**members, "audit/events/0002/event.json": edited}).startswith(
        "batch proof of audit event 2: root mismatch"
    )
    # An unsealed event passed off as sealed with another event's proof: refused.
    assert first(
        {**members, "audit/events/0004/seal.json": members["audit/events/0003/seal.json"]}
    ).startswith("batch proof of audit event 4:")
    # A checkpoint leaf replaced by another: its inclusion proof fails.
    swapped = members["audit/checkpoints/0002/leaf.json"]
    assert first({**members, "audit/checkpoints/0001/leaf.json": swapped}).startswith(
        "inclusion proof of audit checkpoint 1:"
    )
    # Omission: an event of this PPA left out, the rest renumbered and recounted, still
    # verifies - a batch mixes every person's traces and the checkpoint commits to no per-PPA
    # count, so the bundle proves the integrity and sealing of the events shown, not that
    # they are all of the PPA's events (``ppa audit verify-trail`` checks whole batches).
    report = verify_members(renumbered(members, 2))
    assert report.ok, report.render()
    assert (report.audit_sealed, report.audit_unsealed) == (2, 1)


def test_a_format_1_bundle_still_verifies(small: tuple[History, bytes]) -> None:
    _, data = small
    members = {k: v for k, v in read_members(data).items() if not k.startswith("audit/")}
    manifest = parse_canonical(members["manifest.json"])
    del manifest["audit_events"], manifest["audit_checkpoints"]
    manifest["format"] = BUNDLE_FORMAT_V1
    report = verify_members({**members, "manifest.json": canonical_json(manifest)})
    assert report.ok, report.render()
    assert not report.audit_trail
    assert "absent (bundle au format 1)" in report.render()
    # A format 2 manifest without the audit counts is malformed.
    manifest["format"] = "ppa-collab-audit-bundle/2"
    report = verify_members({**members, "manifest.json": canonical_json(manifest)})
    assert str(report.first_broken) == "manifest: malformed"


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
