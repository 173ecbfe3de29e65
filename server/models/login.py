"""Login state shared by every server process: failed-login counters, browser sessions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base, IdMixin


class LoginThrottle(Base):
    """Consecutive failed logins of one account name or one client address.

    ``key`` is a SHA-256 of ``account:<login>`` or ``address:<ip>`` (no login name in clear).
    """

    __tablename__ = "login_throttles"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_at: Mapped[datetime]


class BrowserSession(IdMixin, Base):
    """A browser's login: the cookie holds a random id, the table only its SHA-256.

    The id is replaced every few minutes of use (``token_hash``); the one it replaced stays
    valid until ``previous_until`` for the requests already under way (``previous_hash``).
    """

    __tablename__ = "browser_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    previous_hash: Mapped[str | None] = mapped_column(String(64), index=True, default=None)
    previous_until: Mapped[datetime | None] = mapped_column(default=None)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    method: Mapped[str] = mapped_column(String(20))
    """How the user logged in: ``password`` or ``psc``."""
    extra: Mapped[dict[str, str] | None] = mapped_column(JSON, default=None)
    """Server-side facts of the login (e.g. the provider's ``id_token_hint`` for its logout)."""
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    rotated_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    """Absolute end, whatever the use."""
