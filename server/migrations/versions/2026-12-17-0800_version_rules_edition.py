"""The edition of the validation rules a validated version was checked against

Revision ID: d9f1b3c5e702
Revises: b4d2e6f8a013
Create Date: 2026-12-08 02:30:00.000000

Nullable, no backfill: a version stored before has no edition (it predates the rules, as far
as anyone can tell); its bytes and hashes are never touched (issue 19, rule "validated versions
are never rewritten").
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "d9f1b3c5e702"
down_revision: str | None = "b4d2e6f8a013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# A plain ALTER (never a batch table rebuild): the table's append-only triggers stay in place.


def upgrade() -> None:
    op.add_column("versions", sa.Column("rules_edition", sa.Integer(), nullable=True))


def downgrade() -> None:
    op.drop_column("versions", "rules_edition")
