"""Agenda feeds: create a subscribable ``.ics`` URL, list, revoke, and the feed itself."""

from __future__ import annotations

import hashlib
from typing import Annotated

from fastapi import APIRouter, Header, Response, status

from server.agenda import service
from server.agenda.schemas import AgendaFeedCreate, AgendaFeedCreated, AgendaFeedRead
from server.audit.trail import AuditTrail, audited
from server.auth.deps import CurrentPrincipal
from server.db import utcnow
from server.deps import ClientAddr, SessionDep, SettingsDep
from server.exports_api.service import etag_matches
from server.models.exports import AgendaFeed

router = APIRouter(tags=["agenda"])


async def _trace_feed(audit: AuditTrail, feed: AgendaFeed) -> None:
    """A feed's trace names the owner's role in the person's cercle for a person's agenda
    (``None`` once they left it), the account kind for a professional's own agenda."""
    if feed.person_id is None:
        audit.record("agenda_feed", feed.id, person_id=None, role=audit.principal.kind)
    else:
        await audit.on("agenda_feed", feed.id, feed.person_id)


@router.post(
    "/api/agenda-feeds", status_code=status.HTTP_201_CREATED, response_model=AgendaFeedCreated
)
async def create_feed(
    body: AgendaFeedCreate,
    audit: Annotated[AuditTrail, audited("agenda.feed.create")],
    session: SessionDep,
    settings: SettingsDep,
) -> AgendaFeedCreated:
    """A calendar subscription URL with a secret token: the person's agenda (any member who
    reads validated versions) or your own agenda as a professional (every person whose cercle
    you are in). Keep the URL private; revoke it with `DELETE /api/agenda-feeds/{id}`."""
    feed, token = await service.create_feed(
        session, audit.principal, body.kind, body.person_id, body.label
    )
    await _trace_feed(audit, feed)
    # PPA_PUBLIC_URL, never the request's Host header (a client could write any address there).
    url = settings.resolved_public_url() + service.feed_path(token)
    return AgendaFeedCreated.model_validate(
        {
            **AgendaFeedRead.model_validate(feed).model_dump(),
            "url": url,
            "webcal_url": "webcal://" + url.split("://", 1)[1],
        }
    )


@router.get("/api/agenda-feeds", response_model=list[AgendaFeedRead])
async def list_feeds(session: SessionDep, principal: CurrentPrincipal) -> list[AgendaFeed]:
    """Your agenda subscriptions (their URLs are not shown again)."""
    return await service.own_feeds(session, principal)


@router.delete("/api/agenda-feeds/{feed_id}", status_code=status.HTTP_204_NO_CONTENT)
async def revoke_feed(
    feed_id: str, audit: Annotated[AuditTrail, audited("agenda.feed.revoke")], session: SessionDep
) -> Response:
    """Revoke a subscription: its URL answers 404 from now on."""
    feed = await service.get_own_feed(session, audit.principal, feed_id)
    if feed.revoked_at is None:
        feed.revoked_at = utcnow()
        await _trace_feed(audit, feed)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/api/agenda/{token}.ics",
    response_class=Response,
    responses={
        200: {"content": {"text/calendar": {}}, "description": "Le calendrier (RFC 5545)."},
        404: {"description": "Jeton inconnu ou abonnement révoqué."},
    },
)
async def agenda_feed(
    token: str,
    session: SessionDep,
    addr: ClientAddr,
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    """The subscribed calendar: events of the latest validated version of each PPA. The token
    in the path is the credential (calendar applications send no header)."""
    feed, principal = await service.feed_by_token(session, token)
    content = await service.feed_content(session, feed, principal)
    etag = '"' + hashlib.sha256(content.ics).hexdigest() + '"'
    not_modified = etag_matches(if_none_match, etag)
    # The token is the credential: the trail names the feed's owner, with their role in each
    # person's cercle (a professional's feed spans several persons).
    audit = AuditTrail(session, principal, addr, "agenda.feed.read")
    await audit.each("ppa", content.ppas, outcome="not_modified" if not_modified else "ok")
    headers = {"ETag": etag, "Cache-Control": "private, no-cache"}
    if not_modified:
        return Response(status_code=304, headers=headers)
    return Response(
        content=content.ics,
        media_type="text/calendar; charset=utf-8",
        headers={**headers, "Content-Disposition": 'inline; filename="agenda-ppa.ics"'},
    )
