"""persons: the date of admission in the structure (first PPA within 6 months, CASF D311)

Revision ID: a7d3e9f1b204
Revises: e7b3d9a1c524
Create Date: 2026-12-07 16:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a7d3e9f1b204"
down_revision: str | None = "e7b3d9a1c524"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable, no default: for persons registered before, the admission is unknown (their
    # first-PPA deadline shows as unknown until a coordinator records it).
    with op.batch_alter_table("persons", schema=None) as batch_op:
        batch_op.add_column(sa.Column("admission_date", sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("persons", schema=None) as batch_op:
        batch_op.drop_column("admission_date")
