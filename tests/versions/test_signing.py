"""Signed tree heads: sign/verify, strict parsing, PEM helpers, key file creation."""

from __future__ import annotations

import hashlib
import stat
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from versions.signing import (
    SignatureError,
    SignedTreeHead,
    generate_private_key,
    key_id,
    load_or_create_private_key,
    load_private_key_pem,
    load_public_key_pem,
    private_key_to_pem,
    public_key_to_pem,
    sign_tree_head,
    timestamp_ms,
    verify_tree_head,
)

ROOT = hashlib.sha256(b"root").digest()
AT = datetime(2025, 6, 1, 8, 30, 0, 123456, tzinfo=UTC)


def test_sign_and_verify() -> None:
    key = generate_private_key()
    head = sign_tree_head(key, 42, ROOT, AT)
    assert head.timestamp == timestamp_ms(AT) == 1748766600123
    assert head.key_id == key_id(key.public_key())
    verify_tree_head(head, key.public_key())
    assert SignedTreeHead.from_json(head.to_json()) == head
    assert head.at == datetime(2025, 6, 1, 8, 30, 0, 123000, tzinfo=UTC)


@pytest.mark.parametrize(
    "change",
    [
        {"tree_size": 43},
        {"root_hash": hashlib.sha256(b"other").digest()},
        {"timestamp": 1},
        {"signature": bytes(64)},
    ],
)
def test_any_change_breaks_the_signature(change: dict[str, object]) -> None:
    key = generate_private_key()
    head = replace(sign_tree_head(key, 42, ROOT, AT), **change)  # type: ignore[arg-type]
    with pytest.raises(SignatureError):
        verify_tree_head(head, key.public_key())


def test_other_key_is_refused() -> None:
    head = sign_tree_head(generate_private_key(), 1, ROOT, AT)
    with pytest.raises(SignatureError, match="another key"):
        verify_tree_head(head, generate_private_key().public_key())
    other = generate_private_key()
    forged = replace(head, key_id=key_id(other.public_key()))
    with pytest.raises(SignatureError, match="bad signature"):
        verify_tree_head(forged, other.public_key())


@pytest.mark.parametrize(
    "mutate",
    [
        lambda j: j.update(root_hash=j["root_hash"].upper()),
        lambda j: j.update(tree_size=True),
        lambda j: j.update(tree_size=-1),
        lambda j: j.update(extra=1),
        lambda j: j.pop("key_id"),
        lambda j: j.update(signature=j["signature"][:-2]),
    ],
)
def test_strict_parsing(mutate: object) -> None:
    head = sign_tree_head(generate_private_key(), 3, ROOT, AT)
    value = head.to_json()
    mutate(value)  # type: ignore[operator]
    with pytest.raises(SignatureError):
        SignedTreeHead.from_json(value)


def test_pem_round_trip_and_key_file(tmp_path: Path) -> None:
    key = generate_private_key()
    assert key_id(load_private_key_pem(private_key_to_pem(key)).public_key()) == key_id(
        key.public_key()
    )
    assert key_id(load_public_key_pem(public_key_to_pem(key.public_key()))) == key_id(
        key.public_key()
    )
    path = tmp_path / "data" / "tree-head-key.pem"
    created = load_or_create_private_key(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    loaded = load_or_create_private_key(path)
    assert key_id(loaded.public_key()) == key_id(created.public_key())
    assert list(path.parent.iterdir()) == [path]  # no temporary file left
    with pytest.raises(ValueError, match="Ed25519"):
        load_public_key_pem(
            b"-----BEGIN PUBLIC KEY-----\n"
            b"MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEEVs/o5+uQbTjL3chynL4wXgUg2R9\n"
            b"q9UU8I5mEovUf86QZ7kOBIjJwqnzD1omageEHWwHdBO6B+dFabmdT9POxg==\n"
            b"-----END PUBLIC KEY-----\n"
        )
