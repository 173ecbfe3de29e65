"""Migration d5f1a2b3c4e6 (the unique index on the live transmissions) on a database holding
duplicates an earlier race made: the first keeps its key, the later live ones get keys of their
own (history kept, nothing deleted), rows in error are left alone; then the index refuses a new
duplicate."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy.exc import IntegrityError

from server.migrate import alembic_config, upgrade
from server.models.transmissions import Transmission
from tests.conftest import Api, DatabaseInfo
from tests.server.exports_api.support import Validated, new_validated

BEFORE = "d9f1b3c5e702"
KEY = "a" * 64
TABLE = sa.Table(Transmission.__tablename__, Transmission.metadata)


def _row(v: Validated, status: str, key: str, minute: int) -> dict[str, Any]:
    at = datetime(2026, 12, 1, 9, minute, tzinfo=UTC)
    return {
        "id": str(uuid.uuid4()),
        "ppa_id": v.ppa_id,
        "version_number": v.validated,
        "person_id": v.person_id,
        "channel": "mssante",
        "document": "ppa",
        "recipients": [],
        "status": status,
        "attempts": 1,
        "message_id": f"<ppa-{uuid.uuid4()}@test.mssante.fr>",
        "dedupe_key": key,
        "created_by": "coordinatrice-id",
        "created_at": at,
        "updated_at": at,
    }


def test_earlier_duplicates_get_keys_of_their_own(
    database: DatabaseInfo, api_as: Callable[[str], Api], demo: dict[str, Any]
) -> None:
    v = new_validated(api_as, demo)
    first, second, third = (
        _row(v, s, KEY, m) for s, m in (("envoye", 1), ("lu", 2), ("envoye", 3))
    )
    failed = _row(v, "erreur", KEY, 0)
    other = _row(v, "envoye", "b" * 64, 4)
    engine = sa.create_engine(database.sync_url)
    try:
        command.downgrade(alembic_config(database.url), BEFORE)
        try:
            with engine.begin() as conn:
                conn.execute(sa.insert(TABLE), [first, second, third, failed, other])
        finally:
            upgrade(database.url)
        with engine.begin() as conn:
            keys = dict(
                conn.execute(
                    sa.select(TABLE.c.id, TABLE.c.dedupe_key).where(TABLE.c.ppa_id == v.ppa_id)
                ).all()
            )
        assert keys[first["id"]] == KEY
        assert keys[failed["id"]] == KEY
        assert keys[other["id"]] == "b" * 64
        own = {keys[second["id"]], keys[third["id"]]}
        assert len(own) == 2
        assert all(len(k) == 64 and k not in (KEY, "b" * 64) for k in own)
        with pytest.raises(IntegrityError), engine.begin() as conn:
            conn.execute(sa.insert(TABLE), [_row(v, "en_attente", KEY, 5)])
    finally:
        with engine.begin() as conn:  # no worker sends them
            conn.execute(sa.update(TABLE).where(TABLE.c.ppa_id == v.ppa_id).values(status="erreur"))
        engine.dispose()
