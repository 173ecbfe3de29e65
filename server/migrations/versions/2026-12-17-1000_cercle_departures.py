"""Cercle departures: members who left, for the CareTeam's participant.period.end

Revision ID: d5e1a7c3f920
Revises: d5f1a2b3c4e6
Create Date: 2026-12-17 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from server.db import UTCDateTime

revision: str = "d5e1a7c3f920"
down_revision: str | None = "d5f1a2b3c4e6"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "cercle_departures",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("person_id", sa.String(36), nullable=False),
        sa.Column("member_id", sa.String(36), nullable=False),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("user_id", sa.String(36), nullable=True),
        sa.Column("api_client_id", sa.String(36), nullable=True),
        sa.Column("professional_id", sa.String(36), nullable=True),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("opposed", sa.Boolean(), nullable=False),
        sa.Column("joined_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["persons.id"],
            name="fk_cercle_departures_person_id_persons",
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_cercle_departures"),
    )
    op.create_index("ix_cercle_departures_person", "cercle_departures", ["person_id"])


def downgrade() -> None:
    op.drop_index("ix_cercle_departures_person", table_name="cercle_departures")
    op.drop_table("cercle_departures")
