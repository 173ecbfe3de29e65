"""Comment threads on a PPA: list (as of a version), post, reply, resolve, reopen.

Threads live beside the document (``ppa_comments``), never in it: no export, version content
or FHIR resource holds them. Every read and write is traced; mentions notify through the
notifications service (nature ``mention``). Live: ``GET .../comments/stream`` (Server-Sent
Events, :mod:`server.comments.live`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status
from sqlalchemy import select

from server import authz
from server.audit.trail import AuditTrail, audited
from server.authz import Capability
from server.comments import service
from server.comments.anchors import AnchorError, parse
from server.comments.schemas import CommentCreate, CommentsRead, ReplyCreate, ThreadRead
from server.db import new_uuid
from server.deps import SessionDep
from server.errors import Conflict, Forbidden, InvalidInput, NotFound
from server.models import PPA, Version
from server.models.comments import CommentKind, PPAComment

router = APIRouter(prefix="/api", tags=["comments"])


def _anchor(anchor: str) -> str:
    try:
        return parse(anchor).path
    except AnchorError as exc:
        raise InvalidInput(
            f"anchor : {exc.args[0]}",
            extra={"problems": [{"path": "anchor", "message": exc.args[0]}]},
        ) from exc


@router.get("/ppas/{ppa_id}/comments", response_model=CommentsRead)
async def list_comments(
    ppa_id: str,
    audit: Annotated[AuditTrail, audited("ppa.comments.read")],
    session: SessionDep,
    version: Annotated[int | None, Query(ge=1, le=1_000_000)] = None,
) -> CommentsRead:
    """The PPA's comment threads and suggestions, oldest first. With `version`, as they were
    when that version was recorded (threads and replies written by then, resolved or not then,
    suggestions pending if decided later)."""
    ppa = await authz.get_ppa(session, audit.principal, ppa_id, Capability.READ_HISTORY)
    as_of = None
    if version is not None:
        found = await session.get(Version, (ppa.id, version))
        if found is None:
            raise NotFound(f"Version {version} introuvable pour ce PPA.")
        as_of = found.created_at
    threads = await service.read_threads(session, ppa.id, as_of)
    suggestions = await service.read_suggestions(session, ppa.id, as_of)
    people = await service.mentionable(session, ppa.person_id)
    await audit.ppa(ppa)
    return CommentsRead(threads=threads, suggestions=suggestions, mentionable=people, as_of=as_of)


async def _add(
    audit: AuditTrail,
    ppa: PPA,
    *,
    kind: CommentKind,
    thread_id: str | None,
    anchor: str | None = None,
    body: str = "",
    mentions: list[str] | None = None,
) -> PPAComment:
    session = audit.session
    row = PPAComment(
        ppa_id=ppa.id,
        person_id=ppa.person_id,
        kind=kind.value,
        anchor=anchor,
        body=body,
        author_id=audit.principal.id,
        mentions=mentions or [],
        version_number=await service.latest_version(session, ppa.id),
    )
    row.id = new_uuid()
    row.thread_id = thread_id or row.id
    session.add(row)
    await session.flush()
    await audit.on("comment", row.id, ppa.person_id)
    if mentions:
        await service.notify_mentions(
            session,
            person_id=ppa.person_id,
            ppa_id=ppa.id,
            comment_id=row.thread_id,
            actor_id=audit.principal.id,
            mentions=mentions,
        )
    service.changed(session, ppa.id)
    return row


async def _thread(audit: AuditTrail, ppa: PPA, thread_id: str) -> ThreadRead:
    threads = await service.read_threads(audit.session, ppa.id, thread_id=thread_id)
    if not threads:
        raise NotFound("Fil de commentaires introuvable sur ce PPA.")
    return threads[0]


@router.post(
    "/ppas/{ppa_id}/comments", response_model=ThreadRead, status_code=status.HTTP_201_CREATED
)
async def create_thread(
    ppa_id: str,
    body: CommentCreate,
    audit: Annotated[AuditTrail, audited("ppa.comment.create")],
    session: SessionDep,
) -> ThreadRead:
    """Start a thread on a field or an item (items by id). `mentions`: user ids of members who
    read the PPA, each notified (nature `mention`). Also on a validated PPA."""
    ppa = await authz.get_ppa(session, audit.principal, ppa_id, Capability.READ)
    anchor = _anchor(body.anchor)
    mentions = await service.check_mentions(session, ppa.person_id, body.mentions)
    row = await _add(
        audit,
        ppa,
        kind=CommentKind.COMMENT,
        thread_id=None,
        anchor=anchor,
        body=body.text,
        mentions=mentions,
    )
    return await _thread(audit, ppa, row.id)


async def _existing(audit: AuditTrail, ppa: PPA, thread_id: str) -> PPAComment:
    first = await audit.session.scalar(
        select(PPAComment).where(
            PPAComment.id == thread_id,
            PPAComment.ppa_id == ppa.id,
            PPAComment.kind == CommentKind.COMMENT.value,
        )
    )
    if first is None:
        raise NotFound("Fil de commentaires introuvable sur ce PPA.")
    return first


@router.post(
    "/ppas/{ppa_id}/comments/{thread_id}/replies",
    response_model=ThreadRead,
    status_code=status.HTTP_201_CREATED,
)
async def reply(
    ppa_id: str,
    thread_id: str,
    body: ReplyCreate,
    audit: Annotated[AuditTrail, audited("ppa.comment.reply")],
    session: SessionDep,
) -> ThreadRead:
    """Answer a thread (a resolved thread is reopened by its resolve/reopen entries only)."""
    ppa = await authz.get_ppa(session, audit.principal, ppa_id, Capability.READ)
    await _existing(audit, ppa, thread_id)
    mentions = await service.check_mentions(session, ppa.person_id, body.mentions)
    await _add(
        audit, ppa, kind=CommentKind.REPLY, thread_id=thread_id, body=body.text, mentions=mentions
    )
    return await _thread(audit, ppa, thread_id)


async def _set_resolved(
    audit: AuditTrail, ppa_id: str, thread_id: str, resolve: bool
) -> ThreadRead:
    session = audit.session
    ppa = await authz.get_ppa(session, audit.principal, ppa_id, Capability.READ)
    first = await _existing(audit, ppa, thread_id)
    if first.author_id != audit.principal.id:
        role = await authz.role_for_person(session, audit.principal, ppa.person_id)
        if Capability.EDIT not in authz.capabilities_of(role.value if role else None):
            raise Forbidden(
                "Seuls l'auteur du fil et les membres qui modifient le PPA peuvent le "
                + ("résoudre." if resolve else "rouvrir.")
            )
    current = await _thread(audit, ppa, thread_id)
    if current.resolved == resolve:
        raise Conflict("Ce fil est déjà résolu." if resolve else "Ce fil est déjà ouvert.")
    await _add(
        audit,
        ppa,
        kind=CommentKind.RESOLVE if resolve else CommentKind.REOPEN,
        thread_id=thread_id,
    )
    return await _thread(audit, ppa, thread_id)


@router.post("/ppas/{ppa_id}/comments/{thread_id}/resolve", response_model=ThreadRead)
async def resolve_thread(
    ppa_id: str,
    thread_id: str,
    audit: Annotated[AuditTrail, audited("ppa.comment.resolve")],
    session: SessionDep,
) -> ThreadRead:
    """Mark a thread resolved (its author, or a member who edits). 409 if it already is."""
    return await _set_resolved(audit, ppa_id, thread_id, True)


@router.post("/ppas/{ppa_id}/comments/{thread_id}/reopen", response_model=ThreadRead)
async def reopen_thread(
    ppa_id: str,
    thread_id: str,
    audit: Annotated[AuditTrail, audited("ppa.comment.reopen")],
    session: SessionDep,
) -> ThreadRead:
    """Reopen a resolved thread (its author, or a member who edits). 409 if it is open."""
    return await _set_resolved(audit, ppa_id, thread_id, False)
