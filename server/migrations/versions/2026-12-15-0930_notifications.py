"""notifications: preferences, notices, dispatches, outbox, digest runs

Revision ID: e7a1c3f5b902
Revises: e7a3c9d1f204
Create Date: 2026-12-15 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from server.db import UTCDateTime

revision: str = "e7a1c3f5b902"
down_revision: str | None = "e7a3c9d1f204"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "notification_preferences",
        sa.Column("user_id", sa.String(36), nullable=False),
        sa.Column("nature", sa.String(60), nullable=False),
        sa.Column("channels", sa.JSON(), nullable=False),
        sa.Column("frequency", sa.String(20), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name="fk_notification_preferences_user_id_users",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "nature", name="pk_notification_preferences"),
    )
    op.create_table(
        "notices",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("recipient_id", sa.String(36), nullable=False),
        sa.Column("nature", sa.String(60), nullable=False),
        sa.Column("person_id", sa.String(36), nullable=True),
        sa.Column("ppa_id", sa.String(36), nullable=True),
        sa.Column("object_type", sa.String(40), nullable=False),
        sa.Column("object_id", sa.String(80), nullable=True),
        sa.Column("version_number", sa.Integer(), nullable=True),
        sa.Column("actor_id", sa.String(36), nullable=True),
        sa.Column("actor_name", sa.String(200), nullable=True),
        sa.Column("initials", sa.String(12), nullable=True),
        sa.Column("in_app", sa.Boolean(), nullable=False),
        sa.Column("read_at", UTCDateTime(), nullable=True),
        sa.Column("dedupe_key", sa.String(120), nullable=True),
        sa.ForeignKeyConstraint(
            ["recipient_id"], ["users.id"], name="fk_notices_recipient_id_users", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_notices"),
        sa.UniqueConstraint("recipient_id", "dedupe_key", name="uq_notices_recipient_dedupe"),
    )
    op.create_index("ix_notices_recipient", "notices", ["recipient_id", "created_at"])
    op.create_table(
        "notification_outbox",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("recipient_id", sa.String(36), nullable=False),
        sa.Column("channel", sa.String(10), nullable=False),
        sa.Column("frequency", sa.String(20), nullable=False),
        sa.Column("period_key", sa.String(60), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=False),
        sa.Column("lease_until", UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.String(300), nullable=True),
        sa.Column("sent_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["recipient_id"],
            ["users.id"],
            name="fk_notification_outbox_recipient_id_users",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_notification_outbox"),
        sa.UniqueConstraint("recipient_id", "channel", "period_key", name="uq_outbox_period"),
    )
    op.create_index(
        "ix_notification_outbox_due", "notification_outbox", ["status", "next_attempt_at"]
    )
    op.create_table(
        "notice_dispatches",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("notice_id", sa.String(36), nullable=False),
        sa.Column("recipient_id", sa.String(36), nullable=False),
        sa.Column("channel", sa.String(10), nullable=False),
        sa.Column("frequency", sa.String(20), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("outbox_id", sa.String(36), nullable=True),
        sa.ForeignKeyConstraint(
            ["notice_id"],
            ["notices.id"],
            name="fk_notice_dispatches_notice_id_notices",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["outbox_id"],
            ["notification_outbox.id"],
            name="fk_notice_dispatches_outbox_id_notification_outbox",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_notice_dispatches"),
    )
    op.create_index(
        "ix_notice_dispatches_pending",
        "notice_dispatches",
        ["frequency", "outbox_id", "created_at"],
    )
    op.create_index("ix_notice_dispatches_outbox", "notice_dispatches", ["outbox_id"])
    op.create_table(
        "notification_digest_runs",
        sa.Column("period_key", sa.String(60), nullable=False),
        sa.Column("due_at", UTCDateTime(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("messages", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("period_key", name="pk_notification_digest_runs"),
    )
    op.create_table(
        "notification_contacts",
        sa.Column("user_id", sa.String(36), nullable=False),
        sa.Column("email", sa.String(254), nullable=True),
        sa.Column("mobile", sa.String(20), nullable=True),
        sa.Column("mobile_verified_at", UTCDateTime(), nullable=True),
        sa.Column("mobile_code_hash", sa.String(64), nullable=True),
        sa.Column("mobile_code_expires_at", UTCDateTime(), nullable=True),
        sa.Column("mobile_code_attempts", sa.Integer(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name="fk_notification_contacts_user_id_users",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name="pk_notification_contacts"),
    )


def downgrade() -> None:
    op.drop_table("notification_contacts")
    op.drop_table("notification_digest_runs")
    op.drop_index("ix_notice_dispatches_outbox", table_name="notice_dispatches")
    op.drop_index("ix_notice_dispatches_pending", table_name="notice_dispatches")
    op.drop_table("notice_dispatches")
    op.drop_index("ix_notification_outbox_due", table_name="notification_outbox")
    op.drop_table("notification_outbox")
    op.drop_index("ix_notices_recipient", table_name="notices")
    op.drop_table("notices")
    op.drop_table("notification_preferences")
