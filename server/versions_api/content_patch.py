"""``PATCH /api/ppas/{id}/content``: JSON Merge Patch (items by id) merged into the live document.

A structure's software granted ``contributor`` in the cercle (its DUI), or any member who edits,
sends the fields it changes (:mod:`editor.merge_patch`). The patch becomes Yjs operations on the
live document through the room manager's public write (``RoomManager.write`` via
:func:`server.versions_api.service.write_live`): open editors receive them at once, authored by
the caller; a text field changes by a character diff, only the runs that differ (insert/delete),
so a colleague typing or deleting elsewhere in the same field keeps their edit.

Concurrency: ``ETag`` is the content's hash. ``If-Match`` with the ETag the client read gives 412
only when a field the patch changes was changed since (the state read is stored in the database,
:mod:`server.ppas.etags`, so every server process knows it; an ETag no longer kept gives 412 too,
"relisez"). Each PATCH is a write session
of the software and ends with a checkpoint version it authors (reco 1.1.6: each enrichment from a
DUI makes a new version), whose authors also name whoever edited since the previous version.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request, Response
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from editor.layout_rule import ITEM_ROOTS
from editor.merge_patch import PatchError, apply_patch, conflicts
from editor.schema import PPAContent
from server import authz
from server.audit.trail import AuditTrail, audited
from server.auth.principal import Principal
from server.authz import Capability
from server.deps import SessionDep
from server.errors import AppError, InvalidInput, Locked
from server.models import PPA
from server.openapi import error_responses
from server.ppas import etags
from server.ppas.endpoints import Documents, _read
from server.ppas.schemas import PPARead
from server.versions_api.runtime import Guard, LifecycleGuard, Runtime, VersionsRuntime
from server.versions_api.service import content_of_state, read_state, write_live
from server.versions_api.service.common import lock_editable_row
from server.versions_api.service.recording import checkpoint_if_changed
from server.web.json_body import read_json

router = APIRouter(prefix="/api", tags=["ppas"])
ITEM_ID_PATTERN = "^.{1,64}$"


def _ref(model: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{model}"}


def _items(model: str) -> dict[str, Any]:
    """An item list patched by id: ``{"<id>": null | <fields of the item, no id>}``."""
    return {
        "type": "object",
        "description": f"{model} items by id: null deletes, an unknown id creates",
        "propertyNames": {"pattern": ITEM_ID_PATTERN},
        "additionalProperties": {
            "anyOf": [{"type": "null"}, {"allOf": [_ref(model)], "not": {"required": ["id"]}}]
        },
    }


PATCH_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "JSON Merge Patch (RFC 7396) of the content, item lists keyed by item id",
    "additionalProperties": False,
    "properties": {
        "projet": _ref("Projet"),
        "bilan": _ref("Bilan"),
        "projet_de_vie": {"type": "string"},
        **{root: _items(model.__name__) for root, model in ITEM_ROOTS.items()},
    },
}

MAX_PATCH_BYTES = 1024 * 1024
Json = dict[str, Any]


class PreconditionFailed(AppError):  # noqa: N818 - named as its wire code
    status_code = 412
    code = "PreconditionFailed"


def _path(p: tuple[str, ...]) -> str:
    return ".".join(p)


async def _body(request: Request) -> Any:
    return await read_json(
        request,
        media_types=("application/merge-patch+json", "application/json"),
        max_bytes=MAX_PATCH_BYTES,
        too_large="Patch trop volumineux (1 Mo au plus).",
        wrong_type="Content-Type : application/merge-patch+json attendu (RFC 7396).",
    )


def _validated(patched: dict[str, Any]) -> PPAContent:
    try:
        return PPAContent.model_validate(patched)
    except ValidationError as exc:
        problems = [
            {"path": ".".join(str(x) for x in e["loc"]) or "requête", "message": e["msg"]}
            for e in exc.errors()
        ]
        detail = " ; ".join(f"{p['path']} : {p['message']}" for p in problems)
        raise InvalidInput(detail, extra={"problems": problems}) from exc


@router.patch(
    "/ppas/{ppa_id}/content",
    response_model=PPARead,
    responses=error_responses(412, 413),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/merge-patch+json": {"schema": PATCH_SCHEMA}},
        }
    },
)
async def patch_content(
    ppa_id: str,
    request: Request,
    response: Response,
    guard: Guard,
    audit: Annotated[AuditTrail, audited("ppa.content.patch")],
    session: SessionDep,
    rt: Runtime,
    documents: Documents,
    if_match: Annotated[str | None, Header(max_length=200)] = None,
) -> PPARead:
    """Change the fields named by a JSON Merge Patch (RFC 7396; items by id) in the live draft,
    as Yjs operations open editors see at once. `If-Match`: 412 only when a field the patch
    changes was changed since that state. Ends with a checkpoint version authored by the caller.
    Answers the new content with its `ETag`."""
    ppa = await authz.get_ppa(session, audit.principal, ppa_id, Capability.EDIT)
    patch = await _body(request)  # after the authorisation: a refusal says nothing of the body
    await merge_live(
        session,
        rt,
        guard,
        ppa,
        audit.principal,
        lambda _current: patch,
        if_match=if_match,
        label=f"Écriture de {audit.principal.display_name}",
    )
    await audit.ppa(ppa)
    result = await _read(session, documents, audit.principal, ppa)
    response.headers["ETag"] = await etags.remember(session, ppa.id, result.content)
    return result


async def merge_live(
    session: AsyncSession,
    rt: VersionsRuntime,
    guard: LifecycleGuard,
    ppa: PPA,
    principal: Principal,
    patch_of: Callable[[Json], Any],
    *,
    if_match: str | None,
    label: str,
) -> tuple[Json, Json]:
    """Apply the merge patch ``patch_of(current content)`` to the live draft of ``ppa`` as Yjs
    operations authored by ``principal`` (409 when locked, 422 when the result is not a PPA
    content, 412 on an ``If-Match`` clash), then record a checkpoint named ``label`` when
    something changed (on a locked PPA, a patch that changes nothing is not refused: nothing is
    written). Returns the contents (JSON form) before and after. Shared by the PATCH
    and the TDDUI import (:mod:`server.fhir.importing`)."""
    await guard.hold(ppa.id)
    await session.refresh(ppa)
    before = await read_state(session, rt, ppa.id)
    current_json = content_of_state(before).model_dump(mode="json")
    patch = patch_of(current_json)
    if ppa.locked:
        if not _changes_nothing(current_json, patch):
            raise Locked(
                "Ce PPA est validé et verrouillé : il ne peut plus être modifié. "
                "Ouvrez un avenant ou une révision."
            )
        return current_json, current_json  # sent again unchanged: nothing to refuse
    try:
        patched_json = apply_patch(current_json, patch)
    except PatchError as exc:
        problems = [{"path": p, "message": m} for p, m in exc.problems]
        detail = " ; ".join(f"{p} : {m}" for p, m in exc.problems)
        raise InvalidInput(detail, extra={"problems": problems}) from exc
    target = _validated(patched_json)
    target_json = target.model_dump(mode="json")
    if if_match is not None:
        tags = _if_match_tags(if_match)
        if "*" not in tags and etags.etag_of(content_of_state(before)) not in tags:
            await _check_if_match(session, ppa.id, tags, current_json, target_json)
    after = await write_live(session, rt, ppa.id, target, principal.id, current=before)
    at = rt.clock()
    await lock_editable_row(session, ppa.id, at)
    await checkpoint_if_changed(session, rt, ppa.id, after, label[:300], principal.id, at)
    return current_json, target_json


def _changes_nothing(current: Json, patch: Any) -> bool:
    """Whether ``patch`` leaves ``current`` as it is (a DUI re-sending what it sent: TDDUI has
    only POST, so a consumer answers a repeat without change as a success)."""
    try:
        target = PPAContent.model_validate(apply_patch(current, patch))
    except (PatchError, ValidationError):
        return False
    return bool(target.model_dump(mode="json") == current)


def _if_match_tags(header: str) -> list[str]:
    """The entity tags of an ``If-Match`` header (RFC 9110 13.1.1): ``*`` or a comma-separated
    list. A weak tag (``W/"..."``) never matches (strong comparison); ours are all strong."""
    tags = [t.strip() for t in header.split(",") if t.strip()]
    return [t for t in tags if not t.startswith("W/")]


async def _check_if_match(
    session: AsyncSession, ppa_id: str, tags: list[str], current: Json, target: Json
) -> None:
    """412 unless, for one of the states the ETags name, no field the patch changes was changed
    since that state."""
    clash: list[tuple[str, ...]] | None = None
    for tag in tags[:16]:
        base = await etags.state_of(session, ppa_id, tag)
        if base is None:
            continue
        found = conflicts(base, current, target)
        if not found:
            return
        clash = found if clash is None or len(found) < len(clash) else clash
    if clash is None:
        raise PreconditionFailed(
            "L'état indiqué par If-Match n'est plus connu du serveur : relisez le PPA "
            "(GET /api/ppas/{id}) puis renvoyez le patch avec son ETag."
        )
    raise PreconditionFailed(
        "Modifié par quelqu'un d'autre depuis votre lecture : "
        + ", ".join(_path(p) for p in clash[:20])
        + ". Relisez le PPA et renvoyez le patch.",
        extra={"fields": [_path(p) for p in clash]},
    )
