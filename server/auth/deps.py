"""The current principal as a FastAPI dependency: the bearer token read and checked."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from fastapi.security import OAuth2PasswordBearer

from server.auth.principal import Principal
from server.auth.service import principal_from_token
from server.deps import SessionDep, SettingsDep
from server.errors import Unauthenticated

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/auth/token", auto_error=False)


async def get_principal(
    session: SessionDep,
    settings: SettingsDep,
    token: Annotated[str | None, Depends(oauth2_scheme)],
) -> Principal:
    """The principal the bearer token names; 401 without a token or with a bad one."""
    if not token:
        raise Unauthenticated("Authentification requise : connectez-vous pour obtenir un jeton.")
    principal = await principal_from_token(session, settings, token)
    if principal is None:
        raise Unauthenticated("Jeton invalide ou expiré : reconnectez-vous.")
    return principal


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]
