"""What every lifecycle step shares: reading and writing the live document, the PPA row's
compare-and-set, the lifecycle check, the service's errors."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any, cast

from pycrdt import merge_updates
from sqlalchemy import CursorResult, update
from sqlalchemy.ext.asyncio import AsyncSession

from editor.collab.updates import EMPTY_UPDATE
from editor.crdt import doc_from_state, doc_to_content_repaired, encode_state, write_content
from editor.schema import PPAContent
from exports.local_time import PARIS
from server.errors import Conflict, InvalidInput, Locked, NotFound
from server.models import PPA, PPADocument, Version
from server.versions_api.runtime import VersionsRuntime
from versions.canonical import content_from_canonical
from versions.lifecycle import LifecycleError, LifecycleEvent, PPAState, transition


class AvenantRefusedError(InvalidInput):
    code = "AvenantRefused"


class ValidationRefused(Conflict):
    """The content is not ready to be validated (409: the PPA's state, not the request, is at
    fault): ``problems`` lists the blocking ones."""

    code = "ValidationRefused"


def local_day(at: datetime) -> date:
    return at.astimezone(PARIS).date()


def content_of_state(state: bytes) -> PPAContent:
    """The content as the layout rule reads it (what a document holds beyond it is left out)."""
    return doc_to_content_repaired(doc_from_state(state))[0]


def content_of(version: Version) -> PPAContent:
    return content_from_canonical(version.content)


async def read_state(session: AsyncSession, rt: VersionsRuntime, ppa_id: str) -> bytes:
    """The live document's state: the room's when loaded, else the stored document's."""
    live = await rt.rooms.current_state(ppa_id)
    if live is not None:
        return live
    return await rt.documents.current_state(session, ppa_id)


async def write_live(
    session: AsyncSession,
    rt: VersionsRuntime,
    ppa_id: str,
    content: PPAContent,
    author: str,
    *,
    current: bytes | None = None,
) -> bytes:
    """Make the live document hold ``content`` (minimal CRDT changes); return the new state.

    Goes through the live rooms (durable, relayed) when they handle it, else folds the update
    into ``ppa_documents`` in this transaction. Call it before writing anything else.
    """
    if current is None:
        current = await read_state(session, rt, ppa_id)
    doc = doc_from_state(current)
    before = doc.get_state()
    write_content(doc, content)
    change = doc.get_update(before)
    new_state = encode_state(doc)
    if change == EMPTY_UPDATE:
        return new_state
    if not await rt.rooms.write(ppa_id, change, author):
        document = await session.get(PPADocument, ppa_id)
        if document is None:
            raise NotFound("Document du PPA introuvable.")
        document.state = merge_updates(document.state, change)
        document.updated_at = rt.clock()
        await session.flush()
    return new_state


def lifecycle(ppa: PPA, event_: LifecycleEvent) -> PPAState:
    """The state ``event_`` leads ``ppa`` to; 423 (locked PPA) or 409 when it may not."""
    state = PPAState(ppa.status)
    try:
        transition(state, event_)
    except LifecycleError as exc:
        if ppa.locked:
            raise Locked(exc.message_fr) from exc
        raise Conflict(exc.message_fr) from exc
    return state


async def compare_and_set(
    session: AsyncSession, ppa_id: str, conditions: Sequence[Any], values: dict[str, Any]
) -> bool:
    """Write ``values`` to the PPA's row if ``conditions`` hold; whether it did."""
    result = await session.execute(
        update(PPA)
        .where(PPA.id == ppa_id, *conditions)
        .values(**values)
        .execution_options(synchronize_session="fetch")
    )
    return cast(CursorResult[Any], result).rowcount == 1


async def lock_editable_row(session: AsyncSession, ppa_id: str, at: datetime) -> None:
    """Take the PPA's row (see the package's ordering rules); 409 if it is locked meanwhile."""
    if not await compare_and_set(session, ppa_id, [PPA.locked.is_(False)], {"updated_at": at}):
        raise Locked(
            "Ce PPA vient d'être validé et verrouillé : il ne peut plus être modifié. "
            "Ouvrez un avenant ou une révision."
        )
