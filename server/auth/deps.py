"""The current principal as a FastAPI dependency: the bearer token (API clients, scripts) first,
else the browser session cookie (with its CSRF token on the requests that change something)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer

from server.auth.browser_session import current_browser_session, presented_id, require_csrf
from server.auth.principal import Principal
from server.auth.service import principal_from_token, user_principal
from server.deps import SessionDep, SettingsDep
from server.errors import Unauthenticated
from server.models import User

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/auth/token", auto_error=False)

SESSION_ENDED = "Session expirée ou fermée : reconnectez-vous."


async def get_principal(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    token: Annotated[str | None, Depends(oauth2_scheme)],
) -> Principal:
    """The principal the bearer token or the session cookie names; 401 without either or with a
    bad one; 403 for a cookie-authenticated change without the CSRF token."""
    if token:
        principal = await principal_from_token(session, settings, token)
        if principal is None:
            raise Unauthenticated("Jeton invalide ou expiré : reconnectez-vous.")
        return principal
    info = current_browser_session(request)
    if info is None:
        if presented_id(settings, request):
            raise Unauthenticated(SESSION_ENDED)
        raise Unauthenticated("Authentification requise : connectez-vous.")
    user = await session.get(User, info.user_id)
    if user is None or not user.is_active:
        raise Unauthenticated(SESSION_ENDED)
    require_csrf(request, info)
    return user_principal(user)


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]
