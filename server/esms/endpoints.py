"""ESMS import API: feed of validated versions, webhooks and their delivery log."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status
from sqlalchemy import select

from server import authz
from server.audit.trail import AuditTrail, audited
from server.authz import EsmsClient
from server.deps import SessionDep, SettingsDep
from server.esms import delivery, service
from server.esms.schemas import (
    CURSOR_PATTERN,
    AttemptRead,
    DeliveryRead,
    FeedPage,
    WebhookCreate,
    WebhookRead,
)
from server.models.exports import Webhook, WebhookAttempt, WebhookDelivery

router = APIRouter(prefix="/api/esms", tags=["esms"], lifespan=delivery.lifespan)


# API clients only (EsmsClient): the feed is the structures' software's import (issue 2: the
# role esms reads validated versions); the browser editor never calls it, persons and
# professionals read the same versions through the PPA routes, and its cursor counts the versions
# published by the whole service.
@router.get("/feed", response_model=FeedPage)
async def feed(
    audit: Annotated[AuditTrail, audited("esms.feed", account=authz.esms_client)],
    session: SessionDep,
    cursor: Annotated[
        str | None, Query(max_length=18, json_schema_extra={"pattern": CURSOR_PATTERN})
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> FeedPage:
    """Validated versions (validations and avenants) the caller may read, published after
    `cursor`, oldest first, with the download path of every format. Start without a cursor;
    then pass the `next_cursor` of the previous page. Positions follow commit order, so a
    cursor never skips a version; versions of persons whose cercle the caller is not in (or
    who opposed it) are left out. API clients only."""
    page, events = await service.feed_page(session, audit.principal, cursor, limit)
    await audit.each("ppa", [(ev.ppa_id, ev.person_id) for ev in events])
    return page


@router.post("/webhooks", status_code=status.HTTP_201_CREATED, response_model=WebhookRead)
async def create_webhook(
    body: WebhookCreate,
    session: SessionDep,
    principal: EsmsClient,
    settings: SettingsDep,
) -> Webhook:
    """Register a URL called (POST, JSON) on every validation and avenant of a PPA the client
    may read. Each body is signed: `X-PPA-Signature: sha256=<hex HMAC-SHA256(secret, body)>`;
    also `X-PPA-Event`, `X-PPA-Delivery` (same on retries: dedupe on it) and `X-PPA-Attempt`.
    Answer 2xx to acknowledge; otherwise the call is retried with exponential backoff.
    API clients only."""
    return await service.create_webhook(
        session,
        principal,
        settings.resolved_secret_key(),
        body.url,
        body.secret,
        allow_private_networks=settings.webhook_allow_private_networks,
    )


@router.get("/webhooks", response_model=list[WebhookRead])
async def list_webhooks(session: SessionDep, principal: EsmsClient) -> list[Webhook]:
    """The client's webhooks (secrets are never returned)."""
    return list(await service.own_webhooks(session, principal))


@router.delete("/webhooks/{webhook_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_webhook(webhook_id: str, session: SessionDep, principal: EsmsClient) -> Response:
    """Stop calling this webhook; pending deliveries are cancelled, the log is kept."""
    await service.disable_webhook(session, principal, webhook_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/webhooks/{webhook_id}/deliveries", response_model=list[DeliveryRead])
async def list_deliveries(
    webhook_id: str,
    session: SessionDep,
    principal: EsmsClient,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[DeliveryRead]:
    """The delivery log of the webhook, newest first, each with its attempts."""
    hook = await service.get_own_webhook(session, principal, webhook_id)
    deliveries = list(
        await session.scalars(
            select(WebhookDelivery)
            .where(WebhookDelivery.webhook_id == hook.id)
            .order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.feed_position.desc())
            .limit(limit)
        )
    )
    attempts: dict[str, list[AttemptRead]] = {d.id: [] for d in deliveries}
    for attempt in await session.scalars(
        select(WebhookAttempt)
        .where(WebhookAttempt.delivery_id.in_(attempts))
        .order_by(WebhookAttempt.delivery_id, WebhookAttempt.number)
    ):
        attempts[attempt.delivery_id].append(AttemptRead.model_validate(attempt))
    return [
        DeliveryRead(
            id=d.id,
            event=d.event,
            feed_position=d.feed_position,
            status=d.status,
            attempts=d.attempts,
            next_attempt_at=delivery.next_attempt(d),
            last_status_code=d.last_status_code,
            last_error=d.last_error,
            created_at=d.created_at,
            delivered_at=d.delivered_at,
            log=attempts[d.id],
        )
        for d in deliveries
    ]
