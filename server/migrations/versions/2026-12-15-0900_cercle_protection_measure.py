"""cercle_members: the legal protection measure of a legal representative (type, scope)

Revision ID: e7b3d9a1c524
Revises: c4e8a2d6f013
Create Date: 2026-12-07 16:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "e7b3d9a1c524"
down_revision: str | None = "c4e8a2d6f013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable, no default: existing members hold no measure; a legal representative whose
    # measure is unknown is asked for his agreement (docs/domain-rules.md, rule 3).
    with op.batch_alter_table("cercle_members", schema=None) as batch_op:
        batch_op.add_column(sa.Column("mesure", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("mesure_portee", sa.String(length=40), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("cercle_members", schema=None) as batch_op:
        batch_op.drop_column("mesure_portee")
        batch_op.drop_column("mesure")
