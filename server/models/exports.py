"""Tables of the exports domain: frozen export contexts, the ESMS feed, webhooks, agenda feeds.

``export_contexts`` and ``esms_feed_events`` are insert-only (UPDATE and DELETE refused by the
database, triggers created by the migration). Webhook deliveries and agenda feeds change state
(attempts, revocation) and are ordinary tables.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base, IdMixin, TimestampMixin

APPEND_ONLY_EXPORT_TABLES = ("export_contexts", "esms_feed_events")

BigId = BigInteger().with_variant(Integer, "sqlite")


class ExportContext(Base):
    """What an export of one version shows besides the version itself, frozen once.

    The identity of the person (INS traits), the structure and the professionals the content
    refers to, as they were when the version was validated (or first exported, for a version
    that is not validated): every later export of that version renders the same bytes, and the
    ``ETag`` (the version's chain hash) stays true. ``data`` is canonical JSON.
    """

    __tablename__ = "export_contexts"

    ppa_id: Mapped[str] = mapped_column(
        ForeignKey("ppas.id", ondelete="RESTRICT"), primary_key=True
    )
    version_number: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    data_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]

    __table_args__ = (
        ForeignKeyConstraint(
            ["ppa_id", "version_number"],
            ["versions.ppa_id", "versions.number"],
            ondelete="RESTRICT",
        ),
    )


class FeedCounter(Base):
    """Monotonic counters. Taking the next value locks the row until commit, so positions are
    handed out in commit order (a reader never sees position n+1 before position n)."""

    __tablename__ = "feed_counters"

    name: Mapped[str] = mapped_column(String(30), primary_key=True)
    value: Mapped[int] = mapped_column(BigId, default=0)


class FeedEventKind(StrEnum):
    VALIDATED = "validated"
    AVENANT = "avenant"


class EsmsFeedEvent(Base):
    """One validated version (validation or avenant) published to the structures' software.

    ``position`` is the feed cursor: strictly increasing in commit order. Ids and hashes only.
    """

    __tablename__ = "esms_feed_events"

    position: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    ppa_id: Mapped[str] = mapped_column(ForeignKey("ppas.id", ondelete="RESTRICT"))
    person_id: Mapped[str] = mapped_column(ForeignKey("persons.id", ondelete="RESTRICT"))
    version_number: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(20))
    content_hash: Mapped[str] = mapped_column(String(64))
    chain_hash: Mapped[str] = mapped_column(String(64))
    validated_at: Mapped[datetime]
    created_at: Mapped[datetime]

    __table_args__ = (
        ForeignKeyConstraint(
            ["ppa_id", "version_number"],
            ["versions.ppa_id", "versions.number"],
            ondelete="RESTRICT",
        ),
        UniqueConstraint("ppa_id", "version_number", name="uq_esms_feed_events_version"),
        Index("ix_esms_feed_events_person", "person_id"),
    )


class Webhook(IdMixin, TimestampMixin, Base):
    """An ESMS client's endpoint called on validation and avenant.

    The HMAC key must be usable to sign, so it cannot be hashed: it is kept encrypted
    (AES-256-GCM, key derived from the service secret key; see ``server.esms.secrets``).
    """

    __tablename__ = "esms_webhooks"

    api_client_id: Mapped[str] = mapped_column(ForeignKey("api_clients.id", ondelete="RESTRICT"))
    url: Mapped[str] = mapped_column(String(2000))
    secret_ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    disabled_at: Mapped[datetime | None] = mapped_column(default=None)
    kind: Mapped[str] = mapped_column(String(10), default="esms", server_default="esms")
    """``esms`` (the feed's webhooks, ``/api/esms/webhooks``) or ``nde`` (the channel of an NdE
    subscription, ``/fhir/Subscription``: its deliveries are CommunicationRequests)."""

    __table_args__ = (Index("ix_esms_webhooks_client", "api_client_id"),)


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    """Waiting for its first attempt or a retry (``next_attempt_at``)."""
    DELIVERED = "delivered"
    FAILED = "failed"
    """Every attempt failed; given up."""
    CANCELLED = "cancelled"
    """No longer sent: the webhook was deleted or the client may no longer read the PPA."""


class WebhookDelivery(IdMixin, TimestampMixin, Base):
    """One event to deliver to one webhook; survives restarts (the worker resumes pending rows).

    ``lease_until`` is set while a worker sends it, so several server processes never send the
    same delivery at once; a lease left by a crashed process expires and the delivery is retried.
    """

    __tablename__ = "webhook_deliveries"

    webhook_id: Mapped[str] = mapped_column(ForeignKey("esms_webhooks.id", ondelete="RESTRICT"))
    feed_position: Mapped[int] = mapped_column(
        BigId, ForeignKey("esms_feed_events.position", ondelete="RESTRICT")
    )
    event: Mapped[str] = mapped_column(String(40))
    body: Mapped[bytes] = mapped_column(LargeBinary)
    """The exact bytes signed and sent (JSON, ids and hashes only)."""
    status: Mapped[str] = mapped_column(String(20), default=DeliveryStatus.PENDING.value)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    lease_until: Mapped[datetime | None] = mapped_column(default=None)
    last_status_code: Mapped[int | None] = mapped_column(Integer, default=None)
    last_error: Mapped[str | None] = mapped_column(String(300), default=None)
    delivered_at: Mapped[datetime | None] = mapped_column(default=None)

    __table_args__ = (
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
        Index("ix_webhook_deliveries_webhook", "webhook_id", "created_at"),
    )


class WebhookAttempt(Base):
    """One HTTP attempt of a delivery: when, the answer's status or the error, how long."""

    __tablename__ = "webhook_attempts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    delivery_id: Mapped[str] = mapped_column(
        ForeignKey("webhook_deliveries.id", ondelete="RESTRICT")
    )
    number: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime]
    status_code: Mapped[int | None] = mapped_column(Integer, default=None)
    error: Mapped[str | None] = mapped_column(String(300), default=None)
    duration_ms: Mapped[int] = mapped_column(Integer)

    __table_args__ = (Index("ix_webhook_attempts_delivery", "delivery_id", "number"),)


class AgendaFeedKind(StrEnum):
    PERSON = "person"
    """The person's agenda: every scheduled action of their latest validated PPA."""
    PROFESSIONAL = "professional"
    """A professional's agenda: the actions they lead or take part in, for every person."""


class AgendaFeed(IdMixin, TimestampMixin, Base):
    """A subscribable ``.ics`` URL. The token is in the URL; only its SHA-256 is stored.

    The feed reads with its owner's rights, checked at every fetch: an owner who leaves the
    cercle (or is opposed) stops seeing that person's events in the feed.
    """

    __tablename__ = "agenda_feeds"

    kind: Mapped[str] = mapped_column(String(20))
    person_id: Mapped[str | None] = mapped_column(
        ForeignKey("persons.id", ondelete="RESTRICT"), default=None
    )
    professional_id: Mapped[str | None] = mapped_column(
        ForeignKey("professionals.id", ondelete="RESTRICT"), default=None
    )
    owner_type: Mapped[str] = mapped_column(String(20))
    owner_id: Mapped[str] = mapped_column(String(36))
    label: Mapped[str] = mapped_column(Text, default="")
    token_prefix: Mapped[str] = mapped_column(String(16), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64))
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)

    __table_args__ = (Index("ix_agenda_feeds_owner", "owner_type", "owner_id"),)
