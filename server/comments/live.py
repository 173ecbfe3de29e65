"""Comments live: ``GET /api/ppas/{id}/comments/stream`` (Server-Sent Events).

The stream sends ``event: changed`` (``data: {"rev": "<marker>"}``) at once, then each time the
PPA's threads or suggestions change; the page then reads ``GET .../comments`` again (one
authorised, audited read). A commit of this process wakes the streams of that PPA at once; one of
another ``ppa serve`` process is seen at the next look (every ``LOOK_SECONDS``). Each look also
judges the member's rights again: an opposition, a removal or a role that no longer reads the PPA
ends the stream.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Annotated

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
from server.web.sse import Listeners, event_stream, follow

router = APIRouter(tags=["comments"])

LOOK_SECONDS = 3.0

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


def _events(request: Request, principal: Principal, ppa_id: str) -> AsyncIterator[str]:
    db: Database = request.app.state.db

    async def look() -> str | None:
        rev = await _rev(db, principal, ppa_id)
        return None if rev is None else f"event: changed\ndata: {json.dumps({'rev': rev})}\n\n"

    return follow(request, LISTENERS, ppa_id, look, look_seconds=LOOK_SECONDS)


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
    return event_stream(_events(request, audit.principal, ppa.id))
