"""Password hashing (argon2id), access tokens (JWT HS256), API client tokens (SHA-256 at rest)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_hasher = PasswordHasher()
# A fixed hash verified when the username is unknown, so timing does not reveal which logins exist.
_DUMMY_HASH = _hasher.hash("ppa-collab-dummy-password")

API_TOKEN_PREFIX = "ppa_"  # noqa: S105 - a public prefix, not a secret


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def create_access_token(
    secret: str, subject: str, subject_type: str, minutes: int, **claims: Any
) -> str:
    now = datetime.now(UTC)
    payload = {
        "sub": subject,
        "typ": subject_type,
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(minutes=minutes)).timestamp()),
        "jti": secrets.token_hex(8),
        **claims,
    }
    return jwt.encode(payload, secret, algorithm="HS256")


def decode_access_token(secret: str, token: str) -> dict[str, Any] | None:
    try:
        data: dict[str, Any] = jwt.decode(
            token, secret, algorithms=["HS256"], options={"require": ["exp", "sub", "typ"]}
        )
    except jwt.PyJWTError:
        return None
    return data


def new_api_token() -> tuple[str, str, str]:
    """Return (token shown once, prefix stored in clear for lookup, SHA-256 hash stored)."""
    prefix = secrets.token_hex(6)
    token = f"{API_TOKEN_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    return token, prefix, hash_api_token(token)


def hash_api_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def api_token_prefix(token: str) -> str | None:
    if not token.startswith(API_TOKEN_PREFIX):
        return None
    rest = token[len(API_TOKEN_PREFIX) :]
    prefix, _, secret = rest.partition("_")
    return prefix if prefix and secret else None


def api_token_matches(token: str, token_hash: str) -> bool:
    return hmac.compare_digest(hash_api_token(token), token_hash)
