"""Download a stored version of a PPA in any export format."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Response

from server.audit.trail import AuditTrail, audited
from server.deps import SessionDep
from server.exports_api import repository, service
from server.openapi import VersionNumber

router = APIRouter(prefix="/api", tags=["exports"])


def audit_action(format_name: str, number: int) -> str:
    """Audit action of an export: the format and the version number are part of it."""
    return f"ppa.export:{format_name}:v{number}"


@router.get(
    "/ppas/{ppa_id}/versions/{number}/exports/{format_name}",
    response_class=Response,
    responses={
        200: {"description": "Le fichier (type de média du format), en pièce jointe."},
        304: {"description": "Inchangé (If-None-Match = ETag de la version)."},
        403: {"description": "Version non validée et rôle limité aux versions validées."},
        404: {"description": "PPA, version ou format introuvable."},
        409: {
            "description": "Brouillon vers le DMP, le DUI ou un agenda ; fiche MDPH sans "
            "avenant ; structure ou auteur manquant."
        },
    },
)
async def export_version(
    ppa_id: str,
    number: VersionNumber,
    format_name: str,
    audit: Annotated[AuditTrail, audited("ppa.export")],
    session: SessionDep,
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    """The version as a file: `pdf`, `docx`, `falc`, `fhir` (TDDUI), `cda`, `xdm` (DMP),
    `ics`, `fhir-agenda`, `mdph`, `mdph-cda`, `mdph-xdm`.

    `ETag` is the version's chain hash: the same version always gives the same bytes.
    Drafts (any version that is not a validation or an avenant) are readable only by members
    who read drafts, and only as `pdf` (watermarked "BROUILLON"), `docx` and `falc`.
    """
    fmt = service.get_format(format_name)
    ppa, version = await repository.get_readable_version(session, audit.principal, ppa_id, number)
    service.check_allowed(fmt, version)
    action = audit_action(fmt.name, number)
    etag = service.etag_of(version)
    headers = {"ETag": etag, "Cache-Control": "private, no-cache"}
    if service.etag_matches(if_none_match, etag):
        await audit.ppa(ppa, action=action, outcome="not_modified")
        return Response(status_code=304, headers=headers)
    rendered = await service.export_version(session, ppa, version, fmt.name)
    await audit.ppa(ppa, action=action)
    return Response(
        content=rendered.data,
        media_type=rendered.media_type,
        headers={
            **headers,
            "Content-Disposition": f'attachment; filename="{rendered.download_name}"',
            "X-Content-Type-Options": "nosniff",
        },
    )
