"""Login (OAuth2 password flow) and the caller's identity."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel

from server.auth.deps import CurrentPrincipal
from server.auth.service import authenticate_user, issue_token
from server.deps import SessionDep, SettingsDep
from server.errors import Unauthenticated

router = APIRouter(prefix="/api/auth", tags=["auth"])

LOGIN_REFUSED = "Identifiant ou mot de passe incorrect, ou compte désactivé."


class TokenRead(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int


class MeRead(BaseModel):
    id: str
    type: str
    kind: str
    display_name: str
    professional_id: str | None


@router.post("/token", response_model=TokenRead)
async def login(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    session: SessionDep,
    settings: SettingsDep,
) -> TokenRead:
    """Exchange a username and password for a bearer token (401 for a wrong login or password
    and for a deactivated account, with the same message)."""
    user = await authenticate_user(session, form.username, form.password)
    if user is None:
        # One answer for an unknown login, a wrong password and a deactivated account: it does
        # not tell which logins exist.
        raise Unauthenticated(LOGIN_REFUSED)
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
