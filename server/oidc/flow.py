"""The logins under way at the provider: ``state``, ``nonce`` and PKCE verifier kept server side
(``oidc_logins``), each usable once, by the browser that started it, for a few minutes."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

import structlog
from sqlalchemy import delete, func, select

from server.config import Settings
from server.db import Database, utcnow
from server.models import OidcLogin
from server.oidc.errors import LoginRefused

log = structlog.get_logger(__name__)

BROWSER_COOKIE = "ppa_oidc_browser"
"""HttpOnly cookie binding a login to the browser that started it (login CSRF defence)."""
BROWSER_COOKIE_PATH = "/api/auth/psc/"
_RETURN_TO = re.compile(r"#/[A-Za-z0-9/_.~%-]{0,190}")
_BROWSER_VALUE = re.compile(r"[A-Za-z0-9_-]{43}")
DEFAULT_RETURN = "#/"
MAX_PENDING = 10_000
"""Logins under way at once, beyond which new ones wait (the start is unauthenticated: a flood
of them must not grow the table without bound)."""


def safe_return(value: str | None) -> str:
    """Where the editor goes after the login: one of its own routes (``#/...``), nothing else
    (no open redirect)."""
    return value if value and _RETURN_TO.fullmatch(value) else DEFAULT_RETURN


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def code_challenge(verifier: str) -> str:
    """PKCE S256 (RFC 7636 §4.2)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


@dataclass(frozen=True)
class Started:
    """A login just recorded: what goes to the provider, and the browser's binding value."""

    state: str
    nonce: str
    code_challenge: str
    browser: str


@dataclass(frozen=True)
class Returned:
    """A login come back: what its answer is checked and finished with."""

    nonce: str
    code_verifier: str
    return_to: str


async def start(
    db: Database, settings: Settings, browser: str | None, return_to: str | None
) -> Started:
    """Record a new login (and forget the expired ones); the browser keeps its binding value
    if it has one (two tabs may log in at once)."""
    if browser is None or not _BROWSER_VALUE.fullmatch(browser):
        browser = secrets.token_urlsafe(32)
    state, nonce, verifier = (secrets.token_urlsafe(32) for _ in range(3))
    now = utcnow()
    async with db.transaction() as session:
        await session.execute(delete(OidcLogin).where(OidcLogin.expires_at < now))
        if (await session.scalar(select(func.count()).select_from(OidcLogin)) or 0) >= MAX_PENDING:
            log.warning("oidc.too_many_pending_logins", limit=MAX_PENDING)
            raise LoginRefused(
                "too_many_pending_logins",
                "Trop de connexions sont en cours en ce moment : réessayez dans quelques minutes.",
                status=503,
            )
        session.add(
            OidcLogin(
                state_hash=_digest(state),
                browser_hash=_digest(browser),
                nonce=nonce,
                code_verifier=verifier,
                return_to=safe_return(return_to),
                expires_at=now + timedelta(minutes=settings.oidc_login_minutes),
            )
        )
    return Started(state, nonce, code_challenge(verifier), browser)


STATE_REFUSED = (
    "Cette connexion n'a pas été commencée dans ce navigateur, a déjà servi ou a expiré : "
    "recommencez la connexion depuis la page d'accueil du service."
)


async def finish(db: Database, state: str | None, browser: str | None) -> Returned:
    """Take (delete) the login ``state`` names: refused if none, if it expired, or if another
    browser started it. Committed at once: a second return with the same state finds nothing."""
    if not state or len(state) > 100:
        raise LoginRefused("state_missing", STATE_REFUSED)
    async with db.transaction() as session:
        row = (
            await session.execute(
                delete(OidcLogin)
                .where(OidcLogin.state_hash == _digest(state))
                .returning(
                    OidcLogin.browser_hash,
                    OidcLogin.nonce,
                    OidcLogin.code_verifier,
                    OidcLogin.return_to,
                    OidcLogin.expires_at,
                )
            )
        ).first()
    if row is None:
        raise LoginRefused("state_unknown", STATE_REFUSED)
    browser_hash, nonce, verifier, return_to, expires_at = row
    if not browser or not hmac.compare_digest(browser_hash, _digest(browser)):
        raise LoginRefused("state_other_browser", STATE_REFUSED)
    if expires_at <= utcnow():
        raise LoginRefused("state_expired", STATE_REFUSED)
    return Returned(nonce, verifier, return_to)
