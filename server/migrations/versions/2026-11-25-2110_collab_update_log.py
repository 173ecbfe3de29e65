"""collab: durable update log of the live documents (ppa_updates)

Rows are appended and never deleted; the only UPDATE allowed is compaction clearing ``data``
(authorship columns unchanged). Triggers enforce it on SQLite and PostgreSQL.

Revision ID: 7fe2f70258c0
Revises: d05f986af520
Create Date: 2026-11-25 21:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import server.db

revision: str = "7fe2f70258c0"
down_revision: str | None = "d05f986af520"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SAME_AUTHORSHIP = (
    "NEW.ppa_id = OLD.ppa_id AND NEW.seq = OLD.seq AND NEW.author = OLD.author "
    "AND NEW.created_at = OLD.created_at AND NEW.client_ids = OLD.client_ids "
    "AND NEW.size = OLD.size"
)


def upgrade() -> None:
    op.create_table(
        "ppa_updates",
        sa.Column("ppa_id", sa.String(length=36), nullable=False),
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("data", sa.LargeBinary(), nullable=True),
        sa.Column("author", sa.String(length=100), nullable=False),
        sa.Column("created_at", server.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("client_ids", sa.Text(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["ppa_id"],
            ["ppas.id"],
            name=op.f("fk_ppa_updates_ppa_id_ppas"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("ppa_id", "seq", name=op.f("pk_ppa_updates")),
    )
    with op.batch_alter_table("ppa_updates", schema=None) as batch_op:
        batch_op.create_index("ix_ppa_updates_ppa_created", ["ppa_id", "created_at"], unique=False)

    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "CREATE TRIGGER ppa_updates_no_delete BEFORE DELETE ON ppa_updates "
            "BEGIN SELECT RAISE(ABORT, 'ppa_updates is append-only'); END"
        )
        op.execute(
            "CREATE TRIGGER ppa_updates_only_fold BEFORE UPDATE ON ppa_updates "
            f"WHEN NOT (NEW.data IS NULL AND {_SAME_AUTHORSHIP}) "
            "BEGIN SELECT RAISE(ABORT, 'ppa_updates: only data may be cleared'); END"
        )
    else:
        op.execute(
            "CREATE OR REPLACE FUNCTION ppa_updates_only_fold() RETURNS trigger AS $$ "
            "BEGIN "
            "IF TG_OP = 'UPDATE' AND NEW.data IS NULL AND "
            f"{_SAME_AUTHORSHIP} THEN RETURN NEW; END IF; "
            "RAISE EXCEPTION 'ppa_updates is append-only (only data may be cleared)'; "
            "END; $$ LANGUAGE plpgsql"
        )
        op.execute(
            "CREATE TRIGGER ppa_updates_only_fold BEFORE UPDATE OR DELETE ON ppa_updates "
            "FOR EACH ROW EXECUTE FUNCTION ppa_updates_only_fold()"
        )
        op.execute(
            "CREATE TRIGGER ppa_updates_no_truncate BEFORE TRUNCATE ON ppa_updates "
            "FOR EACH STATEMENT EXECUTE FUNCTION ppa_updates_only_fold()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS ppa_updates_no_delete")
        op.execute("DROP TRIGGER IF EXISTS ppa_updates_only_fold")
    else:
        op.execute("DROP TRIGGER IF EXISTS ppa_updates_only_fold ON ppa_updates")
        op.execute("DROP TRIGGER IF EXISTS ppa_updates_no_truncate ON ppa_updates")
        op.execute("DROP FUNCTION IF EXISTS ppa_updates_only_fold()")
    with op.batch_alter_table("ppa_updates", schema=None) as batch_op:
        batch_op.drop_index("ix_ppa_updates_ppa_created")
    op.drop_table("ppa_updates")
