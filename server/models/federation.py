"""Logins through an outside identity provider: who a provider's subject is here, and the
OpenID Connect logins under way."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base, IdMixin, TimestampMixin


class ExternalIdentity(IdMixin, TimestampMixin, Base):
    """A provider's subject (``iss`` + ``sub``) known as one of our users.

    Written at a successful login only (an account is never created from it): Pro Santé Connect
    today (``provider = "psc"``, professionals); another provider later (e.g. one for persons
    and aidants) adds rows of its own kind, the users table does not change.
    """

    __tablename__ = "identities"

    provider: Mapped[str] = mapped_column(String(20))
    issuer: Mapped[str] = mapped_column(String(255))
    subject: Mapped[str] = mapped_column(String(255))
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    last_login_at: Mapped[datetime]

    __table_args__ = (UniqueConstraint("issuer", "subject"),)


class OidcLogin(Base):
    """A login sent to the provider and not back yet: what its return is checked against.

    Keyed by the SHA-256 of its ``state``, deleted by the return that names it (single use),
    bound to the browser that started it (SHA-256 of a cookie it holds).
    """

    __tablename__ = "oidc_logins"

    state_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    browser_hash: Mapped[str] = mapped_column(String(64))
    nonce: Mapped[str] = mapped_column(String(64))
    code_verifier: Mapped[str] = mapped_column(String(128))
    return_to: Mapped[str] = mapped_column(String(200))
    expires_at: Mapped[datetime] = mapped_column(index=True)
