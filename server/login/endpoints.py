"""Login (OAuth2 password flow) and the caller's identity."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel

from server.audit.trail import trace_login
from server.auth import throttle
from server.auth.deps import CurrentPrincipal
from server.auth.service import authenticate_user, issue_token, user_principal
from server.deps import ClientAddr, DatabaseDep, SessionDep, SettingsDep
from server.errors import Unauthenticated, error_body
from server.openapi import error_responses
from server.text_input import refuse_illegal_fields

router = APIRouter(prefix="/api/auth", tags=["auth"])

LOGIN_REFUSED = "Identifiant ou mot de passe incorrect, ou compte désactivé."
LOGIN_TRACE_LENGTH = 100


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


def login_throttled(seconds: int) -> str:
    return (
        "Trop de tentatives de connexion échouées pour cet identifiant ou depuis cette adresse : "
        f"réessayez dans {seconds} seconde{'s' if seconds > 1 else ''}."
    )


@router.post(
    "/token",
    response_model=TokenRead,
    responses=error_responses(401, 429),
)
async def login(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    session: SessionDep,
    settings: SettingsDep,
    addr: ClientAddr,
    db: DatabaseDep,
) -> TokenRead | JSONResponse:
    """Exchange a username and password for a bearer token (401 for a wrong login or password
    and for a deactivated account, with the same message; 429 with ``Retry-After`` after
    repeated failures of one login name or from one address; 422 for control characters)."""
    refuse_illegal_fields({"username": form.username, "password": form.password})
    # Counted before the password is checked, and committed at once: concurrent attempts see it.
    attempt = await throttle.claim(db.sessionmaker, settings, form.username, addr)
    if attempt.wait > 0:
        trace_login(session, form.username[:LOGIN_TRACE_LENGTH], addr, "throttled", None)
        return JSONResponse(
            error_body("TooManyRequests", login_throttled(attempt.wait)),
            status_code=429,
            headers={"Retry-After": str(attempt.wait)},
        )
    user = await authenticate_user(session, form.username, form.password)
    if user is None:
        # One answer for an unknown login, a wrong password and a deactivated account: it does
        # not tell which logins exist. Returned, not raised: the failure's trace commits.
        trace_login(session, form.username[:LOGIN_TRACE_LENGTH], addr, "failed", None)
        return JSONResponse(
            error_body(Unauthenticated.code, LOGIN_REFUSED),
            status_code=Unauthenticated.status_code,
        )
    await throttle.succeeded(session, attempt, form.username)
    trace_login(session, form.username[:LOGIN_TRACE_LENGTH], addr, "ok", user_principal(user))
    return TokenRead(
        access_token=issue_token(settings, user),
        expires_in=settings.access_token_minutes * 60,
    )


@router.get("/me", response_model=MeRead)
async def me(principal: CurrentPrincipal) -> MeRead:
    """Who the bearer token designates."""
    return MeRead(
        id=principal.id,
        type=principal.type.value,
        kind=principal.kind,
        display_name=principal.display_name,
        professional_id=principal.professional_id,
    )
