"""Never twice, also under a race: identical transmission requests (same version, channel,
document and addresses) make one row, even when they run at the same time or when the second one
checked before the first committed; a row in error leaves room for the same request again."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from server.auth.principal import Principal, PrincipalType
from server.db import Database
from server.models import PPA, Version
from server.models.transmissions import Transmission
from server.transmissions import service
from server.transmissions.settings import TransmissionSettings
from tests.conftest import Api, DatabaseInfo
from tests.server.exports_api.support import Validated, new_validated

SETTINGS = TransmissionSettings(
    dmp_fhir_url="https://127.0.0.1:9/fhir", mss_cert=Path("structure.pem"), transmit_enabled=False
)
"""A DMP channel the service accepts; nothing is sent (no worker reads this test's rows: they
end in ``erreur``)."""


@pytest.fixture
def validated(api_as: Callable[[str], Api], demo: dict[str, Any]) -> Validated:
    return new_validated(api_as, demo)


@pytest.fixture
async def db(database: DatabaseInfo, validated: Validated) -> AsyncIterator[Database]:
    found = Database(database.url)
    try:
        yield found
    finally:
        async with found.transaction() as session:  # no other test's worker sends them
            await session.execute(
                sa.update(Transmission)
                .where(Transmission.ppa_id == validated.ppa_id)
                .values(status="erreur")
            )
        await found.dispose()


async def _create(db: Database, v: Validated) -> str:
    """One request: the coordinator asks for the DMP deposit of the validated version."""
    async with db.transaction() as session:
        ppa = await session.get(PPA, v.ppa_id)
        version = await session.get(Version, (v.ppa_id, v.validated))
        assert ppa is not None
        assert version is not None
        principal = Principal(PrincipalType.USER, "coordinatrice-id", "professional", "")
        row = await service.create(session, principal, SETTINGS, ppa, version, "dmp", "ppa", [])
        return row.id


async def _rows(db: Database, v: Validated) -> list[tuple[str, str]]:
    async with db.transaction() as session:
        found = await session.execute(
            sa.select(Transmission.id, Transmission.status).where(Transmission.ppa_id == v.ppa_id)
        )
        return [(r[0], r[1]) for r in found]


async def test_the_second_of_two_racing_requests_gets_the_first_row(
    db: Database, validated: Validated, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = await _create(db, validated)
    # The second request made its check before the first one committed: it saw nothing.
    real = service.twin
    checks: list[object] = []

    async def too_early(*args: Any) -> Transmission | None:
        checks.append(args)
        return None if len(checks) == 1 else await real(*args)

    monkeypatch.setattr(service, "twin", too_early)
    second = await _create(db, validated)
    assert second == first
    assert await _rows(db, validated) == [(first, "en_attente")]


async def test_identical_requests_at_once_make_one_row(db: Database, validated: Validated) -> None:
    ids = await asyncio.gather(*(_create(db, validated) for _ in range(6)))
    rows = await _rows(db, validated)
    assert len(rows) == 1, rows
    assert set(ids) == {rows[0][0]}


async def test_a_transmission_in_error_can_be_asked_for_again(
    db: Database, validated: Validated
) -> None:
    first = await _create(db, validated)
    async with db.transaction() as session:
        await session.execute(
            sa.update(Transmission).where(Transmission.id == first).values(status="erreur")
        )
    again = await _create(db, validated)
    assert again != first
    assert sorted(await _rows(db, validated)) == sorted([(first, "erreur"), (again, "en_attente")])
    assert await _create(db, validated) == again
