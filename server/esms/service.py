"""ESMS import: the feed of validated versions, webhooks, and ``notify_validated``.

Publishing a validated version is an *outbox*: :func:`notify_validated` runs inside the
validation transaction and inserts the feed event and one pending delivery per webhook that may
read the PPA; nothing leaves the service before that transaction commits. The delivery worker
(:mod:`server.esms.delivery`) sends them afterwards, retrying with exponential backoff.
"""

from __future__ import annotations

import ipaddress
import json
import re
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import structlog
from sqlalchemy import event, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from exports import registry
from server import authz
from server.auth.principal import Principal
from server.authz import Capability
from server.db import utcnow
from server.errors import Conflict, InvalidInput, NotFound
from server.esms.access import may_read as _may_read
from server.esms.addresses import is_public
from server.esms.nde import nde_deliveries
from server.esms.schemas import CURSOR_PATTERN, FeedItem, FeedPage
from server.esms.signing import encrypt_secret
from server.exports_api.context import frozen_context
from server.exports_api.repository import VALIDATED_KIND_VALUES
from server.models import PPA, ApiClient, Person, Version
from server.models.exports import (
    DeliveryStatus,
    EsmsFeedEvent,
    FeedCounter,
    FeedEventKind,
    Webhook,
    WebhookDelivery,
)

log = structlog.get_logger(__name__)

FEED_COUNTER = "esms_feed"
MAX_WEBHOOKS_PER_CLIENT = 10
ESMS_KIND = "esms"
"""``Webhook.kind`` of the feed's webhooks (an NdE subscription's channel is ``nde``)."""
EVENT_NAMES = {FeedEventKind.VALIDATED: "ppa.validated", FeedEventKind.AVENANT: "ppa.avenant"}
EVENT_NAMESPACE = uuid.UUID("c1a4f0de-3b7e-4a51-8f66-0d2b9e5c7a14")

_wakers: set[Callable[[], None]] = set()


def add_waker(waker: Callable[[], None]) -> None:
    """Called after every commit that enqueued deliveries (the worker's wake-up)."""
    _wakers.add(waker)


def remove_waker(waker: Callable[[], None]) -> None:
    _wakers.discard(waker)


def _wake(_session: Any) -> None:
    for waker in list(_wakers):
        waker()


_VALIDATED_FLUSHED = "esms.validated_version_flushed"


@event.listens_for(Session, "after_flush")
def _note_validated_versions(session: Session, _context: Any) -> None:
    # Safety net for callers that do not call notify_validated: wake the worker after the
    # commit, and its sweep publishes the new validated version at once (see publish_missing).
    if any(isinstance(o, Version) and o.kind in VALIDATED_KIND_VALUES for o in session.new):
        session.info[_VALIDATED_FLUSHED] = True


@event.listens_for(Session, "after_commit")
def _wake_after_validation(session: Session) -> None:
    if session.info.pop(_VALIDATED_FLUSHED, False):
        _wake(session)


@event.listens_for(Session, "after_rollback")
def _forget_validation(session: Session) -> None:
    session.info.pop(_VALIDATED_FLUSHED, None)


def export_links(ppa_id: str, number: int, kind: str) -> dict[str, str]:
    """Download paths of every format available for a validated version of this kind."""
    return {
        name: f"/api/ppas/{ppa_id}/versions/{number}/exports/{name}"
        for name in registry.FORMATS
        if not name.startswith("mdph") or kind == FeedEventKind.AVENANT.value
    }


def feed_item(ev: EsmsFeedEvent) -> FeedItem:
    return FeedItem(
        position=ev.position,
        ppa_id=ev.ppa_id,
        person_id=ev.person_id,
        version=ev.version_number,
        kind=ev.kind,
        content_hash=ev.content_hash,
        hash=ev.chain_hash,
        validated_at=ev.validated_at,
        exports=export_links(ev.ppa_id, ev.version_number, ev.kind),
    )


def event_body(ev: EsmsFeedEvent) -> bytes:
    """The webhook body (JSON; ids and hashes only, never content or identity)."""
    kind = FeedEventKind(ev.kind)
    payload = {
        "id": str(uuid.uuid5(EVENT_NAMESPACE, f"{ev.ppa_id}:{ev.version_number}")),
        "type": EVENT_NAMES[kind],
        "created_at": ev.created_at.isoformat(),
        "data": feed_item(ev).model_dump(mode="json"),
    }
    return json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


async def _next_position(session: AsyncSession) -> int:
    # The UPDATE locks the counter row until commit: positions are handed out in commit order.
    value = await session.scalar(
        update(FeedCounter)
        .where(FeedCounter.name == FEED_COUNTER)
        .values(value=FeedCounter.value + 1)
        .returning(FeedCounter.value)
    )
    if value is None:
        session.add(FeedCounter(name=FEED_COUNTER, value=1))
        await session.flush()
        return 1
    return int(value)


async def webhooks_for(session: AsyncSession, person_id: str) -> list[Webhook]:
    """Active webhooks of API clients that may read the person's validated PPAs."""
    rows = (
        await session.execute(
            select(Webhook, ApiClient)
            .join(ApiClient, ApiClient.id == Webhook.api_client_id)
            .where(
                Webhook.kind == ESMS_KIND,
                Webhook.disabled_at.is_(None),
                ApiClient.revoked_at.is_(None),
            )
            .order_by(Webhook.created_at, Webhook.id)
        )
    ).all()
    return [hook for hook, client in rows if await _may_read(session, client, person_id)]


async def notify_validated(
    session: AsyncSession, ppa_id: str, version_number: int
) -> EsmsFeedEvent:
    """Publish a validated version to the structures' software. Call it INSIDE the validation
    transaction (validation and avenant), after the version row is flushed, as late as possible
    (it takes the feed counter's row lock until commit).

    In the same transaction it: inserts the ESMS feed event (the next cursor position), freezes
    the version's export context (identity, structure and professionals as of the validation),
    and enqueues one signed delivery per webhook whose client may read the PPA. Nothing is sent
    before the commit: the delivery worker is woken after it (and polls anyway), so a rolled-back
    validation notifies no one. Idempotent per (PPA, version). Never commits.
    """
    existing = await session.scalar(
        select(EsmsFeedEvent).where(
            EsmsFeedEvent.ppa_id == ppa_id, EsmsFeedEvent.version_number == version_number
        )
    )
    if existing is not None:
        return existing
    row = (
        await session.execute(
            select(PPA, Version)
            .join(Version, Version.ppa_id == PPA.id)
            .where(PPA.id == ppa_id, Version.number == version_number)
        )
    ).first()
    if row is None:
        raise ValueError(f"no version {version_number} for PPA {ppa_id}")
    ppa, version = row
    if version.kind not in VALIDATED_KIND_VALUES:
        raise ValueError(f"version {version_number} of PPA {ppa_id} is not validated")
    try:
        await frozen_context(session, ppa, version)
    except Conflict:
        # Not exportable yet (no structure, no professional): never block a validation for it.
        log.warning("esms.context_not_frozen", ppa_id=ppa_id, version=version_number)
    now = utcnow()
    ev = EsmsFeedEvent(
        position=await _next_position(session),
        ppa_id=ppa.id,
        person_id=ppa.person_id,
        version_number=version.number,
        kind=FeedEventKind(version.kind).value,
        content_hash=version.content_hash,
        chain_hash=version.chain_hash,
        validated_at=version.created_at,
        created_at=now,
    )
    session.add(ev)
    await session.flush()
    body = event_body(ev)
    hooks = await webhooks_for(session, ppa.person_id)
    for hook in hooks:
        session.add(
            WebhookDelivery(
                webhook_id=hook.id,
                feed_position=ev.position,
                event=EVENT_NAMES[FeedEventKind(ev.kind)],
                body=body,
                next_attempt_at=now,
            )
        )
    # The DUIs' NdE subscriptions to the person: one CommunicationRequest each (server.esms.nde).
    subscriptions = await nde_deliveries(session, ev)
    await session.flush()
    if hooks or subscriptions:
        event.listen(session.sync_session, "after_commit", _wake, once=True)
    log.info(
        "esms.notified",
        ppa_id=ppa_id,
        version=version_number,
        position=ev.position,
        deliveries=len(hooks),
        nde=subscriptions,
    )
    return ev


async def unpublished(
    session: AsyncSession, limit: int, since: datetime | None = None
) -> list[tuple[str, int]]:
    """Committed validated versions (created at or after ``since``) without a feed event."""
    query = (
        select(Version.ppa_id, Version.number)
        .outerjoin(
            EsmsFeedEvent,
            (EsmsFeedEvent.ppa_id == Version.ppa_id)
            & (EsmsFeedEvent.version_number == Version.number),
        )
        .where(Version.kind.in_(VALIDATED_KIND_VALUES), EsmsFeedEvent.position.is_(None))
        .order_by(Version.created_at, Version.ppa_id, Version.number)
        .limit(limit)
    )
    if since is not None:
        query = query.where(Version.created_at >= since)
    rows = await session.execute(query)
    return [(ppa_id, number) for ppa_id, number in rows.all()]


def parse_cursor(cursor: str | None) -> int:
    if not cursor:
        return 0
    if not re.fullmatch(CURSOR_PATTERN, cursor):
        raise InvalidInput("Curseur invalide : reprenez le « next_cursor » d'une page précédente.")
    return int(cursor)


async def feed_page(
    session: AsyncSession, principal: Principal, cursor: str | None, limit: int
) -> tuple[FeedPage, list[EsmsFeedEvent]]:
    """Validated versions readable by the principal, after ``cursor``, oldest first.

    The upper bound is read first, then the page is taken below it: an event committed
    between the two reads can never be skipped by the returned cursor.
    """
    after = parse_cursor(cursor)
    upper = int(await session.scalar(select(func.max(EsmsFeedEvent.position))) or 0)
    persons = authz.persons_with(principal, Capability.READ_VALIDATED).with_only_columns(Person.id)
    events = list(
        await session.scalars(
            select(EsmsFeedEvent)
            .where(
                EsmsFeedEvent.position > after,
                EsmsFeedEvent.position <= upper,
                EsmsFeedEvent.person_id.in_(persons),
            )
            .order_by(EsmsFeedEvent.position)
            .limit(limit + 1)
        )
    )
    has_more = len(events) > limit
    events = events[:limit]
    next_position = events[-1].position if has_more else max(upper, after)
    page = FeedPage(
        items=[feed_item(ev) for ev in events],
        next_cursor=str(next_position),
        has_more=has_more,
    )
    return page, events


def check_url(url: str, *, allow_private_networks: bool = False) -> None:
    """A webhook calls ``https://`` at a public address. With ``allow_private_networks``
    (development, tests), also private, loopback and link-local addresses, and ``http://`` on
    loopback. Host names are checked again, resolved, at each delivery
    (:func:`server.esms.addresses.vetted_address`)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError:  # a bracketed host that is no IPv6 address, NFKC tricks
        parts, host = urlsplit(""), ""
    problem: str | None = None
    if not host or parts.scheme not in ("https", "http"):
        problem = "https:// obligatoire"
    elif parts.scheme == "http" and not (allow_private_networks and _is_loopback(host)):
        problem = "https:// obligatoire (http:// accepté seulement en local)"
    elif not allow_private_networks and not _is_public(host):
        problem = "adresse privée, locale ou réservée refusée"
    if problem is not None:
        raise InvalidInput(
            f"Adresse de webhook invalide : {problem}.",
            extra={"problems": [{"path": "url", "message": problem}]},
        )


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def _is_public(host: str) -> bool:
    """False for an address literal that is not globally routable (IPv6 forms embedding IPv4
    judged by their IPv4) and for ``localhost``; a host name is judged by its addresses at
    delivery time (:func:`server.esms.addresses.vetted_address`)."""
    try:
        return is_public(ipaddress.ip_address(host))
    except ValueError:
        return not (host == "localhost" or host.endswith(".localhost"))


# The webhook functions below act for an API client: routes give them the principal of
# ``server.authz.EsmsClient`` (403 to any other account).


async def create_webhook(
    session: AsyncSession,
    principal: Principal,
    service_secret: str,
    url: str,
    secret: str,
    *,
    allow_private_networks: bool = False,
    kind: str = ESMS_KIND,
) -> Webhook:
    """A webhook of the client: the feed's (``esms``, at most MAX_WEBHOOKS_PER_CLIENT active),
    or the channel of an NdE subscription (``nde``, one per subscription)."""
    check_url(url, allow_private_networks=allow_private_networks)
    count = await session.scalar(
        select(func.count(Webhook.id)).where(
            Webhook.api_client_id == principal.id,
            Webhook.kind == ESMS_KIND,
            Webhook.disabled_at.is_(None),
        )
    )
    if kind == ESMS_KIND and int(count or 0) >= MAX_WEBHOOKS_PER_CLIENT:
        raise Conflict(
            f"Au plus {MAX_WEBHOOKS_PER_CLIENT} webhooks actifs par logiciel : "
            "supprimez-en un avant d'en ajouter."
        )
    hook_id = str(uuid.uuid4())
    hook = Webhook(
        id=hook_id,
        api_client_id=principal.id,
        url=url,
        secret_ciphertext=encrypt_secret(service_secret, hook_id, secret),
        kind=kind,
    )
    session.add(hook)
    await session.flush()
    return hook


async def own_webhooks(session: AsyncSession, principal: Principal) -> Sequence[Webhook]:
    return list(
        await session.scalars(
            select(Webhook)
            .where(Webhook.api_client_id == principal.id, Webhook.kind == ESMS_KIND)
            .order_by(Webhook.created_at, Webhook.id)
        )
    )


async def get_own_webhook(session: AsyncSession, principal: Principal, hook_id: str) -> Webhook:
    hook = await session.scalar(
        select(Webhook).where(
            Webhook.id == hook_id,
            Webhook.api_client_id == principal.id,
            Webhook.kind == ESMS_KIND,
        )
    )
    if hook is None:
        raise NotFound("Webhook introuvable.")
    return hook


async def disable_webhook(session: AsyncSession, principal: Principal, hook_id: str) -> Webhook:
    """Stop calling the webhook; its pending deliveries are cancelled, its log is kept."""
    return await disable(session, await get_own_webhook(session, principal, hook_id))


async def disable(session: AsyncSession, hook: Webhook) -> Webhook:
    """Stop calling a webhook (ESMS or NdE channel): its pending deliveries are cancelled."""
    if hook.disabled_at is None:
        hook.disabled_at = utcnow()
        await session.execute(
            update(WebhookDelivery)
            .where(
                WebhookDelivery.webhook_id == hook.id,
                WebhookDelivery.status == DeliveryStatus.PENDING.value,
            )
            .values(status=DeliveryStatus.CANCELLED.value, lease_until=None)
        )
        await session.flush()
    return hook
