"""The Pro Santé Connect routes: the login's two legs (browser navigations, answered with
redirects or a French page), the practice shown, and which logins the service offers; the
logout at the provider that ``POST /api/auth/logout`` hands the browser."""

from __future__ import annotations

import json
import re
from html import escape
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

import structlog
from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import BaseModel

from server.audit.trail import trace_login
from server.auth.browser_session import (
    cookie_secure,
    current_browser_session,
    open_browser_session,
)
from server.auth.service import user_principal
from server.config import Settings
from server.deps import ClientAddr, DatabaseDep, SessionDep, SettingsDep
from server.errors import NotFound, Unauthenticated
from server.models import BrowserSession
from server.oidc import flow, psc
from server.oidc.errors import LoginRefused
from server.oidc.provider import Provider
from server.oidc.tokens import Expected, check_id_token
from server.openapi import error_responses

log = structlog.get_logger(__name__)
router = APIRouter(prefix="/api/auth", tags=["auth"])

PSC_NAME = "Pro Santé Connect"
LOGIN_PATH = "/api/auth/psc/login"
CALLBACK_PATH = "/api/auth/psc/callback"
LOGIN_PAGE = "/#/connexion"
NO_STORE = {"Cache-Control": "no-store"}
EDITOR_INDEX = Path(__file__).resolve().parents[2] / "editor" / "web" / "dist" / "index.html"
_ERROR_CODE = re.compile(r"[a-z_]{1,40}")
_STYLESHEET = re.compile(r'<link rel="stylesheet" href="(/assets/[A-Za-z0-9._-]+\.css)">')
NOT_CONFIGURED = LoginRefused(
    "not_configured", "La connexion avec Pro Santé Connect n'est pas proposée par ce service.", 404
)


class LoginProvider(BaseModel):
    id: str
    name: str
    login_url: str


class LoginProviders(BaseModel):
    password: bool
    """Whether the login form (login name and password) is offered."""
    providers: list[LoginProvider]


def provider_of(request: Request, settings: Settings) -> Provider:
    """The app's provider (metadata and keys cached for the process)."""
    provider: Provider | None = getattr(request.app.state, "oidc_provider", None)
    if provider is None or provider.settings is not settings:
        provider = request.app.state.oidc_provider = Provider(settings)
    return provider


def redirect_uri(settings: Settings) -> str:
    return settings.resolved_public_url() + CALLBACK_PATH


def _stylesheet() -> str:
    """The editor's stylesheet link (its name carries a hash), when the bundle is built."""
    try:
        index = EDITOR_INDEX.read_text(encoding="utf-8")
    except OSError:
        return ""
    match = _STYLESHEET.search(index)
    return f'<link rel="stylesheet" href="{escape(match.group(1))}">' if match else ""


def refusal_page(refusal: LoginRefused) -> HTMLResponse:
    """The French page a refused or failed login ends on (styled like the login page)."""
    body = f"""<!DOCTYPE html>
<html lang="fr">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Connexion impossible - PPA collaboratif</title>
{_stylesheet()}
</head>
<body>
<header class="app-header"><div class="app-header__inner"><a class="brand" href="/">\
<span class="brand__mark" aria-hidden="true">PPA</span> collaboratif</a></div></header>
<main id="main"><div class="login-page">
<h1>Connexion impossible</h1>
<p>{escape(refusal.detail, quote=False)}</p>
<p class="hint">Code à communiquer à l'assistance si besoin :
<code>{escape(refusal.reason)}</code></p>
<p><a class="btn btn--primary" href="{LOGIN_PAGE}">Retour à la page de connexion</a></p>
</div></main>
</body>
</html>
"""
    return HTMLResponse(body, status_code=refusal.status, headers=NO_STORE)


@router.get("/providers", response_model=LoginProviders)
async def providers(settings: SettingsDep) -> LoginProviders:
    """The ways to log in the login page offers (public: asked before any login)."""
    offered = []
    if settings.oidc_issuer:
        offered.append(LoginProvider(id=psc.PROVIDER, name=PSC_NAME, login_url=LOGIN_PATH))
    return LoginProviders(password=settings.password_login_enabled(), providers=offered)


@router.get("/psc/login", include_in_schema=False, response_model=None)
async def psc_login(
    request: Request,
    settings: SettingsDep,
    db: DatabaseDep,
    return_to: Annotated[str | None, Query(alias="next", max_length=200)] = None,
) -> Response:
    """Send the browser to Pro Santé Connect (authorization code flow, PKCE S256, state,
    nonce, acr_values); ``next`` is the editor route to come back to (``#/...``)."""
    try:
        if not settings.oidc_issuer:
            raise NOT_CONFIGURED
        metadata = await provider_of(request, settings).metadata()
        browser = request.cookies.get(flow.BROWSER_COOKIE)
        started = await flow.start(db, settings, browser, return_to)
    except LoginRefused as refusal:
        log.info("oidc.login_unavailable", reason=refusal.reason)
        return refusal_page(refusal)
    scopes = settings.oidc_scopes.split()
    params = {
        "response_type": "code",
        "client_id": settings.oidc_client_id or "",
        "redirect_uri": redirect_uri(settings),
        "scope": " ".join(["openid", *(scope for scope in scopes if scope != "openid")]),
        "state": started.state,
        "nonce": started.nonce,
        "code_challenge": started.code_challenge,
        "code_challenge_method": "S256",
    }
    if settings.oidc_acr:
        params["acr_values"] = settings.oidc_acr
    separator = "&" if "?" in metadata.authorization_endpoint else "?"
    response = RedirectResponse(
        metadata.authorization_endpoint + separator + urlencode(params),
        status_code=302,
        headers=NO_STORE,
    )
    response.set_cookie(
        flow.BROWSER_COOKIE,
        started.browser,
        max_age=int(settings.oidc_login_minutes * 60),
        path=flow.BROWSER_COOKIE_PATH,
        secure=cookie_secure(settings),
        httponly=True,
        samesite="lax",
    )
    return response


async def _identity(
    request: Request,
    settings: Settings,
    returned: flow.Returned,
    query: dict[str, str],
) -> tuple[psc.PscIdentity, str]:
    """Check the provider's answer and read who logged in; also the ID token (logout hint)."""
    provider = provider_of(request, settings)
    metadata = await provider.metadata()
    # RFC 9207: the answer names its issuer (a provider that says so must always name it).
    iss = query.get("iss")
    if (iss is not None and iss != provider.issuer) or (iss is None and metadata.iss_parameter):
        raise LoginRefused(
            "wrong_issuer_parameter",
            "Cette réponse ne vient pas de Pro Santé Connect : la connexion est refusée.",
        )
    if "error" in query:
        # Logged and shown: an OAuth error code (RFC 6749 §4.1.2.1), never free text.
        error = query["error"] if _ERROR_CODE.fullmatch(query["error"]) else "other"
        cancelled = error in ("access_denied", "login_required", "consent_required")
        raise LoginRefused(
            f"provider_{error}",
            "La connexion a été annulée ou refusée sur Pro Santé Connect. Vous pouvez la "
            "recommencer depuis la page de connexion."
            if cancelled
            else "Pro Santé Connect n'a pas pu vous authentifier. Vous pouvez recommencer la "
            "connexion depuis la page de connexion.",
            status=403 if cancelled else 502,
        )
    code = query.get("code")
    if not code:
        raise LoginRefused("code_missing", "Réponse de Pro Santé Connect incomplète (sans code).")
    answer = await provider.redeem(code, returned.code_verifier, redirect_uri(settings))
    claims = await provider.verify(answer.id_token, metadata.id_token_algorithms)
    expected = Expected(
        issuer=provider.issuer,
        client_id=provider.client_id,
        nonce=returned.nonce,
        acr=settings.oidc_acr or None,
        max_age_seconds=settings.oidc_login_minutes * 60,
    )
    check_id_token(claims, expected)
    userinfo: dict[str, Any] = {}
    if answer.access_token:
        userinfo = await provider.userinfo(answer.access_token, str(claims["sub"]))
    return psc.psc_identity(claims, userinfo), answer.id_token


@router.get("/psc/callback", include_in_schema=False, response_model=None)
async def psc_callback(
    request: Request,
    settings: SettingsDep,
    db: DatabaseDep,
    session: SessionDep,
    addr: ClientAddr,
) -> Response:
    """Finish the login: the state taken (once, by the browser that started it), the code
    redeemed, the ID token and userinfo checked, the professional found by RPPS; then a browser
    session and the editor, or a French page saying why not."""
    query = {key: value[:2000] for key, value in request.query_params.items()}
    identity: psc.PscIdentity | None = None
    try:
        if not settings.oidc_issuer:
            raise NOT_CONFIGURED
        returned = await flow.finish(
            db, query.get("state"), request.cookies.get(flow.BROWSER_COOKIE)
        )
        identity, id_token = await _identity(request, settings, returned, query)
        user = await psc.user_for(session, settings.oidc_issuer, identity)
    except LoginRefused as refusal:
        log.info("oidc.login_refused", reason=refusal.reason)
        login = f"psc:{identity.national_id}" if identity else "psc"
        trace_login(session, login[:100], addr, "failed", None)
        return refusal_page(refusal)
    response = RedirectResponse("/" + returned.return_to, status_code=303, headers=NO_STORE)
    extra = {"id_token": id_token, "practice": psc.practice_json(identity)}
    await open_browser_session(
        session, settings, request, response, user, method="psc", extra=extra
    )
    trace_login(session, user.username[:100], addr, "ok", user_principal(user))
    log.info("oidc.login", user=user.id)
    return response


def end_session_url(settings: Settings, end_session_endpoint: str, id_token: str) -> str:
    """RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0 §2)."""
    params = {
        "id_token_hint": id_token,
        "client_id": settings.oidc_client_id or "",
        "post_logout_redirect_uri": settings.resolved_public_url() + "/",
    }
    separator = "&" if "?" in end_session_endpoint else "?"
    return end_session_endpoint + separator + urlencode(params)


async def provider_logout_url(
    request: Request, settings: Settings, extra: dict[str, str] | None
) -> str | None:
    """Where a browser whose session just ended goes to end its session at the provider too:
    its ``end_session_endpoint`` with the login's ID token as ``id_token_hint`` (``None`` after
    a password login, or when the provider has no such endpoint)."""
    id_token = (extra or {}).get("id_token")
    if not id_token or not settings.oidc_issuer:
        return None
    try:
        metadata = await provider_of(request, settings).metadata()
    except LoginRefused as refusal:
        log.warning("oidc.logout_without_provider", reason=refusal.reason)
        return None
    if metadata.end_session_endpoint is None:
        return None
    return end_session_url(settings, metadata.end_session_endpoint, id_token)


class ActivityRead(BaseModel):
    structure: str
    finess: str | None
    siret: str | None
    place: str | None
    sector_code: str | None


class ExerciseRead(BaseModel):
    profession_code: str | None
    profession: str
    name: str | None
    activities: list[ActivityRead]


class PracticeRead(BaseModel):
    given_name: str | None
    family_name: str | None
    national_id: str
    exercises: list[ExerciseRead]


@router.get("/psc/practice", response_model=PracticeRead, responses=error_responses(401, 404))
async def psc_practice(request: Request, session: SessionDep) -> PracticeRead:
    """The names and practice Pro Santé Connect gave at this browser session's login."""
    info = current_browser_session(request)
    if info is None:
        raise Unauthenticated("Authentification requise : connectez-vous.")
    row = await session.get(BrowserSession, info.id)
    practice = (row.extra or {}).get("practice") if row is not None else None
    if info.method != psc.PROVIDER or not practice:
        raise NotFound("Cette session n'a pas été ouverte avec Pro Santé Connect.")
    return PracticeRead.model_validate(json.loads(practice))
