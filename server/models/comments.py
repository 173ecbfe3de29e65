"""Tables of the comments domain: comment threads and suggestions on a PPA (issue 17, 6-7).

Both live *beside* the PPA's document, never in it: the exports, versions and the FHIR API read
the document only, so nothing here can reach a PPA document. Anchors name a field or an item by
the diff's path vocabulary, items by id (``objectifs/<id>/intitule``), never by position.

``ppa_comments`` is append-only: a thread is its first row (``kind`` ``comment``, holding the
anchor) and the rows that follow it (``reply``, ``resolve``, ``reopen``); a thread's state at
any moment is what its rows up to that moment say, so a version shows the comments as they were.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base, IdMixin, TimestampMixin


class CommentKind(StrEnum):
    COMMENT = "comment"
    REPLY = "reply"
    RESOLVE = "resolve"
    REOPEN = "reopen"


class SuggestionStatus(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


class PPAComment(IdMixin, TimestampMixin, Base):
    """One entry of a thread (the thread itself when ``kind`` is ``comment``)."""

    __tablename__ = "ppa_comments"

    ppa_id: Mapped[str] = mapped_column(ForeignKey("ppas.id", ondelete="RESTRICT"))
    person_id: Mapped[str] = mapped_column(String(36))
    thread_id: Mapped[str] = mapped_column(String(36))
    """The thread's first row (its own id for the first row)."""
    kind: Mapped[str] = mapped_column(String(12))
    anchor: Mapped[str | None] = mapped_column(String(200), default=None)
    body: Mapped[str] = mapped_column(Text, default="")
    author_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    mentions: Mapped[list[str]] = mapped_column(JSON, default=list)
    version_number: Mapped[int | None] = mapped_column(Integer, default=None)
    """The PPA's latest version when written (``None``: none yet)."""

    __table_args__ = (Index("ix_ppa_comments_ppa", "ppa_id", "created_at"),)


class PPASuggestion(IdMixin, TimestampMixin, Base):
    """A proposed new text for one text field, accepted or rejected by an editor."""

    __tablename__ = "ppa_suggestions"

    ppa_id: Mapped[str] = mapped_column(ForeignKey("ppas.id", ondelete="RESTRICT"))
    person_id: Mapped[str] = mapped_column(String(36))
    path: Mapped[str] = mapped_column(String(200))
    base: Mapped[str] = mapped_column(Text)
    """The field's text when the suggestion was made."""
    proposed: Mapped[str] = mapped_column(Text)
    note: Mapped[str] = mapped_column(Text, default="")
    author_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    status: Mapped[str] = mapped_column(String(12), default=SuggestionStatus.PENDING.value)
    decided_by: Mapped[str | None] = mapped_column(String(36), default=None)
    decided_at: Mapped[datetime | None] = mapped_column(default=None)
    version_number: Mapped[int | None] = mapped_column(Integer, default=None)

    __table_args__ = (Index("ix_ppa_suggestions_ppa", "ppa_id", "created_at"),)
