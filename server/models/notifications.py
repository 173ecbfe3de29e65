"""Tables of the notifications domain: preferences, notices, their dispatches, the outbox.

A *notice* is one event told to one recipient (the bell's row). A *dispatch* is that notice to
be sent on one channel (``email``, ``sms``) at one frequency; an *outbox* row is one message to
send (one notice, or a digest grouping dispatches). Rows hold ids, the nature's code, the
person's initials and the actor's name: never the content of a PPA.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base, IdMixin, TimestampMixin


class Channel(StrEnum):
    APP = "app"
    EMAIL = "email"
    SMS = "sms"


class Frequency(StrEnum):
    IMMEDIATE = "immediate"
    DAILY = "daily"
    WEEKLY = "weekly"


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"
    CANCELLED = "cancelled"


class NotificationPreference(Base):
    """A user's choice for one nature (absent: the defaults of their role)."""

    __tablename__ = "notification_preferences"

    user_id: Mapped[str] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    nature: Mapped[str] = mapped_column(String(60), primary_key=True)
    channels: Mapped[list[str]] = mapped_column(JSON)
    frequency: Mapped[str] = mapped_column(String(20))
    updated_at: Mapped[datetime]


class Notice(IdMixin, TimestampMixin, Base):
    """One event told to one recipient."""

    __tablename__ = "notices"

    recipient_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    nature: Mapped[str] = mapped_column(String(60))
    person_id: Mapped[str | None] = mapped_column(String(36), default=None)
    ppa_id: Mapped[str | None] = mapped_column(String(36), default=None)
    object_type: Mapped[str] = mapped_column(String(40))
    object_id: Mapped[str | None] = mapped_column(String(80), default=None)
    version_number: Mapped[int | None] = mapped_column(Integer, default=None)
    actor_id: Mapped[str | None] = mapped_column(String(36), default=None)
    actor_name: Mapped[str | None] = mapped_column(String(200), default=None)
    initials: Mapped[str | None] = mapped_column(String(12), default=None)
    """The person's initials ("J. D."): what a message may say of whom it is about."""
    in_app: Mapped[bool] = mapped_column(Boolean, default=True)
    read_at: Mapped[datetime | None] = mapped_column(default=None)
    dedupe_key: Mapped[str | None] = mapped_column(String(120), default=None)
    """Set for periodic natures (review due): one notice per recipient and key, ever."""

    __table_args__ = (
        Index("ix_notices_recipient", "recipient_id", "created_at"),
        UniqueConstraint("recipient_id", "dedupe_key", name="uq_notices_recipient_dedupe"),
    )


class NotificationOutbox(IdMixin, TimestampMixin, Base):
    """One message to send on one channel: a notice (``immediate``) or a digest.

    ``period_key`` is ``notice:<id>``, ``daily:<date>`` or ``weekly:<monday>``: unique per
    recipient and channel, so a message is created once even when several processes try.
    """

    __tablename__ = "notification_outbox"

    recipient_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(10))
    frequency: Mapped[str] = mapped_column(String(20))
    period_key: Mapped[str] = mapped_column(String(60))
    status: Mapped[str] = mapped_column(String(20), default=OutboxStatus.PENDING.value)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    lease_until: Mapped[datetime | None] = mapped_column(default=None)
    last_error: Mapped[str | None] = mapped_column(String(300), default=None)
    sent_at: Mapped[datetime | None] = mapped_column(default=None)

    __table_args__ = (
        UniqueConstraint("recipient_id", "channel", "period_key", name="uq_outbox_period"),
        Index("ix_notification_outbox_due", "status", "next_attempt_at"),
    )


class NoticeDispatch(IdMixin, Base):
    """A notice to send on a channel at a frequency; ``outbox_id`` once a message holds it."""

    __tablename__ = "notice_dispatches"

    notice_id: Mapped[str] = mapped_column(ForeignKey("notices.id", ondelete="CASCADE"))
    recipient_id: Mapped[str] = mapped_column(String(36))
    channel: Mapped[str] = mapped_column(String(10))
    frequency: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime]
    outbox_id: Mapped[str | None] = mapped_column(
        ForeignKey("notification_outbox.id", ondelete="CASCADE"), default=None
    )

    __table_args__ = (
        Index("ix_notice_dispatches_pending", "frequency", "outbox_id", "created_at"),
        Index("ix_notice_dispatches_outbox", "outbox_id"),
    )


class DigestRun(Base):
    """One digest period generated (``daily:2026-12-07``): inserted in the transaction that
    creates its messages, so a second process (or a restart) never generates it again."""

    __tablename__ = "notification_digest_runs"

    period_key: Mapped[str] = mapped_column(String(60), primary_key=True)
    due_at: Mapped[datetime]
    created_at: Mapped[datetime]
    messages: Mapped[int] = mapped_column(Integer, default=0)


class NotificationContact(Base):
    """Where a user is told outside the application: an email address, a verified mobile.

    The mobile's verification code is stored as a hash only (SHA-256 keyed by the service
    secret), with its expiry and the attempts made.
    """

    __tablename__ = "notification_contacts"

    user_id: Mapped[str] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    email: Mapped[str | None] = mapped_column(String(254), default=None)
    mobile: Mapped[str | None] = mapped_column(String(20), default=None)
    mobile_verified_at: Mapped[datetime | None] = mapped_column(default=None)
    mobile_code_hash: Mapped[str | None] = mapped_column(String(64), default=None)
    mobile_code_expires_at: Mapped[datetime | None] = mapped_column(default=None)
    mobile_code_attempts: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime]
