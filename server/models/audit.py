from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base, utcnow


class AuditEvent(Base):
    """One append-only trace of an access to personal data (UPDATE/DELETE refused by triggers)."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_type: Mapped[str] = mapped_column(String(20))
    actor_id: Mapped[str | None] = mapped_column(String(36))
    role: Mapped[str | None] = mapped_column(String(20))
    action: Mapped[str] = mapped_column(String(60))
    object_type: Mapped[str] = mapped_column(String(30))
    object_id: Mapped[str | None] = mapped_column(String(100))
    """An id, or the login name typed for ``auth.login`` traces (user names are up to 100)."""
    person_id: Mapped[str | None] = mapped_column(String(36))
    client_addr: Mapped[str | None] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(20), default="ok")

    __table_args__ = (Index("ix_audit_events_person_at", "person_id", "at"),)


class AuditCheckpointRow(Base):
    """A batch of ``audit_events`` sealed into the global log (append-only, like the log).

    ``first_seq..last_seq`` are sealed positions (``versions.audit``), contiguous across rows;
    ``event_ids`` is the exact id set of the batch (``versions.audit.encode_id_ranges``).
    """

    __tablename__ = "audit_checkpoints"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    first_seq: Mapped[int] = mapped_column(BigInteger)
    last_seq: Mapped[int] = mapped_column(BigInteger)
    min_event_id: Mapped[int] = mapped_column(BigInteger)
    max_event_id: Mapped[int] = mapped_column(BigInteger)
    event_ids: Mapped[str] = mapped_column(Text)
    events_digest: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime]
    leaf_index: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (Index("ix_audit_checkpoints_max_event", "max_event_id"),)
