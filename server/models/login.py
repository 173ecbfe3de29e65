"""Failed-login counters shared by every server process (login throttling)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base


class LoginThrottle(Base):
    """Consecutive failed logins of one account name or one client address.

    ``key`` is a SHA-256 of ``account:<login>`` or ``address:<ip>`` (no login name in clear).
    """

    __tablename__ = "login_throttles"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_at: Mapped[datetime]
