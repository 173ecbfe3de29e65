"""Insert-only tables of the versions: versions, their agreements, the Merkle log, signed heads.

The database itself refuses UPDATE, DELETE (and TRUNCATE on PostgreSQL) on every table here
(triggers created by the migration).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base

APPEND_ONLY_TABLES = ("versions", "version_accords", "log_leaves", "log_nodes", "tree_heads")


class Version(Base):
    """One immutable version of a PPA: content (canonical JSON + Yjs state), hashes, who, when.

    ``number`` counts from 1 per PPA; ``chain_hash`` links it to the previous version
    (:mod:`versions.chain`); ``leaf_index`` is its leaf in the global Merkle log.
    """

    __tablename__ = "versions"

    ppa_id: Mapped[str] = mapped_column(
        ForeignKey("ppas.id", ondelete="RESTRICT"), primary_key=True
    )
    number: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(20))
    label: Mapped[str] = mapped_column(String(300))
    summary: Mapped[str] = mapped_column(Text, default="")
    """Generated French summary of what an avenant changed ("" for other kinds)."""
    content: Mapped[bytes] = mapped_column(LargeBinary)
    """Canonical JSON of the content, byte for byte what ``content_hash`` hashes."""
    yjs_state: Mapped[bytes] = mapped_column(LargeBinary)
    """Yjs state of the document when the version was taken (exact restore)."""
    content_hash: Mapped[str] = mapped_column(String(64))
    prev_chain_hash: Mapped[str] = mapped_column(String(64))
    chain_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by: Mapped[str] = mapped_column(String(64))
    authors: Mapped[list[str]] = mapped_column(JSON)
    """Who edited the document since the previous version (user ids)."""
    created_at: Mapped[datetime]
    parent_number: Mapped[int | None] = mapped_column(Integer, default=None)
    based_on_ppa_id: Mapped[str | None] = mapped_column(String(36), default=None)
    based_on_number: Mapped[int | None] = mapped_column(Integer, default=None)
    leaf_index: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"),
        ForeignKey("log_leaves.leaf_index", ondelete="RESTRICT"),
        unique=True,
    )
    series_rank: Mapped[int | None] = mapped_column(Integer, default=None)
    """Rank among the validated versions of the PPA (v1, v2...), for validated kinds."""
    avenant_number: Mapped[int | None] = mapped_column(Integer, default=None)
    next_review: Mapped[date | None] = mapped_column(Date, default=None)
    """Next review date of a validated version (HAS: at least yearly)."""
    rules_edition: Mapped[int | None] = mapped_column(Integer, default=None)
    """The edition of the validation rules a validated version was checked against
    (:mod:`versions.rules`); None on drafts and on versions stored before it was recorded."""


class VersionAccord(Base):
    """An agreement recorded with a validated version (covered by the version's chain hash)."""

    __tablename__ = "version_accords"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    ppa_id: Mapped[str] = mapped_column(String(36))
    version_number: Mapped[int] = mapped_column(Integer)
    position: Mapped[int] = mapped_column(Integer)
    type: Mapped[str] = mapped_column(String(20))
    mode: Mapped[str] = mapped_column(String(20))
    par: Mapped[str] = mapped_column(String(200))
    temoin: Mapped[str] = mapped_column(String(200), default="")
    date: Mapped[date | None] = mapped_column(Date, default=None)
    motif: Mapped[str] = mapped_column(Text, default="")
    recorded_by: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime]

    __table_args__ = (
        ForeignKeyConstraint(
            ["ppa_id", "version_number"],
            ["versions.ppa_id", "versions.number"],
            ondelete="RESTRICT",
        ),
        Index("ix_version_accords_version", "ppa_id", "version_number", "position", unique=True),
    )


class LogLeaf(Base):
    """A leaf of the global append-only Merkle log (RFC 9162): hash and the bytes hashed."""

    __tablename__ = "log_leaves"

    leaf_index: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False
    )
    leaf_hash: Mapped[bytes] = mapped_column(LargeBinary)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    kind: Mapped[str] = mapped_column(String(30))
    ppa_id: Mapped[str | None] = mapped_column(String(36), default=None)
    created_at: Mapped[datetime]


class LogNode(Base):
    """Hash of a complete perfect subtree ``(level, node_index)`` of the log (never changes)."""

    __tablename__ = "log_nodes"

    level: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    node_index: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary)


class TreeHead(Base):
    """An Ed25519 signed tree head: the log had ``tree_size`` leaves and this root at that time."""

    __tablename__ = "tree_heads"

    tree_size: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False
    )
    root_hash: Mapped[bytes] = mapped_column(LargeBinary)
    timestamp: Mapped[int] = mapped_column(BigInteger)
    """Milliseconds since the Unix epoch (RFC 6962)."""
    signature: Mapped[bytes] = mapped_column(LargeBinary)
    key_id: Mapped[str] = mapped_column(String(64))
