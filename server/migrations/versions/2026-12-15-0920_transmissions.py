"""transmissions (MSSanté, DMP); MSSanté addresses and kind of structures and professionals

Revision ID: e7a3c9d1f204
Revises: a7d3e9f1b204
Create Date: 2026-12-15 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import server.db

revision: str = "e7a3c9d1f204"
down_revision: str | None = "a7d3e9f1b204"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("structures", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("kind", sa.String(length=20), nullable=False, server_default="esms")
        )
        batch_op.add_column(sa.Column("departement", sa.String(length=3), nullable=True))
        batch_op.add_column(sa.Column("mss_address", sa.String(length=254), nullable=True))
    with op.batch_alter_table("professionals", schema=None) as batch_op:
        batch_op.add_column(sa.Column("mss_address", sa.String(length=254), nullable=True))

    op.create_table(
        "transmissions",
        sa.Column("ppa_id", sa.String(length=36), nullable=False),
        sa.Column("version_number", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.String(length=36), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("document", sa.String(length=20), nullable=False),
        sa.Column("recipients", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("error_code", sa.String(length=60), nullable=True),
        sa.Column("error_label", sa.String(length=300), nullable=True),
        sa.Column("last_error", sa.String(length=300), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", server.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("lease_until", server.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("message_id", sa.String(length=200), nullable=False),
        sa.Column("document_unique_id", sa.String(length=200), nullable=True),
        sa.Column("group_id", sa.String(length=36), nullable=True),
        sa.Column("dedupe_key", sa.String(length=64), nullable=False),
        sa.Column("created_by", sa.String(length=36), nullable=False),
        sa.Column("sent_at", server.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("received_at", server.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("read_at", server.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("updated_at", server.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("created_at", server.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["persons.id"],
            name=op.f("fk_transmissions_person_id_persons"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["ppa_id"], ["ppas.id"], name=op.f("fk_transmissions_ppa_id_ppas"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["ppa_id", "version_number"],
            ["versions.ppa_id", "versions.number"],
            name=op.f("fk_transmissions_ppa_id_versions"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transmissions")),
        sa.UniqueConstraint("message_id", name=op.f("uq_transmissions_message_id")),
    )
    with op.batch_alter_table("transmissions", schema=None) as batch_op:
        batch_op.create_index("ix_transmissions_due", ["status", "next_attempt_at"], unique=False)
        batch_op.create_index(
            "ix_transmissions_version", ["ppa_id", "version_number"], unique=False
        )


def downgrade() -> None:
    op.drop_table("transmissions")
    with op.batch_alter_table("professionals", schema=None) as batch_op:
        batch_op.drop_column("mss_address")
    with op.batch_alter_table("structures", schema=None) as batch_op:
        batch_op.drop_column("mss_address")
        batch_op.drop_column("departement")
        batch_op.drop_column("kind")
