"""auth: failed-login counters (throttling); audit object ids hold login names (100)

Revision ID: b7d2e4f6a810
Revises: a3c1e5d7f901
Create Date: 2026-12-07 06:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import server.db

revision: str = "b7d2e4f6a810"
down_revision: str | None = "a3c1e5d7f901"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "login_throttles",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failure_at", server.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_login_throttles")),
    )
    # SQLite does not enforce VARCHAR lengths (and its append-only triggers forbid the table
    # rebuild a batch ALTER would do); PostgreSQL widens in place.
    if op.get_bind().dialect.name != "sqlite":
        op.alter_column(
            "audit_events",
            "object_id",
            existing_type=sa.String(length=36),
            type_=sa.String(length=100),
            existing_nullable=True,
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        op.alter_column(
            "audit_events",
            "object_id",
            existing_type=sa.String(length=100),
            type_=sa.String(length=36),
            existing_nullable=True,
        )
    op.drop_table("login_throttles")
