"""online_agreements: the person's own agreement given online on a draft (issue 17, point 8)

Revision ID: b3f8d2a6c417
Revises: e7a1c3f5b902
Create Date: 2026-12-16 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from server.db import UTCDateTime

revision: str = "b3f8d2a6c417"
down_revision: str | None = "e7a1c3f5b902"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "online_agreements",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("ppa_id", sa.String(36), nullable=False),
        sa.Column("mode", sa.String(20), nullable=False),
        sa.Column("motif", sa.Text(), nullable=False),
        sa.Column("given_by", sa.String(36), nullable=False),
        sa.Column("member_id", sa.String(36), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("given_at", UTCDateTime(), nullable=False),
        sa.Column("used_in_version", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["ppa_id"], ["ppas.id"], name="fk_online_agreements_ppa_id_ppas", ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_online_agreements"),
    )
    op.create_index("ix_online_agreements_ppa", "online_agreements", ["ppa_id", "given_at"])


def downgrade() -> None:
    op.drop_index("ix_online_agreements_ppa", table_name="online_agreements")
    op.drop_table("online_agreements")
