"""NdE subscriptions (POST /fhir/Subscription) and the kind of a webhook

Revision ID: b4d2e6f8a013
Revises: c0d17a6e5b01
Create Date: 2026-12-16 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from server.db import UTCDateTime

revision: str = "b4d2e6f8a013"
down_revision: str | None = "c0d17a6e5b01"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("esms_webhooks") as batch:
        batch.add_column(sa.Column("kind", sa.String(10), nullable=False, server_default="esms"))
    op.create_table(
        "nde_subscriptions",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("api_client_id", sa.String(36), nullable=False),
        sa.Column("webhook_id", sa.String(36), nullable=False),
        sa.Column("person_id", sa.String(36), nullable=False),
        sa.Column("event_type", sa.String(10), nullable=False),
        sa.Column("start", UTCDateTime(), nullable=False),
        sa.Column("end", UTCDateTime(), nullable=True),
        sa.Column("resource", sa.JSON(), nullable=False),
        sa.Column("deleted_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["api_client_id"],
            ["api_clients.id"],
            name="fk_nde_subscriptions_api_client_id_api_clients",
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["webhook_id"],
            ["esms_webhooks.id"],
            name="fk_nde_subscriptions_webhook_id_esms_webhooks",
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["persons.id"],
            name="fk_nde_subscriptions_person_id_persons",
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_nde_subscriptions"),
        sa.UniqueConstraint("webhook_id", name="uq_nde_subscriptions_webhook_id"),
    )
    op.create_index("ix_nde_subscriptions_person", "nde_subscriptions", ["person_id"])
    op.create_index("ix_nde_subscriptions_client", "nde_subscriptions", ["api_client_id"])


def downgrade() -> None:
    op.drop_index("ix_nde_subscriptions_client", table_name="nde_subscriptions")
    op.drop_index("ix_nde_subscriptions_person", table_name="nde_subscriptions")
    op.drop_table("nde_subscriptions")
    with op.batch_alter_table("esms_webhooks") as batch:
        batch.drop_column("kind")
