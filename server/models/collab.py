from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base, utcnow


class PPAUpdate(Base):
    """One update of a PPA's live document, in the durable update log of the collaboration engine.

    Rows are appended (committed before the update is relayed to anyone) and never deleted. The
    only change a row ever sees is compaction setting ``data`` to NULL once the update is folded
    into ``ppa_documents.state`` and older than the retention period: who wrote (``author``),
    when (``created_at``), with which Yjs client ids and how much stay for ever. Triggers enforce
    it in the database. ``seq`` is contiguous per PPA (1, 2, 3...), also with several server
    processes.
    """

    __tablename__ = "ppa_updates"

    ppa_id: Mapped[str] = mapped_column(
        ForeignKey("ppas.id", ondelete="RESTRICT"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False
    )
    data: Mapped[bytes | None] = mapped_column(LargeBinary)
    """The Yjs update (v1), NULL once folded and past retention."""
    author: Mapped[str] = mapped_column(String(100))
    """User or API client id, or ``system:<what>`` for server-made changes."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    client_ids: Mapped[str] = mapped_column(Text, default="")
    """The Yjs client ids whose structs the update holds (space-separated, ascending)."""
    size: Mapped[int] = mapped_column(Integer, default=0)
    """Length of the update in bytes."""

    __table_args__ = (Index("ix_ppa_updates_ppa_created", "ppa_id", "created_at"),)
