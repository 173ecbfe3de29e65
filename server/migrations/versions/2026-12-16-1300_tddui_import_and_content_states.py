"""ppas: what a TDDUI import recorded; content_states: the states behind ETags (all processes)

Revision ID: b3d5f7a9c113
Revises: b3f8d2a6c417
Create Date: 2026-12-16 13:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from server.db import UTCDateTime

revision: str = "b3d5f7a9c113"
down_revision: str | None = "b3f8d2a6c417"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable: PPAs written here were imported from nowhere.
    with op.batch_alter_table("ppas", schema=None) as batch_op:
        batch_op.add_column(sa.Column("imported_identifier", sa.String(200), nullable=True))
        batch_op.add_column(sa.Column("imported_by_structure_id", sa.String(36), nullable=True))
        batch_op.create_foreign_key(
            "fk_ppas_imported_by_structure_id_structures",
            "structures",
            ["imported_by_structure_id"],
            ["id"],
            ondelete="RESTRICT",
        )
        batch_op.create_index("ix_ppas_imported_identifier", ["imported_identifier"])
    op.create_table(
        "content_states",
        sa.Column("ppa_id", sa.String(36), nullable=False),
        sa.Column("etag", sa.String(40), nullable=False),
        sa.Column("content", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["ppa_id"], ["ppas.id"], name="fk_content_states_ppa_id_ppas", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("ppa_id", "etag", name="pk_content_states"),
    )
    op.create_index("ix_content_states_age", "content_states", ["ppa_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_content_states_age", table_name="content_states")
    op.drop_table("content_states")
    with op.batch_alter_table("ppas", schema=None) as batch_op:
        batch_op.drop_index("ix_ppas_imported_identifier")
        batch_op.drop_constraint("fk_ppas_imported_by_structure_id_structures", type_="foreignkey")
        batch_op.drop_column("imported_by_structure_id")
        batch_op.drop_column("imported_identifier")
