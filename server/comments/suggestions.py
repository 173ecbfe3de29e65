"""Suggestions: a member who reads the draft (a reader, the person, the aidant...) proposes a new
text for one text field; a member who edits accepts or rejects it, in place.

Accepting applies it as ordinary edits of the live document, through the room (open editors
see it at once): the old text is removed under the acceptor's name, the proposed text written
under the suggester's, so the diff of the next version names both on that field; the edit ends
with a checkpoint version created by the acceptor. A suggestion is accepted only if the field
still holds the text it was made on (409 otherwise: someone changed it since), and, during an
avenant, only within the avenant's scope (409). A locked (validated) PPA takes no suggestion.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, status
from pydantic import ValidationError

from editor.schema import PPAContent
from server import authz
from server.audit.trail import AuditTrail, audited
from server.authz import Capability
from server.comments import service
from server.comments.anchors import Anchor, AnchorError, parse, read_text, write_text
from server.comments.schemas import SuggestionCreate, SuggestionRead
from server.deps import SessionDep
from server.errors import Conflict, InvalidInput, Locked, NotFound
from server.models import PPA
from server.models.comments import PPASuggestion, SuggestionStatus
from server.models.ppa import PPAStatus
from server.versions_api.runtime import Guard, Runtime
from server.versions_api.service import content_of_state, read_state, write_live
from server.versions_api.service.common import lock_editable_row
from server.versions_api.service.recording import checkpoint_if_changed
from versions.lifecycle import avenant_violations

router = APIRouter(prefix="/api", tags=["comments"])

LOCKED = (
    "Ce PPA est validé et verrouillé : aucune modification ne peut y être proposée ni acceptée. "
    "Un avenant doit d'abord être ouvert."
)


def _problem(path: str, message: str) -> InvalidInput:
    return InvalidInput(
        f"{path} : {message}", extra={"problems": [{"path": path, "message": message}]}
    )


def _text_field(path: str) -> Anchor:
    try:
        anchor = parse(path)
    except AnchorError as exc:
        raise _problem("anchor", exc.args[0]) from exc
    if not anchor.text:
        raise _problem("anchor", "une suggestion porte sur un champ de texte (titre, description…)")
    return anchor


def _with(content: dict[str, Any], anchor: Anchor, text: str) -> PPAContent:
    changed = PPAContent.model_validate(content).model_dump(mode="json")
    write_text(changed, anchor, text)
    try:
        return PPAContent.model_validate(changed)
    except ValidationError as exc:
        raise _problem("text", "texte refusé par le modèle du PPA") from exc


def _out_of_avenant(ppa: PPA, current: PPAContent, target: PPAContent) -> None:
    if ppa.status != PPAStatus.AVENANT_DRAFT.value:
        return
    violations = avenant_violations(current, target)
    if violations:
        raise Conflict(
            f"Hors du champ d'un avenant : {violations[0].message} Seule une révision peut le "
            "changer."
        )


@router.post(
    "/ppas/{ppa_id}/suggestions",
    response_model=SuggestionRead,
    status_code=status.HTTP_201_CREATED,
)
async def create_suggestion(
    ppa_id: str,
    body: SuggestionCreate,
    audit: Annotated[AuditTrail, audited("ppa.suggestion.create")],
    session: SessionDep,
    rt: Runtime,
) -> SuggestionRead:
    """Propose a new text for one text field of the draft (or of an avenant being drafted)."""
    ppa = await authz.get_ppa(session, audit.principal, ppa_id, Capability.READ)
    anchor = _text_field(body.anchor)
    if ppa.locked:
        raise Locked(LOCKED)
    current = content_of_state(await read_state(session, rt, ppa.id))
    current_json = current.model_dump(mode="json")
    base = read_text(current_json, anchor)
    if base is None:
        raise Conflict(
            "Cet élément n'existe plus dans le PPA : la suggestion ne peut pas s'y appliquer."
        )
    if base == body.text:
        raise Conflict("Le texte proposé est identique au texte actuel du champ.")
    _out_of_avenant(ppa, current, _with(current_json, anchor, body.text))
    row = PPASuggestion(
        ppa_id=ppa.id,
        person_id=ppa.person_id,
        path=anchor.path,
        base=base,
        proposed=body.text,
        note=body.note,
        author_id=audit.principal.id,
        status=SuggestionStatus.PENDING.value,
        version_number=await service.latest_version(session, ppa.id),
    )
    session.add(row)
    await session.flush()
    await audit.on("suggestion", row.id, ppa.person_id)
    service.changed(session, ppa.id)
    names = await service.names_of(session, [row.author_id], row.ppa_id)
    return service.suggestion_read(row, names)


async def _pending(session: SessionDep, ppa: PPA, suggestion_id: str) -> PPASuggestion:
    row = await session.get(PPASuggestion, suggestion_id)
    if row is None or row.ppa_id != ppa.id:
        raise NotFound("Suggestion introuvable sur ce PPA.")
    if row.status != SuggestionStatus.PENDING.value:
        verdict = "acceptée" if row.status == SuggestionStatus.ACCEPTED.value else "refusée"
        raise Conflict(f"Cette suggestion a déjà été {verdict}.")
    return row


@router.post("/ppas/{ppa_id}/suggestions/{suggestion_id}/accept", response_model=SuggestionRead)
async def accept_suggestion(
    ppa_id: str,
    suggestion_id: str,
    guard: Guard,
    audit: Annotated[AuditTrail, audited("ppa.suggestion.accept")],
    session: SessionDep,
    rt: Runtime,
) -> SuggestionRead:
    """Apply a pending suggestion to the live draft (members who edit): the old text removed by
    you, the new one written by its author; a checkpoint version follows. 409 when the field
    changed since the suggestion, or beyond an avenant's scope; 423 on a locked PPA."""
    principal = audit.principal
    ppa = await authz.get_ppa(session, principal, ppa_id, Capability.EDIT)
    row = await _pending(session, ppa, suggestion_id)
    await guard.hold(ppa.id)
    await session.refresh(ppa)
    if ppa.locked:
        raise Locked(LOCKED)
    anchor = _text_field(row.path)
    before = await read_state(session, rt, ppa.id)
    current = content_of_state(before)
    current_json = current.model_dump(mode="json")
    now_text = read_text(current_json, anchor)
    if now_text is None:
        raise Conflict("L'élément visé par cette suggestion a été supprimé : refusez-la.")
    if now_text != row.base:
        raise Conflict(
            "Le champ a été modifié depuis cette suggestion : relisez-le, puis refusez la "
            "suggestion ou demandez-en une nouvelle."
        )
    target = _with(current_json, anchor, row.proposed)
    _out_of_avenant(ppa, current, target)
    # The old text goes under the acceptor's name, the new one under the suggester's.
    cleared = _with(current_json, anchor, "")
    state = await write_live(session, rt, ppa.id, cleared, principal.id, current=before)
    state = await write_live(session, rt, ppa.id, target, row.author_id, current=state)
    at = rt.clock()
    await lock_editable_row(session, ppa.id, at)
    names = await service.names_of(session, [row.author_id, principal.id], row.ppa_id)
    label = f"Suggestion de {names.get(row.author_id, '?')} acceptée par {principal.display_name}"
    await checkpoint_if_changed(session, rt, ppa.id, state, label[:300], principal.id, at)
    row.status = SuggestionStatus.ACCEPTED.value
    row.decided_by = principal.id
    row.decided_at = at
    await session.flush()
    await audit.on("suggestion", row.id, ppa.person_id)
    service.changed(session, ppa.id)
    return service.suggestion_read(row, names)


@router.post("/ppas/{ppa_id}/suggestions/{suggestion_id}/reject", response_model=SuggestionRead)
async def reject_suggestion(
    ppa_id: str,
    suggestion_id: str,
    audit: Annotated[AuditTrail, audited("ppa.suggestion.reject")],
    session: SessionDep,
    rt: Runtime,
) -> SuggestionRead:
    """Decline a pending suggestion (members who edit); the document is not changed."""
    principal = audit.principal
    ppa = await authz.get_ppa(session, principal, ppa_id, Capability.EDIT)
    row = await _pending(session, ppa, suggestion_id)
    row.status = SuggestionStatus.REJECTED.value
    row.decided_by = principal.id
    row.decided_at = rt.clock()
    await session.flush()
    await audit.on("suggestion", row.id, ppa.person_id)
    service.changed(session, ppa.id)
    names = await service.names_of(session, [row.author_id, principal.id], row.ppa_id)
    return service.suggestion_read(row, names)
