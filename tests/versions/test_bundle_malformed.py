"""The bundle verifier never raises: every malformed input becomes a finding (issue 11.14)."""

from __future__ import annotations

import io
import warnings
import zipfile
from functools import cache

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.versions.factory import history
from versions.bundle import assemble_bundle, read_members, verify_bundle, zip_members
from versions.bundle import verify as verify_module
from versions.bundle.report import Report
from versions.bundle.verify import INTERNAL_ERROR

HUGE = "1" + "0" * 5000
"""A 5,001-digit integer: beyond Python's default int/str conversion limit (4,300 digits)."""

SETTINGS = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@cache
def intact() -> dict[str, bytes]:
    """The members of an intact bundle (two versions, audit trail included)."""
    h = history(2)
    data = assemble_bundle(
        "ppa-1",
        list(zip(h.records, h.contents, h.leaf_indexes, strict=True)),
        h.log.tree,
        h.heads,
        h.key.public_key(),
    )
    return read_members(data)


def _digits(draw_huge: bool, value: int) -> str:
    return HUGE if draw_huge else str(value)


json_scalars = st.one_of(
    st.sampled_from(["null", "true", "false"]),
    st.builds(_digits, st.booleans(), st.integers(min_value=-(2**70), max_value=2**70)),
    st.sampled_from(['"ppa-1"', '"x"', '""', '"ppa-collab-audit-bundle/2"', '"a\\u0000"']),
    st.sampled_from(["1.5", "1e400", "-0", "NaN", "Infinity", "01", '"\\ud800"']),
)
"""JSON texts of scalars, canonical or not (floats, huge integers, lone surrogates)."""


def _array(items: list[str]) -> str:
    return "[" + ",".join(items) + "]"


def _object(pairs: dict[str, str]) -> str:
    return "{" + ",".join(f'"{k}":{v}' for k, v in sorted(pairs.items())) + "}"


json_texts = st.recursive(
    json_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4).map(_array),
        st.dictionaries(st.sampled_from(["a", "format", "path", "type"]), children, max_size=4).map(
            _object
        ),
    ),
    max_leaves=12,
)
"""JSON texts of any shape and type."""

deep_texts = st.integers(min_value=500, max_value=200_000).map(lambda n: "[" * n + "]" * n)
"""Nesting deep enough to exhaust a recursive parser or encoder."""

MANIFEST_KEYS = (
    "format",
    "ppa_id",
    "key_id",
    "versions",
    "heads",
    "tree_size",
    "audit_events",
    "audit_checkpoints",
)


@st.composite
def manifests(draw: st.DrawFn) -> bytes:
    """A manifest with the expected keys (some dropped) holding values of any type."""
    pairs = {
        key: draw(st.one_of(json_texts, deep_texts))
        for key in MANIFEST_KEYS
        if draw(st.integers(0, 9))  # drop a key one time in ten
    }
    if draw(st.booleans()):
        pairs["format"] = '"ppa-collab-audit-bundle/' + draw(st.sampled_from(["1", "2"])) + '"'
    return _object(pairs).encode()


member_bytes = st.one_of(
    st.binary(max_size=200),
    json_texts.map(str.encode),
    deep_texts.map(str.encode),
    manifests(),
)
"""Bytes that may stand in for any member."""


@st.composite
def altered_members(draw: st.DrawFn) -> dict[str, bytes]:
    """The intact bundle with members replaced, truncated, removed or added."""
    members = dict(intact())
    names = sorted(members)
    for _ in range(draw(st.integers(1, 3))):
        name = draw(st.sampled_from(names))
        action = draw(st.sampled_from(["replace", "truncate", "remove", "add"]))
        if action == "replace":
            members[name] = draw(member_bytes)
        elif action == "truncate" and name in members:
            members[name] = members[name][: draw(st.integers(0, len(members[name])))]
        elif action == "remove":
            members.pop(name, None)
        else:
            members[draw(st.sampled_from([*names, "extra.json", "versions/0009/meta.json"]))] = (
                draw(member_bytes)
            )
    if members == intact():
        members["manifest.json"] = HUGE.encode()
    return members


@st.composite
def garbled_zips(draw: st.DrawFn) -> bytes:
    """Zip bytes truncated, overwritten in places, or with a member stored twice."""
    data = bytearray(zip_members(draw(altered_members())))
    action = draw(st.sampled_from(["truncate", "flip", "duplicate", "none"]))
    if action == "truncate":
        return bytes(data[: draw(st.integers(0, len(data) - 1))])
    if action == "flip":
        for _ in range(draw(st.integers(1, 8))):
            at = draw(st.integers(0, len(data) - 1))
            data[at] = draw(st.integers(0, 255))
        return bytes(data)
    if action == "duplicate":
        buffer = io.BytesIO(bytes(data))
        with zipfile.ZipFile(buffer, "a") as archive, warnings.catch_warnings():
            warnings.simplefilter("ignore")  # zipfile warns of the duplicate name on purpose
            archive.writestr("manifest.json", draw(member_bytes))
        return buffer.getvalue()
    return bytes(data)


inputs = st.one_of(st.binary(max_size=400), garbled_zips(), altered_members().map(zip_members))
"""Anything an auditor might be handed as a bundle."""


def assert_broken(report: Report) -> None:
    """A broken bundle: exit 1, a first broken link, and no internal error behind it."""
    assert not report.ok
    assert report.exit_code == 1
    first = report.first_broken
    assert first is not None
    assert "premier maillon rompu" in report.render()
    assert all(finding.problem != INTERNAL_ERROR for finding in report.findings), report.render()


@SETTINGS
@given(inputs)
def test_any_input_gives_a_finding_never_an_exception(data: bytes) -> None:
    assert_broken(verify_bundle(data))


@SETTINGS
@given(manifests())
def test_any_manifest_gives_a_finding(manifest: bytes) -> None:
    members = dict(intact())
    members["manifest.json"] = manifest
    assert_broken(verify_bundle(zip_members(members)))


def test_a_huge_integer_in_the_manifest_is_a_finding() -> None:
    members = dict(intact())
    members["manifest.json"] = members["manifest.json"].replace(
        b'"versions":2', b'"versions":' + HUGE.encode()
    )
    report = verify_bundle(zip_members(members))
    assert_broken(report)
    assert report.first_broken is not None
    assert report.first_broken.subject == "manifest"


def test_deep_nesting_in_a_member_is_a_finding() -> None:
    members = dict(intact())
    members["heads/0001.json"] = b"[" * 100_000 + b"]" * 100_000
    report = verify_bundle(zip_members(members))
    assert_broken(report)
    assert report.first_broken is not None
    assert report.first_broken.subject == "signed tree head 1"


def test_a_verifier_bug_still_reports_a_broken_bundle(monkeypatch: pytest.MonkeyPatch) -> None:
    """The last line of defence: an unexpected exception in a check is a finding, not a crash."""

    def bug(*_: object) -> None:
        raise KeyError("bug")

    monkeypatch.setattr(verify_module._Verifier, "key", bug)
    report = verify_bundle(zip_members(intact()))
    assert report.exit_code == 1
    assert report.first_broken is not None
    assert report.first_broken.problem == INTERNAL_ERROR
    assert "erreur interne du vérificateur : KeyError" in report.render()
