"""ppas: SERAFIN-PH codes of the content a PPA was created with (received from elsewhere)

Revision ID: c4e8a2d6f013
Revises: d5f9b2c4e716
Create Date: 2026-12-08 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c4e8a2d6f013"
down_revision: str | None = "d5f9b2c4e716"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable, no default: existing PPAs received nothing (their accepted codes are unchanged).
    with op.batch_alter_table("ppas", schema=None) as batch_op:
        batch_op.add_column(sa.Column("received_codes", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("ppas", schema=None) as batch_op:
        batch_op.drop_column("received_codes")
