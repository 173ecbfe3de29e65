"""Ed25519 signed tree heads (STH) of the global Merkle log, and key file helpers.

A signed tree head commits the service to the state of the log at an instant. The signed message
is the canonical JSON of ``{"type": "ppa-collab-tree-head/1", "key_id", "tree_size",
"root_hash" (hex), "timestamp" (milliseconds since the Unix epoch, as in RFC 6962)}``, so it is
unambiguous and stable across languages.

The key id is the SHA-256 (hex) of the raw 32-byte public key: an auditor compares it with the
id the service publishes. The server keeps the private key as an unencrypted PKCS#8 PEM file in
its data directory (mode 0600), created at first start by :func:`load_or_create_private_key`.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from versions.canonical import canonical_json

TREE_HEAD_TYPE = "ppa-collab-tree-head/1"
"""Domain separation tag inside every signed tree head message."""

_HEX32 = re.compile(r"^[0-9a-f]{64}$")
_HEX64 = re.compile(r"^[0-9a-f]{128}$")


class SignatureError(ValueError):
    """A signed tree head does not verify (bad signature, unknown key, malformed)."""


def key_id(public_key: Ed25519PublicKey) -> str:
    """Return the key id: SHA-256 hex of the raw 32-byte Ed25519 public key."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


def timestamp_ms(at: datetime) -> int:
    """Return milliseconds since the Unix epoch for a timezone-aware instant."""
    if at.tzinfo is None:
        raise ValueError("instants must be timezone-aware")
    delta = at.astimezone(UTC) - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000


@dataclass(frozen=True)
class SignedTreeHead:
    """A signed statement: the log had ``tree_size`` leaves and root ``root_hash`` at ``timestamp``

    ``timestamp`` is in milliseconds since the Unix epoch (UTC); ``signature`` is the 64-byte
    Ed25519 signature of :meth:`signed_message`.
    """

    tree_size: int
    root_hash: bytes
    timestamp: int
    signature: bytes
    key_id: str

    def signed_message(self) -> bytes:
        """Return the exact bytes that are signed."""
        return tree_head_message(self.tree_size, self.root_hash, self.timestamp, self.key_id)

    @property
    def at(self) -> datetime:
        """Return the timestamp as an aware UTC datetime."""
        return datetime.fromtimestamp(self.timestamp / 1000, tz=UTC)

    def to_json(self) -> dict[str, Any]:
        """Return the plain JSON object of this head (hashes and signature in lowercase hex)."""
        return {
            "tree_size": self.tree_size,
            "root_hash": self.root_hash.hex(),
            "timestamp": self.timestamp,
            "signature": self.signature.hex(),
            "key_id": self.key_id,
        }

    @classmethod
    def from_json(cls, value: Any) -> SignedTreeHead:
        """Parse the object written by :meth:`to_json`, strictly (raises ``SignatureError``)."""
        if not isinstance(value, dict) or set(value) != {
            "tree_size",
            "root_hash",
            "timestamp",
            "signature",
            "key_id",
        }:
            raise SignatureError("malformed signed tree head")
        size, ts = value["tree_size"], value["timestamp"]
        root, sig, kid = value["root_hash"], value["signature"], value["key_id"]
        if not (type(size) is int and size >= 0 and type(ts) is int and ts >= 0):
            raise SignatureError("malformed signed tree head: size or timestamp")
        for text, pattern in ((root, _HEX32), (sig, _HEX64), (kid, _HEX32)):
            if not isinstance(text, str) or not pattern.match(text):
                raise SignatureError("malformed signed tree head: hex field")
        return cls(size, bytes.fromhex(root), ts, bytes.fromhex(sig), kid)


def tree_head_message(tree_size: int, root_hash: bytes, timestamp: int, kid: str) -> bytes:
    """Return the canonical message signed for a tree head."""
    return canonical_json(
        {
            "type": TREE_HEAD_TYPE,
            "key_id": kid,
            "tree_size": tree_size,
            "root_hash": root_hash.hex(),
            "timestamp": timestamp,
        }
    )


def sign_tree_head(
    private_key: Ed25519PrivateKey, tree_size: int, root_hash: bytes, at: datetime | int
) -> SignedTreeHead:
    """Sign the head ``(tree_size, root_hash)`` at ``at`` (aware datetime or epoch milliseconds)."""
    if len(root_hash) != 32 or tree_size < 0:
        raise ValueError("a tree head has a size >= 0 and a 32-byte root")
    ts = at if isinstance(at, int) else timestamp_ms(at)
    kid = key_id(private_key.public_key())
    signature = private_key.sign(tree_head_message(tree_size, root_hash, ts, kid))
    return SignedTreeHead(tree_size, root_hash, ts, signature, kid)


def verify_tree_head(head: SignedTreeHead, public_key: Ed25519PublicKey) -> None:
    """Check a head's key id and Ed25519 signature; raise :class:`SignatureError` otherwise."""
    if head.key_id != key_id(public_key):
        raise SignatureError("signed by another key")
    try:
        public_key.verify(head.signature, head.signed_message())
    except InvalidSignature as exc:
        raise SignatureError("bad signature") from exc


def generate_private_key() -> Ed25519PrivateKey:
    """Return a fresh Ed25519 private key."""
    return Ed25519PrivateKey.generate()


def private_key_to_pem(private_key: Ed25519PrivateKey) -> bytes:
    """Return the private key as unencrypted PKCS#8 PEM."""
    return private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def public_key_to_pem(public_key: Ed25519PublicKey) -> bytes:
    """Return the public key as SubjectPublicKeyInfo PEM (what auditors receive)."""
    return public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def load_private_key_pem(data: bytes) -> Ed25519PrivateKey:
    """Load an unencrypted PEM private key; raise ``ValueError`` unless it is Ed25519."""
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except UnsupportedAlgorithm as exc:
        raise ValueError(f"unsupported key: {exc}") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError("not an Ed25519 private key")
    return key


def load_public_key_pem(data: bytes) -> Ed25519PublicKey:
    """Load a PEM public key; raise ``ValueError`` unless it is Ed25519."""
    try:
        key = serialization.load_pem_public_key(data)
    except UnsupportedAlgorithm as exc:
        raise ValueError(f"unsupported key: {exc}") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("not an Ed25519 public key")
    return key


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


def save_private_key(private_key: Ed25519PrivateKey, path: Path) -> None:
    """Write the private key PEM to ``path`` atomically, readable by the owner only (0600)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    _write_private(tmp, private_key_to_pem(private_key))
    os.replace(tmp, path)


def load_or_create_private_key(path: Path) -> Ed25519PrivateKey:
    """Load the signing key from ``path``, creating it (0600) on first start.

    Safe when several server processes start at once: the key file is published with a hard
    link, which fails if another process won, and then everybody loads the winner's key.
    """
    if path.exists():
        return load_private_key_pem(path.read_bytes())
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = generate_private_key()
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    _write_private(tmp, private_key_to_pem(key))
    try:
        os.link(tmp, path)
    except FileExistsError:
        return load_private_key_pem(path.read_bytes())
    finally:
        tmp.unlink(missing_ok=True)
    return key
