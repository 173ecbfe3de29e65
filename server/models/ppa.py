from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base, IdMixin, TimestampMixin, utcnow


class PPAStatus(StrEnum):
    DRAFT = "draft"
    VALIDATED = "validated"
    AVENANT_DRAFT = "avenant_draft"
    SUPERSEDED = "superseded"


class PPA(IdMixin, TimestampMixin, Base):
    """One PPA (one live collaborative document) of a person."""

    __tablename__ = "ppas"

    person_id: Mapped[str] = mapped_column(ForeignKey("persons.id", ondelete="RESTRICT"))
    title: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default=PPAStatus.DRAFT.value)
    locked: Mapped[bool] = mapped_column(Boolean, default=False)
    previous_ppa_id: Mapped[str | None] = mapped_column(
        ForeignKey("ppas.id", ondelete="RESTRICT"), default=None
    )
    structure_id: Mapped[str | None] = mapped_column(
        ForeignKey("structures.id", ondelete="RESTRICT"), default=None
    )
    created_by: Mapped[str | None] = mapped_column(String(36), default=None)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    restore_claim: Mapped[str | None] = mapped_column(String(36), default=None)
    """Token of a restore writing into the live document (validation waits for it, 409)."""
    restore_claim_at: Mapped[datetime | None] = mapped_column(default=None)
    """When the claim was taken; a claim older than the service's limit is stale."""
    received_codes: Mapped[list[str] | None] = mapped_column(JSON, default=None)
    """SERAFIN-PH codes of the content the PPA was created with (a PPA received from another
    structure, use case 1): deprecated ones are accepted like those of our previous PPA."""
    imported_identifier: Mapped[str | None] = mapped_column(String(200), default=None)
    """The TDDUI CarePlan identifier (PPER) of the bundle this PPA was created from (another
    structure's projet, use case 1): a later import of the same projet merges into it."""
    imported_by_structure_id: Mapped[str | None] = mapped_column(
        ForeignKey("structures.id", ondelete="RESTRICT"), default=None
    )
    """The structure whose software imported the bundle this PPA was created from."""

    __table_args__ = (
        Index("ix_ppas_person", "person_id"),
        Index("ix_ppas_imported_identifier", "imported_identifier"),
    )


class PPADocument(Base):
    """The stored Yjs state of a PPA's live document (the collaboration engine's snapshot)."""

    __tablename__ = "ppa_documents"

    ppa_id: Mapped[str] = mapped_column(
        ForeignKey("ppas.id", ondelete="RESTRICT"), primary_key=True
    )
    state: Mapped[bytes] = mapped_column(LargeBinary)
    compacted_seq: Mapped[int] = mapped_column(Integer, default=0)
    """Highest update-log sequence number folded into ``state``."""
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ContentState(Base):
    """A content served with an ETag (``GET /api/ppas/{id}``, a PATCH's answer): the base an
    ``If-Match`` is compared with, shared by every server process (the last ones per PPA)."""

    __tablename__ = "content_states"

    ppa_id: Mapped[str] = mapped_column(ForeignKey("ppas.id", ondelete="CASCADE"), primary_key=True)
    etag: Mapped[str] = mapped_column(String(40), primary_key=True)
    content: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (Index("ix_content_states_age", "ppa_id", "created_at"),)
