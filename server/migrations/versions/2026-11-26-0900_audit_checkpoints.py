"""versions: audit-trail checkpoints sealed into the global log; restore claims on ppas

Revision ID: a3c1e5d7f901
Revises: 7fe2f70258c0
Create Date: 2026-11-26 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import server.db
from server.migration_helpers import append_only, drop_append_only

revision: str = "a3c1e5d7f901"
down_revision: str | None = "7fe2f70258c0"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audit_checkpoints",
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("first_seq", sa.BigInteger(), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.Column("min_event_id", sa.BigInteger(), nullable=False),
        sa.Column("max_event_id", sa.BigInteger(), nullable=False),
        sa.Column("event_ids", sa.Text(), nullable=False),
        sa.Column("events_digest", sa.String(length=64), nullable=False),
        sa.Column("at", server.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("leaf_index", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_checkpoints")),
    )
    with op.batch_alter_table("audit_checkpoints", schema=None) as batch_op:
        batch_op.create_index("ix_audit_checkpoints_max_event", ["max_event_id"], unique=False)
    append_only("audit_checkpoints")
    with op.batch_alter_table("ppas", schema=None) as batch_op:
        batch_op.add_column(sa.Column("restore_claim", sa.String(length=36), nullable=True))
        batch_op.add_column(
            sa.Column("restore_claim_at", server.db.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("ppas", schema=None) as batch_op:
        batch_op.drop_column("restore_claim_at")
        batch_op.drop_column("restore_claim")
    drop_append_only("audit_checkpoints")
    with op.batch_alter_table("audit_checkpoints", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_checkpoints_max_event")
    op.drop_table("audit_checkpoints")
