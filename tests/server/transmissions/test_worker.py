"""The transmission worker's attempts, run in the test's process against real loopback servers: the
retry schedule; a transmission every attempt of which fails ends in ``erreur`` (``ECHEC_ENVOI``)
after ``PPA_TRANSMIT_MAX_ATTEMPTS`` and is never tried again; a DMP deposit whose answer was
lost is repeated with the same identifiers and the DMP's duplicate answer counts as done
(deposited once); an SMTP server refusing one recipient of two: sent to the other, once,
flagged; every attempt audited."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from server.auth.principal import Principal, PrincipalType
from server.db import Database
from server.models import PPA, AuditEvent, Version
from server.models.transmissions import Transmission
from server.transmissions import service
from server.transmissions.schemas import AddressRecipient
from server.transmissions.settings import TransmissionSettings
from server.transmissions.worker import TransmissionWorker, backoff
from tests.conftest import Api, DatabaseInfo
from tests.server.exports_api.support import Validated, new_validated
from tests.server.transmissions.conftest import DOMAIN, transmission_settings
from tests.server.transmissions.fhir_server import FhirServer
from tests.server.transmissions.pki import Pki
from tests.server.transmissions.smtp_server import SmtpServer

pytestmark = pytest.mark.slow
COORDINATOR = Principal(PrincipalType.USER, "coordinatrice-id", "professional", "")


def test_backoff_doubles_from_30_seconds_and_is_capped_at_an_hour() -> None:
    defaults = TransmissionSettings(_env_file=None)
    delays = [backoff(defaults, n).total_seconds() for n in range(1, 12)]
    assert delays == [30, 60, 120, 240, 480, 960, 1920, 3600, 3600, 3600, 3600]
    assert backoff(defaults, 0).total_seconds() == 30  # never zero
    # Between the first and the 12th (last) attempt: about 5 hours of trying.
    total = sum(
        (backoff(defaults, n) for n in range(1, defaults.transmit_max_attempts)), timedelta()
    )
    assert total == timedelta(hours=5, minutes=3, seconds=30)


@pytest.fixture
def validated(api_as: Callable[[str], Api], demo: dict[str, Any]) -> Validated:
    return new_validated(api_as, demo)


@pytest.fixture
async def db(database: DatabaseInfo) -> AsyncIterator[Database]:
    found = Database(database.url)
    yield found
    await found.dispose()


@pytest.fixture
def smtp(pki: Pki) -> Iterator[SmtpServer]:
    server = SmtpServer(pki).start()
    yield server
    server.stop()


async def _create(
    db: Database, settings: TransmissionSettings, v: Validated, channel: str, to: list[str]
) -> str:
    async with db.transaction() as session:
        ppa = await session.get(PPA, v.ppa_id)
        version = await session.get(Version, (v.ppa_id, v.validated))
        assert ppa is not None
        assert version is not None
        recipients = [AddressRecipient(address=a) for a in to]
        row = await service.create(
            session, COORDINATOR, settings, ppa, version, channel, "ppa", list(recipients)
        )
        return row.id


async def _row(db: Database, tid: str) -> Transmission:
    async with db.transaction() as session:
        row = await session.get(Transmission, tid)
        assert row is not None
        return row


async def _work_until_settled(worker: TransmissionWorker, db: Database, tid: str) -> Transmission:
    """Attempt the row until it leaves ``en_attente``, its retries at once: only this test's
    row (``run_once`` would also take another test's pending rows of the session database)."""
    for _ in range(50):
        await worker.send(tid)
        row = await _row(db, tid)
        if row.status != "en_attente":
            return row
    raise AssertionError("the worker never settled the transmission")


async def _traces(db: Database, tid: str) -> list[tuple[str, str, str | None]]:
    async with db.transaction() as session:
        found = await session.execute(
            sa.select(AuditEvent.action, AuditEvent.outcome, AuditEvent.actor_id)
            .where(AuditEvent.object_type == "transmission", AuditEvent.object_id == tid)
            .order_by(AuditEvent.id)
        )
        return [(r[0], r[1], r[2]) for r in found]


async def test_every_attempt_failing_ends_in_error_after_the_last_one(
    db: Database, validated: Validated, pki: Pki, smtp: SmtpServer
) -> None:
    smtp.handler.fail_always = True  # 451 to every message
    settings = transmission_settings(
        pki, smtp.port, "https://127.0.0.1:9/fhir", transmit_max_attempts=3
    )
    tid = await _create(db, settings, validated, "mssante", [f"dest@{DOMAIN}"])
    worker = TransmissionWorker(db, settings)
    row = await _work_until_settled(worker, db, tid)
    assert (row.status, row.attempts, row.error_code) == ("erreur", 3, "ECHEC_ENVOI")
    assert row.error_label == (
        "Transmission impossible après 3 tentatives (dernière réponse : SMTP_451) ; "
        "vérifiez la configuration et réessayez."
    )
    assert smtp.handler.data_commands == 3
    await worker.send(tid)  # never tried again
    assert smtp.handler.data_commands == 3
    n = validated.validated
    assert await _traces(db, tid) == [
        (f"ppa.transmission.en_attente:mssante:v{n}", "retry", COORDINATOR.id),
        (f"ppa.transmission.en_attente:mssante:v{n}", "retry", COORDINATOR.id),
        (f"ppa.transmission.erreur:mssante:v{n}", "error", COORDINATOR.id),
    ]


async def test_a_deposit_whose_answer_was_lost_is_not_deposited_twice(
    db: Database, validated: Validated, pki: Pki
) -> None:
    dmp = FhirServer(pki, lose_answers=1).start()
    try:
        settings = transmission_settings(pki, 9, dmp.url)
        tid = await _create(db, settings, validated, "dmp", [])
        row = await _work_until_settled(TransmissionWorker(db, settings), db, tid)
        assert (row.status, row.attempts, row.error_code) == ("recu", 2, None)
        assert len(dmp.accepted) == 1  # the first attempt; the second got the duplicate answer
        assert dmp.requests == 2
        first, second = dmp.received
        assert _ids(first) == _ids(second)  # the same SubmissionSet and document ids
        n = validated.validated
        assert await _traces(db, tid) == [
            (f"ppa.transmission.en_attente:dmp:v{n}", "retry", COORDINATOR.id),
            (f"ppa.transmission.recu:dmp:v{n}", "ok", COORDINATOR.id),
        ]
    finally:
        dmp.stop()


def _ids(bundle: dict[str, Any]) -> list[Any]:
    return [
        e["resource"].get("identifier") or e["resource"].get("masterIdentifier")
        for e in bundle["entry"]
        if e["resource"]["resourceType"] in ("List", "DocumentReference")
    ]


async def test_a_recipient_refused_by_the_server_is_flagged_and_the_others_get_it_once(
    db: Database, validated: Validated, pki: Pki, smtp: SmtpServer
) -> None:
    unknown, known = f"inconnu@{DOMAIN}", f"connu@{DOMAIN}"
    smtp.handler.refuse = {unknown}
    settings = transmission_settings(pki, smtp.port, "https://127.0.0.1:9/fhir")
    worker = TransmissionWorker(db, settings)
    tid = await _create(db, settings, validated, "mssante", [unknown, known])
    row = await _work_until_settled(worker, db, tid)
    assert (row.status, row.attempts, row.error_code) == ("envoye", 1, "DESTINATAIRE_REFUSE")
    assert row.error_label is not None
    assert "550" in row.error_label
    assert [r.rcpt_tos for r in smtp.received] == [[known]]
    # Every recipient refused: an error at once, nothing sent, no retry.
    alone = await _create(db, settings, validated, "mssante", [unknown])
    row = await _work_until_settled(worker, db, alone)
    assert (row.status, row.attempts, row.error_code) == ("erreur", 1, "SMTP_550")
    assert len(smtp.received) == 1
