"""Server-side browser sessions: an ``HttpOnly`` cookie holding a random id (only its SHA-256 is
stored), idle and absolute timeouts, the id replaced while in use, a CSRF token for the requests
that change something. API clients and scripts keep bearer tokens (:mod:`server.auth.deps`).

A login (password or Pro Santé Connect) calls :func:`open_browser_session`, a logout
:func:`close_browser_session`; :class:`BrowserSessionMiddleware` checks the cookie of each API
request and WebSocket, ends the expired sessions, replaces the id every ``session_rotate_minutes``
and puts what it found in ``request.state.browser_session`` (a :class:`BrowserSessionInfo`).
See ``docs/authentication.md``.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import structlog
from fastapi import Request, Response
from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.config import Settings
from server.db import Database, utcnow
from server.errors import Forbidden
from server.models import BrowserSession, User

log = structlog.get_logger(__name__)

COOKIE = "ppa_session"
SECURE_COOKIE = "__Host-ppa_session"
"""With ``Secure``: the ``__Host-`` prefix makes the browser refuse it from a subdomain or with a
``Domain``, and require ``Path=/``."""
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
ROTATION_GRACE = timedelta(seconds=60)
"""How long a replaced id still opens its session (requests already sent with it)."""
TOUCH_EVERY = timedelta(seconds=60)
"""``last_seen_at`` is written at most this often (and at most every quarter of the idle time)."""
SESSION_PATHS = ("/api/", "/ws/")
"""Where the middleware looks at the cookie (not the editor's static assets)."""
CSRF_REFUSED = (
    "Jeton anti-falsification (CSRF) manquant ou invalide : rechargez la page et réessayez."
)


@dataclass(frozen=True, slots=True)
class BrowserSessionInfo:
    """The session a request's cookie opened."""

    id: str
    """The session row's id (not the cookie's secret)."""
    user_id: str
    method: str
    csrf_token: str
    expires_at: datetime


# -- cookie -------------------------------------------------------------------------------------


def _loopback(host: str | None) -> bool:
    if not host:
        return False
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def cookie_secure(settings: Settings) -> bool:
    """``Secure`` always, except when the public URL is plain ``http`` on a loopback address
    (local development and tests: clients other than browsers drop Secure cookies over http)."""
    url = urlsplit(settings.resolved_public_url())
    return not (url.scheme == "http" and _loopback(url.hostname))


def cookie_name(settings: Settings) -> str:
    return SECURE_COOKIE if cookie_secure(settings) else COOKIE


def public_origin(settings: Settings) -> str:
    """``scheme://host[:port]`` of the public URL: the one origin the browser editor runs at."""
    url = urlsplit(settings.resolved_public_url())
    return f"{url.scheme}://{url.netloc}".lower()


def origin_allowed(settings: Settings, origin: str | None) -> bool:
    """Whether an ``Origin`` header names the service itself (``None``: not sent)."""
    return origin is not None and origin.rstrip("/").lower() == public_origin(settings)


def _cookie_header(settings: Settings, value: str, max_age: int) -> tuple[bytes, bytes]:
    """One ``Set-Cookie`` header (``max_age`` 0 and an empty value: delete)."""
    carrier = Response()
    carrier.set_cookie(
        cookie_name(settings),
        value,
        max_age=max_age,
        path="/",
        secure=cookie_secure(settings),
        httponly=True,
        samesite="lax",
    )
    return carrier.raw_headers[-1]


def _set_cookie(response: Response, header: tuple[bytes, bytes]) -> None:
    response.raw_headers.append(header)


def hash_session_id(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def csrf_token(settings: Settings, row_id: str) -> str:
    """The session's CSRF token: stable while its cookie id rotates, unguessable without the
    server's secret key (never stored, never in a cookie)."""
    key = settings.resolved_secret_key().encode()
    return hmac.new(key, f"csrf:{row_id}".encode(), hashlib.sha256).hexdigest()


def _info(settings: Settings, row: BrowserSession) -> BrowserSessionInfo:
    return BrowserSessionInfo(
        row.id, row.user_id, row.method, csrf_token(settings, row.id), row.expires_at
    )


def presented_id(settings: Settings, connection: HTTPConnection) -> str | None:
    return connection.cookies.get(cookie_name(settings)) or None


def current_browser_session(connection: HTTPConnection) -> BrowserSessionInfo | None:
    """The session the request's cookie opened (``None``: no cookie, or an ended session)."""
    info = getattr(connection.state, "browser_session", None)
    return info if isinstance(info, BrowserSessionInfo) else None


def require_csrf(request: Request, info: BrowserSessionInfo) -> None:
    """403 unless a state-changing request carries the session's CSRF token."""
    if request.method in SAFE_METHODS:
        return
    sent = request.headers.get(CSRF_HEADER, "")
    if not hmac.compare_digest(sent.encode(), info.csrf_token.encode()):
        log.info("session.csrf_refused", session=info.id, method=request.method)
        raise Forbidden(CSRF_REFUSED)


# -- open, close ---------------------------------------------------------------------------------


async def _find(
    session: AsyncSession, presented: str, now: datetime
) -> tuple[BrowserSession, bool] | None:
    """The session a cookie id opens, and whether it is the current id (else the previous one,
    within its grace time)."""
    digest = hash_session_id(presented)
    row = await session.scalar(
        select(BrowserSession).where(
            or_(
                BrowserSession.token_hash == digest,
                (BrowserSession.previous_hash == digest) & (BrowserSession.previous_until > now),
            )
        )
    )
    if row is None:
        return None
    return row, hmac.compare_digest(row.token_hash, digest)


async def open_browser_session(
    db: AsyncSession,
    settings: Settings,
    request: Request,
    response: Response,
    user: User,
    *,
    method: str,
    extra: dict[str, str] | None = None,
) -> None:
    """Start a session for ``user`` (``method``: ``password`` or ``psc``; ``extra``: kept server
    side, given back by :func:`close_browser_session`) and set its cookie on ``response``.

    Always a new id: a session the request presented is ended first (no session fixation).
    """
    presented = presented_id(settings, request)
    now = utcnow()
    if presented:
        found = await _find(db, presented, now)
        if found is not None:
            await db.delete(found[0])
    # The sessions that ended unseen (never presented again) go now.
    idle = timedelta(minutes=settings.session_idle_minutes)
    await db.execute(
        delete(BrowserSession).where(
            or_(BrowserSession.expires_at <= now, BrowserSession.last_seen_at <= now - idle)
        )
    )
    session_id = secrets.token_urlsafe(32)
    lifetime = timedelta(hours=settings.session_max_hours)
    row = BrowserSession(
        token_hash=hash_session_id(session_id),
        user_id=user.id,
        method=method,
        extra=dict(extra) if extra else None,
        created_at=now,
        last_seen_at=now,
        rotated_at=now,
        expires_at=now + lifetime,
    )
    db.add(row)
    await db.flush()
    _set_cookie(response, _cookie_header(settings, session_id, int(lifetime.total_seconds())))
    request.state.browser_session = _info(settings, row)
    log.info("session.opened", session=row.id, user=user.id, method=method)


async def close_browser_session(
    db: AsyncSession, settings: Settings, request: Request, response: Response
) -> dict[str, str] | None:
    """End the request's session (if any), clear its cookie on ``response``; return the
    ``extra`` it was opened with."""
    _set_cookie(response, _cookie_header(settings, "", 0))
    request.state.browser_session = None
    presented = presented_id(settings, request)
    if not presented:
        return None
    found = await _find(db, presented, utcnow())
    if found is None:
        return None
    row = found[0]
    extra = dict(row.extra) if row.extra else None
    await db.delete(row)
    await db.flush()
    log.info("session.closed", session=row.id, user=row.user_id)
    return extra


async def end_user_sessions(db: AsyncSession, user_id: str) -> None:
    """End every browser session of a user (deactivation, password change)."""
    rows = await db.scalars(select(BrowserSession).where(BrowserSession.user_id == user_id))
    for row in rows:
        await db.delete(row)


# -- each request --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Resolution:
    info: BrowserSessionInfo | None
    cookie: tuple[bytes, bytes] | None = None
    """A ``Set-Cookie`` to send: the new id after a rotation, or a deletion."""


async def resolve_browser_session(
    db: Database, settings: Settings, presented: str, *, rotate: bool
) -> Resolution:
    """Check a cookie id: ended sessions are deleted (and the cookie cleared); a session in use
    is touched and, when due and presented with its current id, given a new id."""
    clear = _cookie_header(settings, "", 0)
    async with db.transaction() as session:
        now = utcnow()
        found = await _find(session, presented, now)
        if found is None:
            return Resolution(None, clear)
        row, current = found
        idle = timedelta(minutes=settings.session_idle_minutes)
        if now >= row.expires_at or now - row.last_seen_at >= idle:
            log.info("session.expired", session=row.id, user=row.user_id)
            await session.delete(row)
            return Resolution(None, clear)
        info = _info(settings, row)
        rotate_every = timedelta(minutes=settings.session_rotate_minutes)
        if rotate and current and now - row.rotated_at >= rotate_every:
            new_id = secrets.token_urlsafe(32)
            changed = await session.execute(
                update(BrowserSession)
                .where(
                    BrowserSession.id == row.id,
                    BrowserSession.token_hash == hash_session_id(presented),
                )
                .values(
                    token_hash=hash_session_id(new_id),
                    previous_hash=hash_session_id(presented),
                    previous_until=now + ROTATION_GRACE,
                    rotated_at=now,
                    last_seen_at=now,
                )
                .returning(BrowserSession.id)
            )
            if changed.first() is not None:  # else a parallel request rotated it first
                max_age = int((row.expires_at - now).total_seconds())
                return Resolution(info, _cookie_header(settings, new_id, max_age))
            return Resolution(info)
        if now - row.last_seen_at >= min(TOUCH_EVERY, idle / 4):
            await session.execute(
                update(BrowserSession)
                .where(BrowserSession.id == row.id, BrowserSession.last_seen_at < now)
                .values(last_seen_at=now)
            )
        return Resolution(info)


async def keep_alive(db: Database, settings: Settings, row_id: str, *, used: bool) -> bool:
    """Whether a session still runs (a live connection asks it every minute): an ended one is
    deleted; ``used``: the connection was in use since it last asked (counts as a request)."""
    async with db.transaction() as session:
        now = utcnow()
        row = await session.get(BrowserSession, row_id)
        if row is None:
            return False
        idle = timedelta(minutes=settings.session_idle_minutes)
        if now >= row.expires_at or now - row.last_seen_at >= idle:
            log.info("session.expired", session=row.id, user=row.user_id)
            await session.delete(row)
            return False
        if used:
            row.last_seen_at = now
        return True


class BrowserSessionMiddleware:
    """Open the session of each API request's or WebSocket's cookie (``request.state``), and
    send the cookie's new id or deletion with the response (unless the endpoint set one)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or not str(scope["path"]).startswith(
            SESSION_PATHS
        ):
            await self.app(scope, receive, send)
            return
        connection = HTTPConnection(scope)
        settings: Settings = connection.app.state.settings
        presented = presented_id(settings, connection)
        if presented is None:
            await self.app(scope, receive, send)
            return
        resolution = await resolve_browser_session(
            connection.app.state.db, settings, presented, rotate=scope["type"] == "http"
        )
        connection.state.browser_session = resolution.info
        cookie = resolution.cookie
        if cookie is None or scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        prefix = cookie_name(settings) + "="

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if not any(value.startswith(prefix) for value in headers.getlist("set-cookie")):
                    headers.append("set-cookie", cookie[1].decode("latin-1"))
            await send(message)

        await self.app(scope, receive, send_with_cookie)
