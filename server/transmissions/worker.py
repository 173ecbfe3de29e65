"""The transmission worker: runs in the app's lifespan, sends due transmissions.

As :mod:`server.esms.delivery`: each due row is *leased* (``lease_until``) by one worker with a
conditional UPDATE, so several server processes never send the same transmission at once; a
failure that may pass (SMTP 4xx, network, TLS, HTTP 5xx) schedules a retry after
``base * 2^(attempt-1)`` seconds (capped), until ``PPA_TRANSMIT_MAX_ATTEMPTS``; a refusal (SMTP
5xx, an OperationOutcome) is an ``erreur`` at once. The state is in the database only: a
restarted process resumes the pending rows, and a row whose status left ``en_attente`` is never
sent again. Every attempt's outcome is audited.

Between the server's acceptance and the commit of ``envoye`` there is a window where a crash
leaves the row pending: its lease expires and it is sent again, with the same ``Message-ID``
(mail) or the same document and submission ids (DMP, whose duplicate answer counts as done).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta

import anyio
import anyio.to_thread
import structlog
from fastapi import FastAPI
from sqlalchemy import or_, select, update

from exports.dispatch import Documents, render_documents
from exports.pdsm import provide_bundle
from server.audit.service import trace
from server.db import Database, utcnow
from server.exports_api.context import export_input
from server.exports_api.service import RENDER_LIMITER
from server.models import PPA, Version
from server.models.transmissions import Channel, Transmission, TransmissionStatus
from server.transmissions import dmp, mdn, mssante, service
from server.transmissions.settings import TransmissionSettings

log = structlog.get_logger(__name__)
S = TransmissionStatus
SUBMISSION_NAMESPACE = uuid.UUID("0b5d7e0e-8f3c-4a8e-9a51-6c0f2b9d4e21")


@dataclass(frozen=True)
class Result:
    ok: bool
    permanent: bool
    error_code: str | None = None
    error_label: str | None = None
    technical: str | None = None


def backoff(settings: TransmissionSettings, attempts: int) -> timedelta:
    seconds = settings.transmit_retry_base_seconds * 2 ** max(attempts - 1, 0)
    return timedelta(seconds=min(seconds, settings.transmit_retry_max_seconds))


def submission_uuid(transmission_id: str) -> uuid.UUID:
    """The SubmissionSet id of a DMP deposit: fixed per transmission (same at every retry)."""
    return uuid.uuid5(SUBMISSION_NAMESPACE, transmission_id)


class TransmissionWorker:
    def __init__(self, db: Database, settings: TransmissionSettings) -> None:
        self.db = db
        self.settings = settings
        self._wakeup = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None

    def wake(self) -> None:
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._wakeup.set)

    async def run(self) -> None:
        self._loop = asyncio.get_running_loop()
        while True:
            self._wakeup.clear()
            try:
                await self.run_once()
            except Exception as exc:  # keep the worker alive; the next poll retries
                log.error("transmissions.worker_error", error_type=type(exc).__name__)
            with anyio.move_on_after(self.settings.transmit_poll_seconds):
                await self._wakeup.wait()

    async def run_once(self) -> int:
        total = 0
        while True:
            claimed = await self._claim()
            if not claimed:
                return total
            for tid in claimed:
                try:
                    await self.send(tid)
                except Exception as exc:  # one row's failure (rendering, database) is its attempt
                    log.error(
                        "transmissions.send_error",
                        transmission_id=tid,
                        error_type=type(exc).__name__,
                    )
                    await self.record(
                        tid, None, Result(False, False, technical=type(exc).__name__), None
                    )
            total += len(claimed)

    async def _claim(self) -> list[str]:
        now = utcnow()
        lease_seconds = max(
            self.settings.transmit_lease_seconds, 3 * self.settings.transmit_timeout_seconds
        )
        lease = now + timedelta(seconds=lease_seconds)
        free = or_(Transmission.lease_until.is_(None), Transmission.lease_until < now)
        # A channel this process is not configured for is left to others (or to a restart).
        channels = [
            c.value
            for c, ready in (
                (Channel.MSSANTE, self.settings.mss_ready),
                (Channel.DMP, self.settings.dmp_ready),
            )
            if ready
        ]
        if not channels:
            return []
        async with self.db.transaction() as session:
            due = list(
                await session.scalars(
                    select(Transmission.id)
                    .where(
                        Transmission.status == S.EN_ATTENTE.value,
                        Transmission.next_attempt_at <= now,
                        Transmission.channel.in_(channels),
                        free,
                    )
                    .order_by(Transmission.next_attempt_at, Transmission.id)
                    .limit(10)
                )
            )
            claimed = []
            for tid in due:
                result = await session.execute(
                    update(Transmission)
                    .where(
                        Transmission.id == tid,
                        Transmission.status == S.EN_ATTENTE.value,
                        free,
                    )
                    .values(lease_until=lease)
                )
                if result.rowcount == 1:  # type: ignore[attr-defined]
                    claimed.append(tid)
        return claimed

    async def send(self, tid: str) -> None:
        async with self.db.transaction() as session:
            t = await session.get(Transmission, tid)
            if t is None or t.status != S.EN_ATTENTE.value:
                return
            ppa = await session.get(PPA, t.ppa_id)
            version = await session.get(Version, (t.ppa_id, t.version_number))
            if ppa is None or version is None:  # never deleted
                raise RuntimeError(f"transmission {tid}: version not found")
            inp = await export_input(session, ppa, version)
            number = t.attempts + 1
            channel, document, message_id = t.channel, t.document, t.message_id
            recipients = [str(r["address"]) for r in t.recipients]
        docs: Documents = await anyio.to_thread.run_sync(
            render_documents, inp, document, limiter=RENDER_LIMITER
        )
        if channel == Channel.MSSANTE:
            msg = mssante.build_message(
                inp,
                docs,
                sender=self.settings.mss_from or "",
                recipients=recipients,
                message_id=message_id,
            )
            smtp = await anyio.to_thread.run_sync(mssante.send, self.settings, msg, recipients)
            result = _smtp_result(smtp)
        else:
            bundle = provide_bundle(inp, docs.cda, submission_uuid(tid))
            result = _dmp_result(await dmp.deposit(self.settings, bundle))
        await self.record(tid, number, result, docs.cda.unique_id)

    async def record(
        self, tid: str, number: int | None, result: Result, unique_id: str | None
    ) -> None:
        """The outcome of attempt ``number`` (``None``: the next one, which failed before
        anything was sent)."""
        now = utcnow()
        async with self.db.transaction() as session:
            t = await session.get(Transmission, tid)
            if t is None:
                raise RuntimeError(f"transmission {tid} not found")
            number = number if number is not None else t.attempts + 1
            t.attempts = number
            t.lease_until = None
            t.updated_at = now
            t.document_unique_id = unique_id or t.document_unique_id
            t.last_error = result.technical
            if t.status != S.EN_ATTENTE.value:
                return
            if result.ok:
                t.status = (S.ENVOYE if t.channel == Channel.MSSANTE else S.RECU).value
                t.sent_at = now
                if t.channel == Channel.DMP:
                    t.received_at = now
                t.error_code, t.error_label = result.error_code, result.error_label
                outcome = "ok"
            elif result.permanent:
                t.status = S.ERREUR.value
                t.error_code = result.error_code or "ECHEC_ENVOI"
                t.error_label = result.error_label or "Transmission refusée."
                outcome = "error"
            elif number >= self.settings.transmit_max_attempts:
                # Every attempt failed with something that may pass: the code says so, the
                # label gives the last answer (a code, never content).
                last = f" (dernière réponse : {result.error_code})" if result.error_code else ""
                t.status = S.ERREUR.value
                t.error_code = "ECHEC_ENVOI"
                t.error_label = (
                    f"Transmission impossible après {number} tentative"
                    f"{'s' if number > 1 else ''}{last} ; vérifiez la configuration et réessayez."
                )
                outcome = "error"
            else:
                t.next_attempt_at = now + backoff(self.settings, number)
                outcome = "retry"
            trace(
                session,
                service.actor(t),
                f"ppa.transmission.{t.status}:{t.channel}:v{t.version_number}",
                "transmission",
                t.id,
                person_id=t.person_id,
                role="coordinator",
                outcome=outcome,
            )
        log.info(
            "transmissions.attempt",
            transmission_id=tid,
            attempt=number,
            ok=result.ok,
            reason=result.technical,
        )


class ReceiptReader:
    """Reads the MDNs of the applicative mailbox over IMAP (TLS) and applies them."""

    def __init__(self, db: Database, settings: TransmissionSettings) -> None:
        self.db = db
        self.settings = settings

    async def run(self) -> None:
        while True:
            try:
                await self.run_once()
            except Exception as exc:  # the mailbox may be down: the next poll retries
                log.warning("transmissions.imap_error", error_type=type(exc).__name__)
            await anyio.sleep(self.settings.mss_imap_poll_seconds)

    async def run_once(self) -> int:
        found = await anyio.to_thread.run_sync(mdn.fetch_mdns, self.settings)
        ours: list[bytes] = []
        for imap_id, raw in found:
            disposition = mdn.parse_mdn(raw)
            if disposition is not None and await mdn.apply(self.db, disposition):
                ours.append(imap_id)
        await anyio.to_thread.run_sync(mdn.mark_seen, self.settings, ours)
        return len(ours)


def _smtp_result(o: mssante.SmtpOutcome) -> Result:
    if o.ok:
        if o.permanent:
            return Result(
                True,
                False,
                "DESTINATAIRE_REFUSE",
                f"Au moins un destinataire a été refusé par le serveur MSSanté (code {o.code}).",
                o.reason,
            )
        return Result(True, False)
    label = None
    if o.permanent:
        label = f"Message refusé par le serveur MSSanté (code {o.code})."
    code = f"SMTP_{o.code}" if o.code else None
    return Result(False, o.permanent, code, label, f"{o.reason} {o.code or ''}".strip())


def _dmp_result(o: dmp.DmpOutcome) -> Result:
    return Result(o.ok, o.permanent, o.error_code, o.error_label, o.reason or None)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: TransmissionSettings | None = getattr(app.state, "transmission_settings", None)
    if settings is None:
        settings = app.state.transmission_settings = TransmissionSettings()
    if not settings.transmit_enabled:
        yield
        return
    worker = TransmissionWorker(app.state.db, settings)
    app.state.transmission_worker = worker
    service.add_waker(worker.wake)
    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(worker.run)
            if settings.mss_imap_host:
                tg.start_soon(ReceiptReader(app.state.db, settings).run)
            try:
                yield
            finally:
                tg.cancel_scope.cancel()
    finally:
        service.remove_waker(worker.wake)
