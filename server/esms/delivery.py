"""The webhook delivery worker: runs in the app's lifespan, sends pending deliveries.

Each due delivery is *leased* (``lease_until``) by one worker with a conditional UPDATE, so
several server processes share the work without sending a delivery twice at once; a lease left
by a crashed process expires and the delivery is sent again (at-least-once: receivers dedupe on
the body's ``id`` or the ``X-PPA-Delivery`` header). A 2xx answer delivers; anything else
(status, timeout, refused connection) schedules a retry after ``base * 2^(attempt-1)`` seconds
(capped), until ``max_attempts``; then the delivery is ``failed``. Every attempt is logged in
``webhook_attempts``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import anyio
import httpx
import structlog
from cryptography.exceptions import InvalidTag
from fastapi import FastAPI
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from server.audit.service import trace
from server.auth.service import client_principal
from server.db import Database, utcnow
from server.esms import service
from server.esms.access import may_read
from server.esms.addresses import (
    PINNED_ADDRESS,
    AddressRefusedError,
    PinnedTransport,
    vetted_address,
)
from server.esms.nde import FHIR_JSON_CONTENT
from server.esms.signing import SIGNATURE_HEADER, decrypt_secret, signature
from server.models import ApiClient
from server.models.exports import (
    DeliveryStatus,
    EsmsFeedEvent,
    Webhook,
    WebhookAttempt,
    WebhookDelivery,
)
from server.notifications.service import Event, emit

log = structlog.get_logger(__name__)


SWEEP_MARGIN = timedelta(minutes=10)


class WebhookSettings(BaseSettings):
    """``PPA_WEBHOOK_*`` environment variables."""

    model_config = SettingsConfigDict(env_prefix="PPA_WEBHOOK_", env_file=".env", extra="ignore")

    enabled: bool = True
    """Run the worker in this process (``PPA_WEBHOOK_ENABLED=false`` leaves it to others)."""
    retry_base_seconds: float = 2.0
    retry_max_seconds: float = 3600.0
    max_attempts: int = 16
    """With the defaults: 15 waits of 2, 4 ... 2048 s then 4 x 1 h, i.e. the 16th attempt
    about 5 h 08 min after the first (plus the attempts' own time), then ``failed``."""
    timeout_seconds: float = 10.0
    poll_seconds: float = 5.0
    lease_seconds: float = 60.0
    batch: int = 20


def backoff(settings: WebhookSettings, attempts: int) -> timedelta:
    """Delay before the next attempt once ``attempts`` attempts failed."""
    seconds = settings.retry_base_seconds * 2 ** max(attempts - 1, 0)
    return timedelta(seconds=min(seconds, settings.retry_max_seconds))


class DeliveryWorker:
    def __init__(
        self,
        db: Database,
        service_secret: str,
        settings: WebhookSettings,
        *,
        allow_private_networks: bool = False,
    ) -> None:
        self.db = db
        self.service_secret = service_secret
        self.settings = settings
        self.allow_private_networks = allow_private_networks
        self._wakeup = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._swept_from: datetime | None = None

    def wake(self) -> None:
        """Thread-safe: ask the worker to look for due deliveries now."""
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._wakeup.set)

    async def run(self) -> None:
        self._loop = asyncio.get_running_loop()
        async with delivery_client(self.settings.timeout_seconds) as client:
            while True:
                self._wakeup.clear()
                try:
                    await self.run_once(client)
                except Exception as exc:  # keep the worker alive; the next poll retries
                    log.error("esms.delivery.worker_error", error_type=type(exc).__name__)
                with anyio.move_on_after(self.settings.poll_seconds):
                    await self._wakeup.wait()

    async def publish_missing(self) -> int:
        """Safety net: publish validated versions that no transaction published (versions
        validated before this feature existed, or by a path that did not call
        ``notify_validated``), each in its own transaction. Returns how many."""
        # The first sweep of the process looks at every version; later ones only at recent ones
        # (a validation commits well within SWEEP_MARGIN of its version's created_at).
        started = utcnow()
        async with self.db.transaction() as session:
            missing = await service.unpublished(session, self.settings.batch, self._swept_from)
        if len(missing) < self.settings.batch:
            self._swept_from = started - SWEEP_MARGIN
        for ppa_id, number in missing:
            try:
                async with self.db.transaction() as session:
                    await service.notify_validated(session, ppa_id, number)
            except IntegrityError:
                pass  # published meanwhile by another process
        return len(missing)

    async def run_once(self, client: httpx.AsyncClient) -> int:
        """Send every delivery due now (in batches); return how many were attempted."""
        while await self.publish_missing() == self.settings.batch:
            pass
        total = 0
        while True:
            claimed = await self._claim()
            if not claimed:
                return total
            async with anyio.create_task_group() as tg:
                for delivery_id in claimed:
                    tg.start_soon(self._send, client, delivery_id)
            total += len(claimed)

    async def _claim(self) -> list[str]:
        now = utcnow()
        lease = now + timedelta(seconds=self.settings.lease_seconds)
        free = or_(WebhookDelivery.lease_until.is_(None), WebhookDelivery.lease_until < now)
        async with self.db.transaction() as session:
            due = list(
                await session.scalars(
                    select(WebhookDelivery.id)
                    .where(
                        WebhookDelivery.status == DeliveryStatus.PENDING.value,
                        WebhookDelivery.next_attempt_at <= now,
                        free,
                    )
                    .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
                    .limit(self.settings.batch)
                )
            )
            claimed = []
            for delivery_id in due:
                result = await session.execute(
                    update(WebhookDelivery)
                    .where(
                        WebhookDelivery.id == delivery_id,
                        WebhookDelivery.status == DeliveryStatus.PENDING.value,
                        free,
                    )
                    .values(lease_until=lease)
                )
                if result.rowcount == 1:  # type: ignore[attr-defined]
                    claimed.append(delivery_id)
        return claimed

    async def _target(
        self, session: AsyncSession, delivery: WebhookDelivery
    ) -> tuple[Webhook, ApiClient, EsmsFeedEvent] | None:
        row = (
            await session.execute(
                select(Webhook, ApiClient, EsmsFeedEvent)
                .join(ApiClient, ApiClient.id == Webhook.api_client_id)
                .join(EsmsFeedEvent, EsmsFeedEvent.position == delivery.feed_position)
                .where(Webhook.id == delivery.webhook_id)
            )
        ).first()
        if row is None:
            return None
        hook, api_client, ev = row
        if hook.disabled_at is not None or api_client.revoked_at is not None:
            return None
        if not await may_read(session, api_client, ev.person_id):
            return None
        return hook, api_client, ev

    async def _send(self, client: httpx.AsyncClient, delivery_id: str) -> None:
        async with self.db.transaction() as session:
            delivery = await session.get(WebhookDelivery, delivery_id)
            if delivery is None:  # deliveries are never deleted
                raise RuntimeError(f"webhook delivery {delivery_id} not found")
            target = await self._target(session, delivery)
            if target is None:
                delivery.status = DeliveryStatus.CANCELLED.value
                delivery.lease_until = None
                log.info("esms.delivery.cancelled", delivery_id=delivery_id)
                return
            hook, api_client, ev = target
            url, body, number = hook.url, delivery.body, delivery.attempts + 1
            try:
                secret = decrypt_secret(self.service_secret, hook.id, hook.secret_ciphertext)
            except (InvalidTag, ValueError):
                secret = None
        if secret is None:
            # The service secret key changed: the ESMS must register its webhook again.
            unreadable = "webhook secret unreadable (service secret key changed)"
            await self._record(delivery_id, number, None, unreadable, 0, api_client, ev)
            return
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        try:
            address = await vetted_address(
                parts.hostname or "", port, allow_private_networks=self.allow_private_networks
            )
        except AddressRefusedError as refused:
            # Never sent: the name resolves to an internal address (or the setting changed),
            # or does not resolve at all.
            await self._record(delivery_id, number, None, refused.error, 0, api_client, ev)
            return
        headers = {
            # An NdE subscription's delivery is a FHIR CommunicationRequest.
            "Content-Type": FHIR_JSON_CONTENT
            if delivery.event.startswith("nde.")
            else "application/json",
            "User-Agent": "ppa-collab-webhook/1",
            "X-PPA-Event": delivery.event,
            "X-PPA-Delivery": delivery_id,
            "X-PPA-Attempt": str(number),
            SIGNATURE_HEADER: signature(secret, body),
        }
        started = time.perf_counter()
        status_code: int | None = None
        error: str | None = None
        try:
            response = await client.post(
                url, content=body, headers=headers, extensions={PINNED_ADDRESS: address}
            )
            status_code = response.status_code
            if not 200 <= status_code < 300:
                error = f"HTTP {status_code}"
        except httpx.HTTPError as exc:
            error = type(exc).__name__
        duration = round((time.perf_counter() - started) * 1000)
        await self._record(delivery_id, number, status_code, error, duration, api_client, ev)

    async def _record(
        self,
        delivery_id: str,
        number: int,
        status_code: int | None,
        error: str | None,
        duration_ms: int,
        api_client: ApiClient,
        ev: EsmsFeedEvent,
    ) -> None:
        now = utcnow()
        async with self.db.transaction() as session:
            delivery = await session.get(WebhookDelivery, delivery_id)
            if delivery is None:  # deliveries are never deleted
                raise RuntimeError(f"webhook delivery {delivery_id} not found")
            session.add(
                WebhookAttempt(
                    delivery_id=delivery_id,
                    number=number,
                    at=now,
                    status_code=status_code,
                    error=error,
                    duration_ms=duration_ms,
                )
            )
            delivery.attempts = number
            delivery.last_status_code = status_code
            delivery.last_error = error
            delivery.lease_until = None
            if delivery.status != DeliveryStatus.PENDING.value:
                return  # cancelled meanwhile (webhook deleted): keep the attempt, nothing else
            if error is None:
                delivery.status = DeliveryStatus.DELIVERED.value
                delivery.delivered_at = now
                trace(
                    session,
                    client_principal(api_client),
                    "esms.webhook.delivered",
                    "ppa",
                    ev.ppa_id,
                    person_id=ev.person_id,
                    role="esms",
                )
            elif number >= self.settings.max_attempts:
                delivery.status = DeliveryStatus.FAILED.value
                # The service's admins learn it (ids only: the webhook, never the PPA).
                await emit(session, Event("esms.delivery_failed", "webhook", delivery.webhook_id))
            else:
                delivery.next_attempt_at = now + backoff(self.settings, number)
        log.info(
            "esms.delivery.attempt",
            delivery_id=delivery_id,
            attempt=number,
            status=status_code,
            error=error,
        )


def delivery_client(
    timeout_seconds: float, inner: httpx.AsyncBaseTransport | None = None
) -> httpx.AsyncClient:
    """The HTTP client of deliveries: no redirects, every request sent to its vetted address.

    No connection is kept alive: the pool is keyed by address, and a connection whose TLS
    certificate was verified for one host name must not carry another host's delivery.
    """
    inner = inner or httpx.AsyncHTTPTransport(limits=httpx.Limits(max_keepalive_connections=0))
    return httpx.AsyncClient(
        transport=PinnedTransport(inner), timeout=timeout_seconds, follow_redirects=False
    )


def next_attempt(delivery: WebhookDelivery) -> datetime | None:
    return delivery.next_attempt_at if delivery.status == DeliveryStatus.PENDING.value else None


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Run the delivery worker for the app's lifetime (nested in the app's own lifespan)."""
    settings: WebhookSettings = getattr(app.state, "webhook_settings", None) or WebhookSettings()
    # httpx logs every request URL at INFO; a webhook URL may carry the receiver's own token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    if not settings.enabled:
        yield
        return
    worker = DeliveryWorker(
        app.state.db,
        app.state.settings.resolved_secret_key(),
        settings,
        allow_private_networks=app.state.settings.webhook_allow_private_networks,
    )
    app.state.delivery_worker = worker
    service.add_waker(worker.wake)
    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(worker.run)
            try:
                yield
            finally:
                tg.cancel_scope.cancel()
    finally:
        service.remove_waker(worker.wake)
