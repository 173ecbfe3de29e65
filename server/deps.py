"""FastAPI dependencies shared by every domain: session, settings, current principal."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth.principal import Principal
from server.auth.service import principal_from_token
from server.config import Settings
from server.db import Database
from server.errors import Unauthenticated

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/auth/token", auto_error=False)


def get_database(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def get_app_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_session(
    db: Annotated[Database, Depends(get_database)],
) -> AsyncIterator[AsyncSession]:
    """One session per request: committed after the endpoint returns, rolled back on error."""
    async for session in db.session():
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
SettingsDep = Annotated[Settings, Depends(get_app_settings)]


async def get_principal(
    session: SessionDep,
    settings: SettingsDep,
    token: Annotated[str | None, Depends(oauth2_scheme)],
) -> Principal:
    if not token:
        raise Unauthenticated("Authentification requise : connectez-vous pour obtenir un jeton.")
    principal = await principal_from_token(session, settings, token)
    if principal is None:
        raise Unauthenticated("Jeton invalide ou expiré : reconnectez-vous.")
    return principal


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]


def client_address(request: Request) -> str | None:
    return request.client.host if request.client else None


ClientAddr = Annotated[str | None, Depends(client_address)]
