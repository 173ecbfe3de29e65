"""transmissions: one live row per version, channel, document and addresses (unique index)

Two identical POSTs racing each other could both pass the service's check and make two rows
(two mails, two deposits). A partial unique index on (ppa_id, version_number, dedupe_key) for the
rows not in error makes it exact on SQLite and PostgreSQL. Duplicates made before it keep their
history: each one after the first gets a dedupe key of its own.

Revision ID: d5f1a2b3c4e6
Revises: d9f1b3c5e702
Create Date: 2026-12-17 09:00:00.000000
"""

import hashlib
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "d5f1a2b3c4e6"
down_revision: str | None = "d9f1b3c5e702"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LIVE = sa.text("status != 'erreur'")


def upgrade() -> None:
    bind = op.get_bind()
    rows = bind.execute(
        sa.text(
            "SELECT id, ppa_id, version_number, dedupe_key FROM transmissions"
            " WHERE status != 'erreur' ORDER BY created_at, id"
        )
    ).all()
    seen: set[tuple[str, int, str]] = set()
    for row in rows:
        key = (row.ppa_id, row.version_number, row.dedupe_key)
        if key in seen:
            own = hashlib.sha256(f"{row.dedupe_key}|{row.id}".encode()).hexdigest()
            bind.execute(
                sa.text("UPDATE transmissions SET dedupe_key = :key WHERE id = :id"),
                {"key": own, "id": row.id},
            )
        seen.add(key)
    op.create_index(
        "uq_transmissions_live_dedupe",
        "transmissions",
        ["ppa_id", "version_number", "dedupe_key"],
        unique=True,
        sqlite_where=LIVE,
        postgresql_where=LIVE,
    )


def downgrade() -> None:
    op.drop_index("uq_transmissions_live_dedupe", table_name="transmissions")
