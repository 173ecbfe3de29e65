"""The person's own agreement given online on a PPA draft (rule 2 of docs/domain-rules.md)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base, IdMixin, utcnow


class OnlineAgreement(IdMixin, Base):
    """An agreement (or a refusal) the person, or her aidant on her behalf, gave online on the
    draft whose content hashes to ``content_hash``. A validation of that very content records
    it with the version (``used_in_version``); a later change of the draft makes it stale."""

    __tablename__ = "online_agreements"

    ppa_id: Mapped[str] = mapped_column(ForeignKey("ppas.id", ondelete="RESTRICT"))
    mode: Mapped[str] = mapped_column(String(20))
    """``signe`` (the person herself), ``oral`` (passed on by her aidant) or ``refuse``."""
    motif: Mapped[str] = mapped_column(Text, default="")
    given_by: Mapped[str] = mapped_column(String(36))
    """User id of who clicked: the person, or her aidant."""
    member_id: Mapped[str] = mapped_column(String(36))
    """Their cercle member id."""
    role: Mapped[str] = mapped_column(String(20))
    """``person`` or ``aidant`` (the aidant gives it on the person's behalf)."""
    content_hash: Mapped[str] = mapped_column(String(64))
    given_at: Mapped[datetime] = mapped_column(default=utcnow)
    used_in_version: Mapped[int | None] = mapped_column(Integer, default=None)

    __table_args__ = (Index("ix_online_agreements_ppa", "ppa_id", "given_at"),)
