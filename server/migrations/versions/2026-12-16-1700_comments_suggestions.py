"""comments and suggestions on a PPA (issue 17, points 6-7)

Revision ID: c0d17a6e5b01
Revises: b3d5f7a9c113
Create Date: 2026-12-16 17:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from server.db import UTCDateTime

revision: str = "c0d17a6e5b01"
down_revision: str | None = "b3d5f7a9c113"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ppa_comments",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("ppa_id", sa.String(36), nullable=False),
        sa.Column("person_id", sa.String(36), nullable=False),
        sa.Column("thread_id", sa.String(36), nullable=False),
        sa.Column("kind", sa.String(12), nullable=False),
        sa.Column("anchor", sa.String(200), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("author_id", sa.String(36), nullable=False),
        sa.Column("mentions", sa.JSON(), nullable=False),
        sa.Column("version_number", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["ppa_id"], ["ppas.id"], name="fk_ppa_comments_ppa_id_ppas", ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["users.id"],
            name="fk_ppa_comments_author_id_users",
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_ppa_comments"),
    )
    op.create_index("ix_ppa_comments_ppa", "ppa_comments", ["ppa_id", "created_at"])
    op.create_table(
        "ppa_suggestions",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("ppa_id", sa.String(36), nullable=False),
        sa.Column("person_id", sa.String(36), nullable=False),
        sa.Column("path", sa.String(200), nullable=False),
        sa.Column("base", sa.Text(), nullable=False),
        sa.Column("proposed", sa.Text(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("author_id", sa.String(36), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("decided_by", sa.String(36), nullable=True),
        sa.Column("decided_at", UTCDateTime(), nullable=True),
        sa.Column("version_number", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["ppa_id"], ["ppas.id"], name="fk_ppa_suggestions_ppa_id_ppas", ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["users.id"],
            name="fk_ppa_suggestions_author_id_users",
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_ppa_suggestions"),
    )
    op.create_index("ix_ppa_suggestions_ppa", "ppa_suggestions", ["ppa_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_ppa_suggestions_ppa", table_name="ppa_suggestions")
    op.drop_table("ppa_suggestions")
    op.drop_index("ix_ppa_comments_ppa", table_name="ppa_comments")
    op.drop_table("ppa_comments")
