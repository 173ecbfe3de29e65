"""Resolve credentials and tokens to a Principal."""

from __future__ import annotations

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
    ok = verify_password(user.password_hash if user else None, password)
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
