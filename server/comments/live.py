"""Comments live: ``GET /api/ppas/{id}/comments/stream`` (Server-Sent Events).

The stream sends ``event: changed`` (``data: {"rev": "<marker>"}``) at once, then each time the
PPA's threads or suggestions change; the page then reads ``GET .../comments`` again (one
authorised, audited read). A commit of this process wakes the streams of that PPA at once; one of
another ``ppa serve`` process is seen at the next look (every ``LOOK_SECONDS``). Each look also
judges the member's rights again: an opposition, a removal or a role that no longer reads the PPA
ends the stream.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from sqlalchemy import func, select

from server import authz
from server.audit.trail import AuditTrail, audited
from server.auth.principal import Principal
from server.authz import Capability
from server.comments import service
from server.db import Database
from server.deps import SessionDep
from server.errors import AppError
from server.models.comments import PPAComment, PPASuggestion

router = APIRouter(tags=["comments"])

LOOK_SECONDS = 3.0
PING_SECONDS = 25.0


class Listeners:
    """asyncio events of the open streams per PPA, set after a commit that changed its comments."""

    def __init__(self) -> None:
        self.events: dict[str, set[tuple[asyncio.AbstractEventLoop, asyncio.Event]]] = {}

    def wake(self, ppa_id: str) -> None:
        for loop, event in list(self.events.get(ppa_id, ())):
            if not loop.is_closed():
                loop.call_soon_threadsafe(event.set)


LISTENERS = Listeners()
service.add_waker(LISTENERS.wake)


async def _rev(db: Database, principal: Principal, ppa_id: str) -> str | None:
    """A marker of the PPA's comments and suggestions (``None``: the caller may not read them)."""
    async with db.sessionmaker() as session:
        try:
            await authz.get_ppa(session, principal, ppa_id, Capability.READ_HISTORY)
        except AppError:
            return None
        comments = (
            await session.execute(
                select(func.count(), func.max(PPAComment.created_at)).where(
                    PPAComment.ppa_id == ppa_id
                )
            )
        ).one()
        suggestions = (
            await session.execute(
                select(
                    func.count(),
                    func.max(PPASuggestion.created_at),
                    func.max(PPASuggestion.decided_at),
                ).where(PPASuggestion.ppa_id == ppa_id)
            )
        ).one()
    return json.dumps([str(v) for v in (*comments, *suggestions)])


async def _events(request: Request, principal: Principal, ppa_id: str) -> AsyncIterator[str]:
    db: Database = request.app.state.db
    event = asyncio.Event()
    entry = (asyncio.get_running_loop(), event)
    LISTENERS.events.setdefault(ppa_id, set()).add(entry)
    try:
        last: str | None = None
        quiet = 0.0
        yield "retry: 3000\n\n"
        while not await request.is_disconnected():
            event.clear()
            rev = await _rev(db, principal, ppa_id)
            if rev is None:
                yield "event: closed\ndata: {}\n\n"
                return
            if rev != last:
                last = rev
                quiet = 0.0
                yield f"event: changed\ndata: {json.dumps({'rev': rev})}\n\n"
            elif quiet >= PING_SECONDS:
                quiet = 0.0
                yield ": ping\n\n"
            with anyio.move_on_after(LOOK_SECONDS):
                await event.wait()
            quiet += LOOK_SECONDS
    finally:
        listeners = LISTENERS.events.get(ppa_id)
        if listeners is not None:
            listeners.discard(entry)
            if not listeners:
                LISTENERS.events.pop(ppa_id, None)


@router.get(
    "/api/ppas/{ppa_id}/comments/stream",
    response_class=StreamingResponse,
    include_in_schema=False,  # endless: not for the OpenAPI fuzzer
)
async def comments_stream(
    ppa_id: str,
    request: Request,
    audit: Annotated[AuditTrail, audited("ppa.comments.stream")],
    session: SessionDep,
) -> StreamingResponse:
    """The PPA's comments changing, live (`event: changed`; `event: closed` when access ends)."""
    ppa = await authz.get_ppa(session, audit.principal, ppa_id, Capability.READ_HISTORY)
    await audit.ppa(ppa)
    return StreamingResponse(
        _events(request, audit.principal, ppa.id),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
