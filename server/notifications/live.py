"""The bell, live: ``GET /api/me/notifications/stream`` (Server-Sent Events).

The stream sends the unread count at once, then each time it changes. A commit that stored
notices in this process wakes every stream of the process at once; notices stored by another
``ppa serve`` process are seen at the next look (every ``LOOK_SECONDS``). A comment line every
``server.web.sse.PING_SECONDS`` keeps proxies from closing an idle stream.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from sqlalchemy import func, select

from server.auth.principal import Principal
from server.authz import UserAccount
from server.db import Database
from server.models.notifications import Notice
from server.notifications import service
from server.notifications.service import visible_to
from server.web.sse import Listeners, event_stream, follow

router = APIRouter(tags=["notifications"])

LOOK_SECONDS = 5.0
_EVERYONE = "*"
"""A commit that stored notices wakes every stream of the process (each counts its own)."""

LISTENERS = Listeners()
service.add_waker(lambda: LISTENERS.wake(_EVERYONE))


async def unread(db: Database, principal: Principal) -> int:
    async with db.sessionmaker() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(Notice)
            .where(
                Notice.recipient_id == principal.id,
                Notice.in_app.is_(True),
                Notice.read_at.is_(None),
                visible_to(principal),
            )
        )
    return int(count or 0)


def _events(request: Request, principal: Principal) -> AsyncIterator[str]:
    db: Database = request.app.state.db

    async def look() -> str:
        return f"event: unread\ndata: {json.dumps({'unread': await unread(db, principal)})}\n\n"

    return follow(request, LISTENERS, _EVERYONE, look, look_seconds=LOOK_SECONDS)


@router.get(
    "/api/me/notifications/stream",
    response_class=StreamingResponse,
    include_in_schema=False,  # endless: not for the OpenAPI fuzzer (docs/notifications.md)
)
async def notification_stream(request: Request, principal: UserAccount) -> StreamingResponse:
    """Your unread count, live (Server-Sent Events: ``event: unread``, ``data: {"unread": n}``)."""
    return event_stream(_events(request, principal))
