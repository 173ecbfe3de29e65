"""The bell, live: ``GET /api/me/notifications/stream`` (Server-Sent Events).

The stream sends the unread count at once, then each time it changes. A commit that stored
notices in this process wakes every stream of the process at once; notices stored by another
``ppa serve`` process are seen at the next look (every ``LOOK_SECONDS``). A comment line every
``PING_SECONDS`` keeps proxies from closing an idle stream.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from sqlalchemy import func, select

from server.auth.principal import Principal
from server.authz import UserAccount
from server.db import Database
from server.models.notifications import Notice
from server.notifications import service
from server.notifications.service import visible_to

router = APIRouter(tags=["notifications"])

LOOK_SECONDS = 5.0
PING_SECONDS = 25.0


class Listeners:
    """asyncio events of the open streams, set after a commit that stored notices."""

    def __init__(self) -> None:
        self.events: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()

    def wake(self) -> None:
        for loop, event in list(self.events):
            if not loop.is_closed():
                loop.call_soon_threadsafe(event.set)


LISTENERS = Listeners()
service.add_waker(LISTENERS.wake)


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


async def _events(request: Request, principal: Principal) -> AsyncIterator[str]:
    db: Database = request.app.state.db
    event = asyncio.Event()
    entry = (asyncio.get_running_loop(), event)
    LISTENERS.events.add(entry)
    try:
        last: int | None = None
        quiet = 0.0
        yield "retry: 3000\n\n"
        while not await request.is_disconnected():
            event.clear()
            count = await unread(db, principal)
            if count != last:
                last = count
                quiet = 0.0
                yield f"event: unread\ndata: {json.dumps({'unread': count})}\n\n"
            elif quiet >= PING_SECONDS:
                quiet = 0.0
                yield ": ping\n\n"
            with anyio.move_on_after(LOOK_SECONDS):
                await event.wait()
            quiet += LOOK_SECONDS
    finally:
        LISTENERS.events.discard(entry)


@router.get(
    "/api/me/notifications/stream",
    response_class=StreamingResponse,
    include_in_schema=False,  # endless: not for the OpenAPI fuzzer (docs/notifications.md)
)
async def notification_stream(request: Request, principal: UserAccount) -> StreamingResponse:
    """Your unread count, live (Server-Sent Events: ``event: unread``, ``data: {"unread": n}``)."""
    return StreamingResponse(
        _events(request, principal),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
