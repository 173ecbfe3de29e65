"""NdE (CI-SIS "Notification d'événements") subscriptions of the structures' software.

A subscription is a DUI's ``nde-subscription`` accepted by ``POST /fhir/Subscription``: which
person (by INS), which event type (``DOC``), from when to when, and where to deliver. Its
``rest-hook`` channel is an ``esms_webhooks`` row of kind ``nde`` (URL + the signing secret,
encrypted), so its notifications are ordinary webhook deliveries: leased, signed, retried and
logged by the ESMS delivery worker.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base, IdMixin, TimestampMixin


class NdeSubscription(IdMixin, TimestampMixin, Base):
    __tablename__ = "nde_subscriptions"

    api_client_id: Mapped[str] = mapped_column(ForeignKey("api_clients.id", ondelete="RESTRICT"))
    webhook_id: Mapped[str] = mapped_column(
        ForeignKey("esms_webhooks.id", ondelete="RESTRICT"), unique=True
    )
    person_id: Mapped[str] = mapped_column(ForeignKey("persons.id", ondelete="RESTRICT"))
    event_type: Mapped[str] = mapped_column(String(10))
    """A TRE_R254 code (this service emits ``DOC`` only)."""
    start: Mapped[datetime]
    end: Mapped[datetime | None] = mapped_column(default=None)
    resource: Mapped[dict[str, Any]] = mapped_column(JSON)
    """The Subscription as accepted (its ``channel.header``, which carries the secret, left out)."""
    deleted_at: Mapped[datetime | None] = mapped_column(default=None)

    __table_args__ = (
        Index("ix_nde_subscriptions_person", "person_id"),
        Index("ix_nde_subscriptions_client", "api_client_id"),
    )
