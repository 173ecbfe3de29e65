"""PPAs: create (from scratch or from the previous PPA), list, read as JSON, validation problems."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response, status

from server import authz
from server.audit.trail import AuditTrail, audited
from server.auth.principal import Principal
from server.authz import Capability
from server.deps import SessionDep
from server.errors import Conflict, Locked, NotFound
from server.models import PPA
from server.ppas import service
from server.ppas.documents import DocumentSource, load_content
from server.ppas.etags import STATES
from server.ppas.schemas import PPACreate, PPARead, PPASummary, PPAUpdate, ProblemRead

router = APIRouter(prefix="/api", tags=["ppas"])


def get_documents(request: Request) -> DocumentSource:
    source: DocumentSource = request.app.state.documents
    return source


Documents = Annotated[DocumentSource, Depends(get_documents)]


@router.post(
    "/persons/{person_id}/ppas", status_code=status.HTTP_201_CREATED, response_model=PPARead
)
async def create_ppa(
    person_id: str,
    body: PPACreate,
    audit: Annotated[AuditTrail, audited("ppa.create")],
    session: SessionDep,
    documents: Documents,
) -> PPARead:
    """Create a PPA for the person: empty, with the given content, or from their previous PPA."""
    principal = audit.principal
    person = await authz.get_person(session, principal, person_id, Capability.EDIT)
    previous: PPA | None = None
    if body.previous_ppa_id:
        previous = await session.scalar(
            authz.ppas_with(principal, Capability.READ).where(
                PPA.id == body.previous_ppa_id, PPA.person_id == person.id
            )
        )
        if previous is None:
            raise NotFound("PPA précédent introuvable pour cette personne.")
    elif body.from_previous:
        previous = await service.latest_ppa(session, person.id)
        if previous is None:
            raise Conflict("Cette personne n'a pas encore de PPA dont partir.")
    ppa = await service.create_ppa(
        session,
        documents,
        person=person,
        created_by=principal.id,
        title=body.title,
        content=body.content,
        previous=previous,
    )
    await audit.ppa(ppa)
    return await _read(session, documents, principal, ppa)


async def _read(
    session: SessionDep, documents: DocumentSource, principal: Principal, ppa: PPA
) -> PPARead:
    content = await load_content(documents, session, ppa.id)
    problems = await service.problems_of(session, documents, ppa, content)
    return PPARead.model_validate(
        {
            **PPASummary.model_validate(ppa).model_dump(),
            "content": content,
            "problems": problems,
            "serafin": service.labels_of(content),
            "my_role": await authz.role_value(session, principal, ppa.person_id),
        }
    )


@router.get("/persons/{person_id}/ppas", response_model=list[PPASummary])
async def list_person_ppas(
    person_id: str, audit: Annotated[AuditTrail, audited("ppa.list")], session: SessionDep
) -> list[PPA]:
    """The person's PPAs the caller may read (ESMS systems see validated ones only)."""
    principal = audit.principal
    person = await authz.get_person(session, principal, person_id, Capability.SEE_PERSON)
    ppas = list(
        await session.scalars(
            authz.ppas_with(principal, Capability.READ_VALIDATED)
            .where(PPA.person_id == person.id)
            .order_by(PPA.created_at.desc())
        )
    )
    await audit.person(person.id)
    return ppas


@router.get("/ppas", response_model=list[PPASummary])
async def list_ppas(
    audit: Annotated[AuditTrail, audited("ppa.list")], session: SessionDep
) -> list[PPA]:
    """Every PPA the caller may read."""
    ppas = list(
        await session.scalars(
            authz.ppas_with(audit.principal, Capability.READ_VALIDATED).order_by(
                PPA.updated_at.desc()
            )
        )
    )
    await audit.each("ppa", [(p.id, p.person_id) for p in ppas])
    return ppas


@router.get("/ppas/{ppa_id}", response_model=PPARead)
async def get_ppa(
    ppa_id: str,
    response: Response,
    audit: Annotated[AuditTrail, audited("ppa.read")],
    session: SessionDep,
    documents: Documents,
) -> PPARead:
    """The PPA's current content as JSON (the CRDT document's projection) and its problems.
    `ETag`: the content's state, for the `If-Match` of `PATCH /api/ppas/{id}/content`."""
    ppa = await authz.get_ppa(session, audit.principal, ppa_id, Capability.READ_VALIDATED)
    result = await _read(session, documents, audit.principal, ppa)
    response.headers["ETag"] = STATES.remember(ppa.id, result.content)
    audit.record("ppa", ppa.id, person_id=ppa.person_id, role=result.my_role)
    return result


@router.get("/ppas/{ppa_id}/problems", response_model=list[ProblemRead])
async def get_problems(
    ppa_id: str,
    audit: Annotated[AuditTrail, audited("ppa.read")],
    session: SessionDep,
    documents: Documents,
) -> list[dict[str, Any]]:
    """Every problem of the current content: path, French message, severity (the `bloquant`
    ones refuse the validation, those `a_verifier` are shown but do not)."""
    ppa = await authz.get_ppa(session, audit.principal, ppa_id, Capability.READ)
    content = await load_content(documents, session, ppa.id)
    await audit.ppa(ppa)
    return await service.problems_of(session, documents, ppa, content)


@router.patch("/ppas/{ppa_id}", response_model=PPASummary)
async def update_ppa(
    ppa_id: str,
    body: PPAUpdate,
    audit: Annotated[AuditTrail, audited("ppa.update")],
    session: SessionDep,
) -> PPA:
    """Rename the PPA in listings."""
    ppa = await authz.get_ppa(session, audit.principal, ppa_id, Capability.EDIT)
    if ppa.locked:
        raise Locked(
            "Ce PPA est validé et verrouillé : il ne peut plus être modifié. "
            "Ouvrez un avenant ou une révision."
        )
    ppa.title = body.title
    await audit.ppa(ppa)
    await session.flush()
    return ppa
