"""ETags of a PPA's content and the states served with them (the base of an ``If-Match``).

The ETag is the content's hash. The content served with it is stored in ``content_states``
(:class:`server.models.ContentState`, the last :data:`KEEP` per PPA), so an ``If-Match`` is
understood by every server process behind a load balancer and after a restart: the base a PATCH
is compared with never depends on which process served the read.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from editor.schema import PPAContent
from server.db import utcnow
from server.models import ContentState
from versions.canonical import content_hash

KEEP = 64
"""States kept per PPA: an ETag older than the last 64 states served is unknown (412)."""


def etag_of(content: PPAContent) -> str:
    return f'"{content_hash(content)[:32]}"'


async def remember(session: AsyncSession, ppa_id: str, content: PPAContent) -> str:
    """Store the state served with its ETag (once) and return the ETag."""
    etag = etag_of(content)
    if await session.get(ContentState, (ppa_id, etag)) is not None:
        return etag
    try:
        async with session.begin_nested():  # another process may store the same state now
            session.add(
                ContentState(
                    ppa_id=ppa_id,
                    etag=etag,
                    content=content.model_dump(mode="json"),
                    created_at=utcnow(),
                )
            )
    except IntegrityError:
        return etag
    recent = (
        select(ContentState.etag)
        .where(ContentState.ppa_id == ppa_id)
        .order_by(ContentState.created_at.desc())
        .limit(KEEP)
    )
    await session.execute(
        delete(ContentState).where(
            ContentState.ppa_id == ppa_id,
            ContentState.etag.not_in(list(await session.scalars(recent))),
        )
    )
    return etag


async def state_of(session: AsyncSession, ppa_id: str, etag: str) -> dict[str, Any] | None:
    """The content served with ``etag`` (JSON form), if still kept."""
    row = await session.get(ContentState, (ppa_id, etag))
    return None if row is None else dict(row.content)
