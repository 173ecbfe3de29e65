"""The current draft as a PDF, without saving a version first (issue 17, point 9).

The live document's content is rendered by the PDF exporter as a draft (``VersionKind.DRAFT``:
the "BROUILLON" watermark on every page, "Brouillon — non validé" as the version's title, no
agreements, no signatures). Nothing is stored: no version, no frozen export context (the
people it names are read as they are now). Readable by the members who read drafts (not by
auditors nor structures' software: they only ever see validated versions); audited
``ppa.export:pdf:draft``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Response
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from editor.schema import PPAContent
from exports.context import ExportInput, VersionKind, VersionMeta
from server import authz
from server.audit.trail import AuditTrail, audited
from server.authz import Capability
from server.db import utcnow
from server.deps import SessionDep
from server.exports_api import service
from server.exports_api.context import _build, _related, series_id
from server.exports_api.repository import validated_before
from server.models import PPA, Version
from server.ppas.documents import load_content
from server.ppas.endpoints import Documents
from versions.canonical import content_from_canonical, content_hash

router = APIRouter(prefix="/api", tags=["exports"])

DRAFT_LABEL = "Brouillon — non validé"
AUDIT_ACTION = "ppa.export:pdf:draft"


async def draft_input(
    session: AsyncSession, ppa: PPA, content: PPAContent, user_id: str
) -> ExportInput:
    """The renderer input of the live draft: numbered after the PPA's last version."""
    latest = await session.scalar(select(func.max(Version.number)).where(Version.ppa_id == ppa.id))
    number = (latest or 0) + 1
    now = utcnow()
    previous = await validated_before(session, ppa.id, number)
    previous_contents = [content_from_canonical(v.content) for v in previous]
    # Not added to the session: only read by the context builder (who wrote it, its kind).
    unsaved = Version(ppa_id=ppa.id, number=number, kind="draft", created_by=user_id, authors=[])
    ctx = await _build(session, ppa, unsaved, [content, *previous_contents])
    meta = VersionMeta(
        ppa_id=ppa.id,
        number=number,
        kind=VersionKind.DRAFT,
        label=DRAFT_LABEL,
        content_hash=content_hash(content),
        created_at=now,
        series_id=series_id(ppa.id),
        series_version=max(len(previous), 1),
        ppa_number=ctx.ppa_number,
    )
    return ExportInput(
        content=content,
        version=meta,
        person=ctx.person,
        structure=ctx.structure,
        professionals=ctx.professionals,
        accords=(),
        related_persons=await _related(session, ppa.person_id),
        author_id=ctx.author_id,
        legal_authenticator_id=None,
        previous_contents=tuple(previous_contents),
        generated_at=now,
    )


@router.get(
    "/ppas/{ppa_id}/draft/pdf",
    response_class=Response,
    responses={
        200: {"description": "Le brouillon en PDF (filigrane BROUILLON), en pièce jointe."},
        409: {"description": "Structure ou auteur manquant."},
    },
)
async def export_draft_pdf(
    ppa_id: str,
    audit: Annotated[AuditTrail, audited("ppa.export")],
    session: SessionDep,
    documents: Documents,
) -> Response:
    """The current draft (the live document as it stands) as a PDF marked "BROUILLON" and
    "Brouillon — non validé", without saving a version. Members who read drafts only."""
    ppa = await authz.get_ppa(session, audit.principal, ppa_id, Capability.READ)
    content = await load_content(documents, session, ppa.id)
    inp = await draft_input(session, ppa, content, audit.principal.id)
    rendered = await service.render(service.get_format("pdf"), inp)
    await audit.ppa(ppa, action=AUDIT_ACTION)
    name = rendered.download_name.removesuffix(".pdf").rsplit("-v", 1)[0] + "-brouillon.pdf"
    return Response(
        content=rendered.data,
        media_type=rendered.media_type,
        headers={
            "Cache-Control": "private, no-store",
            "Content-Disposition": f'attachment; filename="{name}"',
            "X-Content-Type-Options": "nosniff",
        },
    )
