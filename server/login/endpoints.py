"""Password login (a browser session, or a bearer token for scripts), logout, who is calling.

The browser logs in with ``POST /api/auth/login`` (an ``HttpOnly`` session cookie, see
:mod:`server.auth.browser_session`); scripts and tests with ``POST /api/auth/token`` (OAuth2
password flow, a bearer token). Both share the throttling and the ``PPA_PASSWORD_LOGIN`` rule.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel, ValidationError

from server.audit.trail import trace_login, trace_logout
from server.auth import throttle
from server.auth.browser_session import (
    BrowserSessionInfo,
    close_browser_session,
    current_browser_session,
    open_browser_session,
    origin_allowed,
    require_csrf,
)
from server.auth.deps import CurrentPrincipal
from server.auth.principal import Principal
from server.auth.service import authenticate_user, issue_token, user_principal
from server.config import Settings
from server.deps import ClientAddr, DatabaseDep, SessionDep, SettingsDep
from server.errors import Forbidden, InvalidInput, Unauthenticated, error_body
from server.models import User
from server.models.identity import UserKind
from server.oidc.endpoints import provider_logout_url
from server.openapi import error_responses
from server.text_input import refuse_illegal_fields

router = APIRouter(prefix="/api/auth", tags=["auth"])

LOGIN_REFUSED = "Identifiant ou mot de passe incorrect, ou compte désactivé."
LOGIN_TRACE_LENGTH = 100
PROFESSIONALS_USE_PSC = (
    "La connexion par mot de passe des professionnels est désactivée : "
    "connectez-vous avec Pro Santé Connect."
)
FOREIGN_ORIGIN = "Requête refusée : elle ne vient pas de l'éditeur de ce service."
NO_SESSION = "Aucune session ouverte : connectez-vous."


class TokenRead(BaseModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth 2 token type, not a secret
    expires_in: int


class MeRead(BaseModel):
    id: str
    type: str
    kind: str
    display_name: str
    professional_id: str | None


class LoginBody(BaseModel):
    username: str
    password: str


class SessionRead(BaseModel):
    """The browser's session: who, how they logged in, the CSRF token to send back."""

    user: MeRead
    method: str
    csrf_token: str
    csrf_header: str = "X-CSRF-Token"
    expires_at: datetime


class LogoutRead(BaseModel):
    redirect_url: str | None = None
    """Where to send the browser next (the provider's logout after a Pro Santé Connect login)."""


def login_throttled(seconds: int) -> str:
    return (
        "Trop de tentatives de connexion échouées pour cet identifiant ou depuis cette adresse : "
        f"réessayez dans {seconds} seconde{'s' if seconds > 1 else ''}."
    )


def password_login_allowed(settings: Settings, user: User) -> bool:
    """Professionals log in with Pro Santé Connect unless ``PPA_PASSWORD_LOGIN``; persons,
    aidants, auditors and administrators keep their password."""
    return user.kind != UserKind.PROFESSIONAL.value or settings.password_login_enabled()


async def _password_login(
    session: SessionDep,
    settings: Settings,
    addr: str | None,
    db: DatabaseDep,
    username: str,
    password: str,
) -> User | JSONResponse:
    """The user a username and password designate, or the refusal to return (returned, not
    raised: the failure's trace commits)."""
    refuse_illegal_fields({"username": username, "password": password})
    login = username[:LOGIN_TRACE_LENGTH]
    # Counted before the password is checked, and committed at once: concurrent attempts see it.
    attempt = await throttle.claim(db.sessionmaker, settings, username, addr)
    if attempt.wait > 0:
        trace_login(session, login, addr, "throttled", None)
        return JSONResponse(
            error_body("TooManyRequests", login_throttled(attempt.wait)),
            status_code=429,
            headers={"Retry-After": str(attempt.wait)},
        )
    user = await authenticate_user(session, username, password)
    if user is None:
        # One answer for an unknown login, a wrong password and a deactivated account: it does
        # not tell which logins exist.
        trace_login(session, login, addr, "failed", None)
        return JSONResponse(
            error_body(Unauthenticated.code, LOGIN_REFUSED),
            status_code=Unauthenticated.status_code,
        )
    if not password_login_allowed(settings, user):  # told only to who knows the password
        trace_login(session, login, addr, "denied", user_principal(user))
        return JSONResponse(
            error_body(Forbidden.code, PROFESSIONALS_USE_PSC), status_code=Forbidden.status_code
        )
    await throttle.succeeded(session, attempt, username)
    trace_login(session, login, addr, "ok", user_principal(user))
    return user


@router.post(
    "/token",
    response_model=TokenRead,
    responses=error_responses(401, 403, 429),
)
async def login(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    session: SessionDep,
    settings: SettingsDep,
    addr: ClientAddr,
    db: DatabaseDep,
) -> TokenRead | JSONResponse:
    """Exchange a username and password for a bearer token, for scripts and API tools (the
    browser editor uses ``/api/auth/login``). 401 for a wrong login or password and for a
    deactivated account, with the same message; 403 for a professional when password login is
    off (``PPA_PASSWORD_LOGIN``); 429 with ``Retry-After`` after repeated failures of one login
    name or from one address; 422 for control characters."""
    user = await _password_login(session, settings, addr, db, form.username, form.password)
    if isinstance(user, JSONResponse):
        return user
    return TokenRead(
        access_token=issue_token(settings, user),
        expires_in=settings.access_token_minutes * 60,
    )


_LOGIN_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            media: {"schema": LoginBody.model_json_schema()}
            for media in ("application/json", "application/x-www-form-urlencoded")
        },
    }
}


async def _login_body(request: Request) -> LoginBody:
    """``username`` and ``password``, as JSON or as a form."""
    try:
        if request.headers.get("content-type", "").startswith("application/json"):
            return LoginBody.model_validate_json(await request.body())
        form = await request.form()
        return LoginBody.model_validate(
            {key: value for key, value in form.items() if isinstance(value, str)}
        )
    except ValidationError as error:
        raise InvalidInput("Identifiant et mot de passe requis.") from error


def _session_read(info: BrowserSessionInfo, user: User) -> SessionRead:
    return SessionRead(
        user=_me(user_principal(user)),
        method=info.method,
        csrf_token=info.csrf_token,
        expires_at=info.expires_at,
    )


def _me(principal: Principal) -> MeRead:
    return MeRead(
        id=principal.id,
        type=principal.type.value,
        kind=principal.kind,
        display_name=principal.display_name,
        professional_id=principal.professional_id,
    )


@router.post(
    "/login",
    response_model=SessionRead,
    responses=error_responses(401, 403, 413, 422, 429),
    openapi_extra=_LOGIN_BODY,
)
async def browser_login(
    request: Request,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    addr: ClientAddr,
    db: DatabaseDep,
) -> SessionRead | JSONResponse:
    """Log a browser in with a username and password (JSON or form): sets the ``HttpOnly``
    session cookie and returns the CSRF token to send in ``X-CSRF-Token``. Same refusals and
    throttling as ``/api/auth/token``; 403 for a request from another site (``Origin``)."""
    origin = request.headers.get("origin")
    if origin is not None and not origin_allowed(settings, origin):
        raise Forbidden(FOREIGN_ORIGIN)  # a forged login (login CSRF)
    body = await _login_body(request)
    user = await _password_login(session, settings, addr, db, body.username, body.password)
    if isinstance(user, JSONResponse):
        return user
    await open_browser_session(session, settings, request, response, user, method="password")
    info = current_browser_session(request)
    assert info is not None  # noqa: S101 - just opened
    return _session_read(info, user)


@router.get("/session", response_model=SessionRead, responses=error_responses(401))
async def browser_session(request: Request, session: SessionDep) -> SessionRead:
    """The browser's session (from its cookie): who, and the CSRF token; 401 without one."""
    info = current_browser_session(request)
    user = await session.get(User, info.user_id) if info else None
    if info is None or user is None or not user.is_active:
        raise Unauthenticated(NO_SESSION)
    return _session_read(info, user)


@router.post("/logout", response_model=LogoutRead, responses=error_responses(403))
async def browser_logout(
    request: Request,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    addr: ClientAddr,
) -> LogoutRead:
    """End the browser's session and clear its cookie (with the CSRF token of the session; a
    request without a live session only clears the cookie)."""
    info = current_browser_session(request)
    if info is not None:
        require_csrf(request, info)
    extra = await close_browser_session(session, settings, request, response)
    if info is not None:
        user = await session.get(User, info.user_id)
        trace_logout(session, user_principal(user) if user else None, info.id, addr)
    return LogoutRead(redirect_url=await provider_logout_url(request, settings, extra))


@router.get("/me", response_model=MeRead)
async def me(principal: CurrentPrincipal) -> MeRead:
    """Who the bearer token or the session cookie designates."""
    return _me(principal)
