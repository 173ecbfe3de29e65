"""Read receipts (RFC 8098 MDN): what each disposition means, and statuses that only move
forward: a late ``processed`` after ``displayed`` leaves ``lu``; an MDN never revives an ``erreur``
nor touches a transmission not sent yet."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from server.auth.principal import Principal, PrincipalType
from server.db import Database
from server.models import PPA, Version
from server.models.transmissions import Transmission
from server.models.transmissions import TransmissionStatus as S
from server.transmissions import mdn, service
from server.transmissions.schemas import AddressRecipient
from server.transmissions.settings import TransmissionSettings
from tests.conftest import Api, DatabaseInfo
from tests.server.exports_api.support import Validated, new_validated
from tests.server.transmissions.test_receipts import mdn as raw_mdn

ID = "<ppa-1@test.mssante.fr>"


def _fields(disposition: str, extra: str = "") -> bytes:
    return raw_mdn(ID, disposition, 1).replace(
        b"Disposition: ", extra.encode() + b"Disposition: ", 1
    )


@pytest.mark.parametrize(
    ("disposition", "extra", "expected"),
    [
        ("automatic-action/MDN-sent-automatically; processed", "", mdn.Disposition(ID, S.RECU)),
        ("manual-action/MDN-sent-manually; displayed", "", mdn.Disposition(ID, S.LU)),
        (
            "automatic-action/MDN-sent-automatically; processed/Error: 12^Pièce jointe illisible",
            "",
            mdn.Disposition(ID, S.ERREUR, "12", "Pièce jointe illisible"),
        ),
        (  # RFC 3798's Error field
            "automatic-action/MDN-sent-automatically; processed/error",
            "Error: 7^Format non pris en charge\r\n",
            mdn.Disposition(ID, S.ERREUR, "7", "Format non pris en charge"),
        ),
        (
            "automatic-action/MDN-sent-automatically; failed",
            "",
            mdn.Disposition(ID, S.ERREUR, "MDN_ERREUR", "Erreur signalée par le destinataire"),
        ),
        ("automatic-action/MDN-sent-automatically; deleted", "", None),
    ],
)
def test_what_a_disposition_means(
    disposition: str, extra: str, expected: mdn.Disposition | None
) -> None:
    assert mdn.parse_mdn(_fields(disposition, extra)) == expected


def test_not_an_mdn() -> None:
    assert mdn.parse_mdn(b"From: a@b.fr\r\nSubject: Bonjour\r\n\r\nBonjour\r\n") is None
    without_id = raw_mdn("", "automatic-action; processed", 1)
    assert mdn.parse_mdn(without_id) is None


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
                .where(Transmission.ppa_id == validated.ppa_id, Transmission.status == "en_attente")
                .values(status="erreur")
            )
        await found.dispose()


async def _sent(db: Database, v: Validated, address: str, status: S) -> str:
    """A transmission in ``status``; returns its Message-ID."""
    settings = TransmissionSettings(
        mss_smtp_host="127.0.0.1",
        mss_from="fam@test.mssante.fr",
        mss_cert=Path("structure.pem"),
        mss_key=Path("structure.key"),
        mss_domains=["test.mssante.fr"],
    )
    async with db.transaction() as session:
        ppa = await session.get(PPA, v.ppa_id)
        version = await session.get(Version, (v.ppa_id, v.validated))
        assert ppa is not None
        assert version is not None
        principal = Principal(PrincipalType.USER, "coordinatrice-id", "professional", "")
        row = await service.create(
            session,
            principal,
            settings,
            ppa,
            version,
            "mssante",
            "ppa",
            [AddressRecipient(address=address)],
        )
        row.status = status.value
        return row.message_id


async def _status(db: Database, message_id: str) -> tuple[str, str | None]:
    async with db.transaction() as session:
        row = await session.scalar(
            sa.select(Transmission).where(Transmission.message_id == message_id)
        )
        assert row is not None
        return row.status, row.error_code


async def test_statuses_only_move_forward(db: Database, validated: Validated) -> None:
    read = await _sent(db, validated, "lu@test.mssante.fr", S.ENVOYE)
    assert await mdn.apply(db, mdn.Disposition(read, S.LU))
    assert await mdn.apply(db, mdn.Disposition(read, S.RECU))  # late: stays read
    assert await _status(db, read) == ("lu", None)

    failed = await _sent(db, validated, "erreur@test.mssante.fr", S.ERREUR)
    assert await mdn.apply(db, mdn.Disposition(failed, S.LU))
    assert await _status(db, failed) == ("erreur", None)

    pending = await _sent(db, validated, "attente@test.mssante.fr", S.EN_ATTENTE)
    assert await mdn.apply(db, mdn.Disposition(pending, S.ERREUR, "1", "x"))
    assert await _status(db, pending) == ("en_attente", None)

    assert not await mdn.apply(db, mdn.Disposition("<not-ours@x.fr>", S.LU))
