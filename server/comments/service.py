"""Comment threads and suggestions: reading them as of a moment, mentions, live wake-ups.

Who may do what (docs/collaboration.md, "Comments and suggestions"): every member who reads the
draft (coordinator, contributor, reader, person, aidant) reads, comments, replies and suggests;
the auditor reads them (the whole history is theirs) and writes none; esms software sees none;
a member the person opposed sees nothing. A thread is resolved or reopened by its author or by a
member who edits; a suggestion is accepted or rejected by a member who edits.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime

from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from server.comments.schemas import EntryRead, Mentionable, SuggestionRead, ThreadRead
from server.errors import Conflict
from server.models import User, Version
from server.models.comments import CommentKind, PPAComment, PPASuggestion, SuggestionStatus
from server.notifications import service as notifications
from server.notifications.natures import NATURES
from server.versions_api.repository import display_names

MENTION = "mention"
_CHANGED = "comments.changed"
_wakers: set[Callable[[str], None]] = set()


def add_waker(waker: Callable[[str], None]) -> None:
    _wakers.add(waker)


def remove_waker(waker: Callable[[str], None]) -> None:
    _wakers.discard(waker)


def changed(session: AsyncSession, ppa_id: str) -> None:
    """After this session commits, wake the live streams of this PPA's comments."""
    session.info.setdefault(_CHANGED, set()).add(ppa_id)


@event.listens_for(Session, "after_commit")
def _wake_after_commit(session: Session) -> None:
    for ppa_id in session.info.pop(_CHANGED, set()):
        for waker in list(_wakers):
            waker(ppa_id)


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(_CHANGED, None)


async def latest_version(session: AsyncSession, ppa_id: str) -> int | None:
    number = await session.scalar(select(func.max(Version.number)).where(Version.ppa_id == ppa_id))
    return int(number) if number is not None else None


async def names_of(
    session: AsyncSession, ids: Iterable[str | None], ppa_id: str | None = None
) -> dict[str, str]:
    """Display names; with ``ppa_id``, the person's aidants read "<aidant> pour <person>" (what
    they write there, they write on her behalf: issue 17, point 8), as in the versions."""
    wanted = {i for i in ids if i}
    if not wanted:
        return {}
    if ppa_id is not None:
        return await display_names(session, wanted, ppa_id)
    rows = await session.execute(select(User.id, User.display_name).where(User.id.in_(wanted)))
    return {str(uid): str(name) for uid, name in rows.all()}


def _entry(row: PPAComment, names: dict[str, str]) -> EntryRead:
    return EntryRead(
        id=row.id,
        kind=row.kind,
        text=row.body,
        author_id=row.author_id,
        author_name=names.get(row.author_id),
        mentions=list(row.mentions or []),
        created_at=row.created_at,
        version_number=row.version_number,
    )


def threads_of(rows: Sequence[PPAComment], names: dict[str, str]) -> list[ThreadRead]:
    """Rows (in time order) grouped into threads; a thread is resolved when its last
    resolve/reopen entry is a resolve."""
    threads: dict[str, ThreadRead] = {}
    for row in rows:
        if row.kind == CommentKind.COMMENT.value:
            threads[row.id] = ThreadRead(
                id=row.id,
                anchor=row.anchor or "ppa",
                resolved=False,
                created_at=row.created_at,
                entries=[],
            )
        thread = threads.get(row.thread_id)
        if thread is None:
            continue
        thread.entries.append(_entry(row, names))
        if row.kind == CommentKind.RESOLVE.value:
            thread.resolved = True
        elif row.kind == CommentKind.REOPEN.value:
            thread.resolved = False
    return list(threads.values())


async def read_threads(
    session: AsyncSession, ppa_id: str, as_of: datetime | None = None, thread_id: str | None = None
) -> list[ThreadRead]:
    query = select(PPAComment).where(PPAComment.ppa_id == ppa_id)
    if as_of is not None:
        query = query.where(PPAComment.created_at <= as_of)
    if thread_id is not None:
        query = query.where(PPAComment.thread_id == thread_id)
    rows = list(await session.scalars(query.order_by(PPAComment.created_at, PPAComment.id)))
    names = await names_of(session, (r.author_id for r in rows), ppa_id)
    return threads_of(rows, names)


def suggestion_read(
    row: PPASuggestion, names: dict[str, str], as_of: datetime | None = None
) -> SuggestionRead:
    read = SuggestionRead(
        id=row.id,
        anchor=row.path,
        base=row.base,
        proposed=row.proposed,
        note=row.note,
        author_id=row.author_id,
        author_name=names.get(row.author_id),
        status=row.status,
        decided_by=row.decided_by,
        decided_at=row.decided_at,
        created_at=row.created_at,
        version_number=row.version_number,
    )
    if as_of is not None and row.decided_at is not None and row.decided_at > as_of:
        read.status, read.decided_by, read.decided_at = SuggestionStatus.PENDING.value, None, None
    read.decided_by_name = names.get(read.decided_by) if read.decided_by else None
    return read


async def read_suggestions(
    session: AsyncSession, ppa_id: str, as_of: datetime | None = None
) -> list[SuggestionRead]:
    query = select(PPASuggestion).where(PPASuggestion.ppa_id == ppa_id)
    if as_of is not None:
        query = query.where(PPASuggestion.created_at <= as_of)
    rows = list(await session.scalars(query.order_by(PPASuggestion.created_at, PPASuggestion.id)))
    names = await names_of(session, [i for r in rows for i in (r.author_id, r.decided_by)], ppa_id)
    return [suggestion_read(r, names, as_of) for r in rows]


async def mentionable(session: AsyncSession, person_id: str) -> list[Mentionable]:
    """Users who may be mentioned: active, unopposed members who read the draft (a member
    designated as a professional counts for each of the professional's logins)."""
    found = await notifications.cercle_recipients(session, NATURES[MENTION], person_id)
    names = await names_of(session, (r.user_id for r in found))
    people = [Mentionable(user_id=r.user_id, display_name=names.get(r.user_id, "")) for r in found]
    return sorted(people, key=lambda m: m.display_name)


async def check_mentions(session: AsyncSession, person_id: str, mentions: list[str]) -> list[str]:
    """The mentioned user ids, each a member who may read the PPA (422 otherwise)."""
    wanted = list(dict.fromkeys(mentions))
    if not wanted:
        return []
    members = {
        r.user_id
        for r in await notifications.cercle_recipients(session, NATURES[MENTION], person_id)
    }
    outside = [m for m in wanted if m not in members]
    if outside:
        raise Conflict(
            "Seuls les membres du cercle qui lisent ce PPA peuvent être mentionnés "
            "(membre inconnu, opposé ou sans accès)."
        )
    return wanted


async def notify_mentions(
    session: AsyncSession,
    *,
    person_id: str,
    ppa_id: str,
    comment_id: str,
    actor_id: str,
    mentions: list[str],
) -> None:
    """Tell each mentioned member (never the author) through the notifications service."""
    targets = frozenset(m for m in mentions if m != actor_id)
    if not targets:
        return
    await notifications.emit(
        session,
        notifications.Event(
            MENTION,
            "comment",
            comment_id,
            person_id=person_id,
            ppa_id=ppa_id,
            actor_id=actor_id,
            only=targets,
        ),
    )
