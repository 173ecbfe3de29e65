"""Webhook secrets at rest and webhook signatures.

The ESMS chooses a secret when it registers a webhook; we sign every body with
HMAC-SHA256(secret, body). Signing needs the secret itself, so it cannot be stored as a hash
(unlike API and agenda tokens): it is stored encrypted with AES-256-GCM under a key derived
(HKDF-SHA256) from the service secret key (``PPA_SECRET_KEY`` or ``<data dir>/secret.key``),
with the webhook id as associated data. A copy of the database alone reveals no secret; changing
the service secret key makes the stored secrets unreadable (the ESMS registers its webhook again).
"""

from __future__ import annotations

import hashlib
import hmac
import os

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_VERSION = b"\x01"
SIGNATURE_HEADER = "X-PPA-Signature"


def _key(service_secret: str) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=b"ppa-collab",
        info=b"webhook-secret-v1",
    ).derive(service_secret.encode())


def encrypt_secret(service_secret: str, webhook_id: str, secret: str) -> bytes:
    """``0x01 || nonce || AES-256-GCM(secret)``, bound to the webhook id."""
    nonce = os.urandom(12)
    sealed = AESGCM(_key(service_secret)).encrypt(nonce, secret.encode(), webhook_id.encode())
    return _VERSION + nonce + sealed


def decrypt_secret(service_secret: str, webhook_id: str, blob: bytes) -> str:
    """The secret; raises ``cryptography.exceptions.InvalidTag`` if the key or row changed."""
    if blob[:1] != _VERSION:
        raise ValueError("unknown webhook secret format")
    nonce, sealed = blob[1:13], blob[13:]
    return AESGCM(_key(service_secret)).decrypt(nonce, sealed, webhook_id.encode()).decode()


def signature(secret: str, body: bytes) -> str:
    """Value of ``X-PPA-Signature``: ``sha256=<hex HMAC-SHA256 of the raw body>``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_signature(secret: str, body: bytes, header: str) -> bool:
    """What a receiver does: recompute and compare in constant time."""
    return hmac.compare_digest(signature(secret, body), header)
