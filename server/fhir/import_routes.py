"""The TDDUI import routes: ``POST /fhir`` (a ``tddui-bundle`` transaction, answered with a
``transaction-response``) and ``POST /api/persons/{id}/ppas/import`` (the same bundle as body,
answered in JSON). What they do: :mod:`server.fhir.importing`; docs/fhir-api.md."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel

from server import authz
from server.audit.trail import AuditTrail, audited
from server.authz import Capability
from server.deps import SessionDep
from server.errors import NotFound
from server.fhir import importing
from server.fhir.outcome import fhir_response
from server.openapi import error_responses
from server.ppas import etags
from server.ppas.documents import load_content
from server.ppas.endpoints import Documents
from server.versions_api.runtime import Guard, Runtime
from server.web.json_body import read_json

fhir_router = APIRouter(prefix="/fhir", tags=["fhir"])
rest_router = APIRouter(prefix="/api", tags=["ppas"])

MAX_BUNDLE_BYTES = 8 * 1024 * 1024
BUNDLE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "A TDDUI 2.3.0 tddui-bundle transaction (checked whole: TDDUI and FR Core "
    "profiles; what JSON Schema cannot state is refused with 422 listing every problem)",
    "required": ["resourceType", "type", "entry"],
    "properties": {
        "resourceType": {"const": "Bundle"},
        "type": {"const": "transaction"},
        "entry": {
            "type": "array",
            "minItems": 1,
            "maxItems": 5000,
            "items": {
                "type": "object",
                "required": ["resource", "request"],
                "properties": {
                    "resource": {"type": "object", "required": ["resourceType"]},
                    "request": {"type": "object"},
                },
            },
        },
    },
}
BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/fhir+json": {"schema": BUNDLE_SCHEMA},
            "application/json": {"schema": BUNDLE_SCHEMA},
        },
    }
}


class ImportResult(BaseModel):
    """What an import did: the PPA written, whether it was created, the fields it changed."""

    ppa_id: str
    created: bool
    changes: list[str]
    """``root.<item id>.field`` (items by id), ``projet.titre``..."""


async def _bundle(request: Request) -> Any:
    return await read_json(
        request,
        media_types=("application/fhir+json", "application/json"),
        max_bytes=MAX_BUNDLE_BYTES,
        too_large="Bundle trop volumineux (8 Mo au plus).",
        wrong_type="Content-Type : application/fhir+json attendu.",
        root="Bundle",
    )


def _transaction_response(raw: Any, result: importing.Imported, etag: str) -> dict[str, Any]:
    """One response per entry of the transaction; the CarePlan's names the PPA and lists what
    changed (an OperationOutcome of information issues)."""
    status = "201 Created" if result.created else "200 OK"
    issues = [
        {
            "severity": "information",
            "code": "informational",
            "diagnostics": f"Modifié : {path}",
            "expression": [path],
        }
        for path in result.changes
    ] or [{"severity": "information", "code": "informational", "diagnostics": "Aucun changement"}]
    entries = []
    for entry in raw["entry"]:
        response: dict[str, Any] = {"status": status}
        if entry["resource"].get("resourceType") == "CarePlan":
            response |= {
                "location": f"CarePlan/{result.ppa.id}",
                "etag": etag,
                "outcome": {"resourceType": "OperationOutcome", "issue": issues},
            }
        entries.append({"response": response})
    return {"resourceType": "Bundle", "type": "transaction-response", "entry": entries}


@fhir_router.post(
    "",
    response_class=Response,
    responses={
        200: {
            "description": "Bundle transaction-response (fusionné dans le brouillon)",
            "content": {"application/fhir+json": {"schema": {"type": "object"}}},
        },
        201: {"description": "Bundle transaction-response (nouveau brouillon créé)"},
        **error_responses(413, 422),
    },
    openapi_extra=BODY,
)
async def fhir_transaction(
    request: Request,
    guard: Guard,
    audit: Annotated[AuditTrail, audited("ppa.import")],
    session: SessionDep,
    rt: Runtime,
    documents: Documents,
) -> Response:
    """TDDUI import: a `tddui-bundle` transaction merged into the PPA its CarePlan identifier
    names, or a new draft for the person its INS names (see docs/fhir-api.md)."""
    raw = await _bundle(request)
    bundle = importing.checked(raw)
    person_id = await importing.person_of_ins(session, bundle)
    if person_id is None:
        raise NotFound("Aucune personne de vos cercles n'a l'INS du Patient de ce bundle.")
    request.scope["path_params"]["person_id"] = person_id  # the object of a denied trace
    person = await authz.get_person(session, audit.principal, person_id, Capability.EDIT)
    result = await importing.import_bundle(
        session, rt, guard, documents, audit.principal, person, bundle
    )
    await audit.ppa(result.ppa)
    etag = await etags.remember(
        session, result.ppa.id, await load_content(documents, session, result.ppa.id)
    )
    return fhir_response(_transaction_response(raw, result, etag), 201 if result.created else 200)


@rest_router.post(
    "/persons/{person_id}/ppas/import",
    response_model=ImportResult,
    responses={
        201: {"description": "Nouveau brouillon créé", "model": ImportResult},
        **error_responses(413, 422),
    },
    openapi_extra=BODY,
)
async def import_ppa(
    person_id: str,
    request: Request,
    response: Response,
    guard: Guard,
    audit: Annotated[AuditTrail, audited("ppa.import")],
    session: SessionDep,
    rt: Runtime,
    documents: Documents,
) -> ImportResult:
    """TDDUI import for this person: the bundle merged into the PPA its CarePlan identifier
    names, else a new draft (201). Refused whole with every problem (422) when it fails the
    TDDUI / FR Core checks."""
    person = await authz.get_person(session, audit.principal, person_id, Capability.EDIT)
    bundle = importing.checked(await _bundle(request))  # after the authorisation
    importing.same_person(person, bundle)
    result = await importing.import_bundle(
        session, rt, guard, documents, audit.principal, person, bundle
    )
    await audit.ppa(result.ppa)
    content = await load_content(documents, session, result.ppa.id)
    response.headers["ETag"] = await etags.remember(session, result.ppa.id, content)
    if result.created:
        response.status_code = 201
    return ImportResult(ppa_id=result.ppa.id, created=result.created, changes=result.changes)
