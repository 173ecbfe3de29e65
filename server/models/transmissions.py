"""Transmissions of a validated version: by MSSanté (secure mail) or into the DMP (PDSm).

One row per transmission, changing state as the worker sends it and as receipts come back; never
deleted. ``message_id`` (the mail's ``Message-ID``, also the key of a DMP deposit's submission)
and ``document_unique_id`` are fixed when the row is created, so a retry (after a failure or a
restart) carries the same identifiers and the receiver can recognise a repeat.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, ForeignKeyConstraint, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base, IdMixin, TimestampMixin


class Channel(StrEnum):
    MSSANTE = "mssante"
    DMP = "dmp"


class DocumentKind(StrEnum):
    PPA = "ppa"
    MDPH = "mdph"
    """The MDPH fiche de liaison of a validated avenant (use case 3)."""


class TransmissionStatus(StrEnum):
    EN_ATTENTE = "en_attente"
    """Waiting for its first attempt or a retry (``next_attempt_at``)."""
    ENVOYE = "envoye"
    """Accepted by the MSSanté operator's SMTP server (no receipt yet)."""
    RECU = "recu"
    """Receipt: MDN ``processed`` (MSSanté) or the DMP's transaction-response."""
    LU = "lu"
    """Read receipt: MDN ``displayed``."""
    ERREUR = "erreur"
    """Refused, every attempt failed, or an MDN reported an error (``error_code``)."""


LIVE = text("status != 'erreur'")
"""The rows of :data:`uq_transmissions_live_dedupe`: not in error."""


class Transmission(IdMixin, TimestampMixin, Base):
    __tablename__ = "transmissions"

    ppa_id: Mapped[str] = mapped_column(ForeignKey("ppas.id", ondelete="RESTRICT"))
    version_number: Mapped[int] = mapped_column(Integer)
    person_id: Mapped[str] = mapped_column(ForeignKey("persons.id", ondelete="RESTRICT"))
    channel: Mapped[str] = mapped_column(String(20))
    document: Mapped[str] = mapped_column(String(20))
    recipients: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    """[{"kind": "professional"|"structure"|"address", "id": ..., "address": ...}] (MSSanté)."""
    status: Mapped[str] = mapped_column(String(20), default=TransmissionStatus.EN_ATTENTE.value)
    error_code: Mapped[str | None] = mapped_column(String(60), default=None)
    error_label: Mapped[str | None] = mapped_column(String(300), default=None)
    last_error: Mapped[str | None] = mapped_column(String(300), default=None)
    """Technical reason of the last failed attempt (no content, no personal data)."""
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(default=None)
    lease_until: Mapped[datetime | None] = mapped_column(default=None)
    message_id: Mapped[str] = mapped_column(String(200), unique=True)
    document_unique_id: Mapped[str | None] = mapped_column(String(200), default=None)
    group_id: Mapped[str | None] = mapped_column(String(36), default=None)
    """Transmissions started by one action (use case 3: MDPH by MSSanté + DMP)."""
    dedupe_key: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[str] = mapped_column(String(36))
    sent_at: Mapped[datetime | None] = mapped_column(default=None)
    received_at: Mapped[datetime | None] = mapped_column(default=None)
    read_at: Mapped[datetime | None] = mapped_column(default=None)
    updated_at: Mapped[datetime | None] = mapped_column(default=None)

    __table_args__ = (
        ForeignKeyConstraint(
            ["ppa_id", "version_number"],
            ["versions.ppa_id", "versions.number"],
            ondelete="RESTRICT",
        ),
        Index("ix_transmissions_due", "status", "next_attempt_at"),
        Index("ix_transmissions_version", "ppa_id", "version_number"),
        # One live transmission per version, channel, document and addresses: two identical
        # requests racing each other make one row (the second one's INSERT does nothing); a row
        # in error leaves the index, so the same transmission can be asked for again.
        Index(
            "uq_transmissions_live_dedupe",
            "ppa_id",
            "version_number",
            "dedupe_key",
            unique=True,
            sqlite_where=LIVE,
            postgresql_where=LIVE,
        ),
    )
