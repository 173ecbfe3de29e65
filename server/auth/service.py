"""Resolve credentials and tokens to a Principal."""

from __future__ import annotations

import asyncio
from weakref import WeakKeyDictionary

import anyio
import anyio.to_thread
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth.principal import Principal, PrincipalType
from server.auth.security import (
    api_token_matches,
    api_token_prefix,
    create_access_token,
    decode_access_token,
    verify_password,
)
from server.config import Settings
from server.models import ApiClient, User

PASSWORD_CHECKS_AT_ONCE = 2
"""argon2 verifications at once per process (each takes 64 MiB and seconds on a loaded host)."""

_password_limiters: WeakKeyDictionary[asyncio.AbstractEventLoop, anyio.CapacityLimiter] = (
    WeakKeyDictionary()
)


def _password_limiter() -> anyio.CapacityLimiter:
    """The running event loop's limiter (one serves one loop; the tests run several servers)."""
    loop = asyncio.get_running_loop()
    limiter = _password_limiters.get(loop)
    if limiter is None:
        limiter = _password_limiters[loop] = anyio.CapacityLimiter(PASSWORD_CHECKS_AT_ONCE)
    return limiter


def user_principal(user: User) -> Principal:
    return Principal(
        type=PrincipalType.USER,
        id=user.id,
        kind=user.kind,
        display_name=user.display_name,
        professional_id=user.professional_id,
    )


def client_principal(client: ApiClient) -> Principal:
    return Principal(
        type=PrincipalType.API_CLIENT, id=client.id, kind="esms", display_name=client.name
    )


async def authenticate_user(session: AsyncSession, username: str, password: str) -> User | None:
    user = await session.scalar(select(User).where(User.username == username))
    # In a worker thread: argon2 would stall the event loop, and with it every other request
    # (and any SQLite transaction one of them has open, e.g. another login's count).
    ok = await anyio.to_thread.run_sync(
        verify_password,
        user.password_hash if user else None,
        password,
        limiter=_password_limiter(),
    )
    if user is None or not ok or not user.is_active:
        return None
    return user


def issue_token(settings: Settings, user: User, minutes: int | None = None) -> str:
    return create_access_token(
        settings.resolved_secret_key(),
        user.id,
        "user",
        minutes or settings.access_token_minutes,
    )


async def principal_from_token(
    session: AsyncSession, settings: Settings, token: str
) -> Principal | None:
    """Resolve a bearer token (user JWT or API client token); ``None`` if invalid or revoked."""
    prefix = api_token_prefix(token)
    if prefix is not None:
        client = await session.scalar(select(ApiClient).where(ApiClient.token_prefix == prefix))
        if client is None or client.revoked_at is not None:
            return None
        if not api_token_matches(token, client.token_hash):
            return None
        return client_principal(client)
    claims = decode_access_token(settings.resolved_secret_key(), token)
    if claims is None or claims.get("typ") != "user":
        return None
    user = await session.get(User, str(claims["sub"]))
    if user is None or not user.is_active:
        return None
    return user_principal(user)
