"""PPAs: create (from scratch or from the previous PPA), list, read as JSON, validation problems."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response, status

from exports.local_time import PARIS
from server import authz
from server.audit.trail import AuditTrail, audited
from server.auth.principal import Principal
from server.authz import Capability
from server.deps import SessionDep
from server.errors import Conflict, Locked, NotFound
from server.models import PPA, Person
from server.models.ppa import PPAStatus
from server.people.schemas import PersonRead
from server.ppas import etags, service
from server.ppas.documents import DocumentSource, load_content
from server.ppas.schemas import (
    FirstPpaRead,
    InForceRead,
    PersonOverview,
    PPACreate,
    PPARead,
    PPASummary,
    PPAUpdate,
    ProblemRead,
    TimelineRead,
)
from server.ppas.timeline import (
    InForce,
    first_full_validation,
    first_full_validations,
    in_force,
)
from versions.timeline import FirstPpaStatus, first_ppa

router = APIRouter(prefix="/api", tags=["ppas"])


def today() -> date:
    """The local day (Europe/Paris) the timelines are read on."""
    return datetime.now(PARIS).date()


def _summary(ppa: PPA, timeline: InForce | None) -> PPASummary:
    summary = PPASummary.model_validate(ppa)
    if timeline is None:
        return summary
    return summary.model_copy(
        update={
            "echu": timeline.echu,
            "echu_reasons": timeline.echu_reasons,
            "next_review": timeline.next_review,
        }
    )


async def _summaries(session: SessionDep, ppas: list[PPA]) -> list[PPASummary]:
    timelines = await in_force(session, ppas, today())
    return [_summary(ppa, timelines.get(ppa.id)) for ppa in ppas]


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
    timeline = (await in_force(session, [ppa], today())).get(ppa.id)
    return PPARead.model_validate(
        {
            **_summary(ppa, timeline).model_dump(),
            "content": content,
            "problems": problems,
            "serafin": service.labels_of(content),
            "my_role": await authz.role_value(session, principal, ppa.person_id),
        }
    )


@router.get("/persons/{person_id}/ppas", response_model=list[PPASummary])
async def list_person_ppas(
    person_id: str, audit: Annotated[AuditTrail, audited("ppa.list")], session: SessionDep
) -> list[PPASummary]:
    """The person's PPAs the caller may read (ESMS systems see validated ones only); one in
    force is flagged ``echu`` once its period ended or its review date passed."""
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
    return await _summaries(session, ppas)


@router.get("/persons/{person_id}/timeline", response_model=TimelineRead)
async def person_timeline(
    person_id: str, audit: Annotated[AuditTrail, audited("ppa.list")], session: SessionDep
) -> TimelineRead:
    """The person's PPA timeline: the first PPA's deadline (admission + 6 months), the PPA in
    force and its next review (12 months after the last full validation at the latest), whether
    it is *échu*, and a gap (no PPA in force) flagged."""
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
    day = today()
    timelines = await in_force(session, ppas, day)
    first = await first_full_validation(session, person.id)
    return _timeline(person, ppas, timelines, first, day)


def _timeline(
    person: Person,
    ppas: list[PPA],
    timelines: dict[str, InForce],
    first_validated: date | None,
    day: date,
) -> TimelineRead:
    """``person``'s timeline from their PPAs (newest first) and what was read of them."""
    first = first_ppa(day, person.admission_date, first_validated)
    current = next((timelines[p.id] for p in ppas if p.id in timelines), None)
    drafts = [p.id for p in ppas if p.status == PPAStatus.DRAFT.value]
    gap_reason = ""
    if current is None and (drafts or first.status is FirstPpaStatus.OVERDUE):
        gap_reason = "Aucun PPA en vigueur pour cette personne."
    elif current is not None and current.echu:
        gap_reason = "Le PPA en vigueur est échu : " + " ".join(current.echu_reasons)
    return TimelineRead(
        person_id=person.id,
        admission_date=person.admission_date,
        first_ppa=FirstPpaRead(deadline=first.deadline, status=first.status, message=first.message),
        in_force=None
        if current is None
        else InForceRead(
            ppa_id=current.ppa_id,
            version_number=current.version_number,
            full_validated_on=current.full_validated_on,
            next_review=current.next_review,
            period_end=current.period_end,
            echu=current.echu,
            echu_reasons=current.echu_reasons,
        ),
        draft_ppa_ids=drafts,
        gap=bool(gap_reason),
        gap_reason=gap_reason,
    )


@router.get("/overview", response_model=list[PersonOverview])
async def overview(
    audit: Annotated[AuditTrail, audited("person.list")], session: SessionDep
) -> list[PersonOverview]:
    """The home page in one request: every person the caller may see (as ``GET /api/persons``),
    each with their PPAs (as ``GET /api/persons/{id}/ppas``) and timeline (as ``GET
    /api/persons/{id}/timeline``); one query per kind of data, whatever the number of persons."""
    principal = audit.principal
    persons = list(
        await session.scalars(
            authz.persons_with(principal, Capability.SEE_PERSON).order_by(
                Person.birth_family_name, Person.id
            )
        )
    )
    ids = [p.id for p in persons]
    by_person: dict[str, list[PPA]] = {i: [] for i in ids}
    ppas: list[PPA] = []
    visible = authz.ppas_with(principal, Capability.READ_VALIDATED)
    for ppa in await session.scalars(visible.order_by(PPA.created_at.desc())):
        if ppa.person_id in by_person:  # (a PPA is never visible without its person)
            by_person[ppa.person_id].append(ppa)
            ppas.append(ppa)
    roles = await audit.each("person", [(i, i) for i in ids])
    for ppa in ppas:  # each PPA traced as by its listing, with the role already read
        audit.record(
            "ppa", ppa.id, person_id=ppa.person_id, role=roles[ppa.person_id], action="ppa.list"
        )
    day = today()
    timelines = await in_force(session, ppas, day)
    firsts = await first_full_validations(session, ids)
    return [
        PersonOverview(
            person=PersonRead.model_validate(person).model_copy(
                update={"my_role": roles[person.id]}
            ),
            ppas=[_summary(p, timelines.get(p.id)) for p in by_person[person.id]],
            timeline=_timeline(person, by_person[person.id], timelines, firsts.get(person.id), day),
        )
        for person in persons
    ]


@router.get("/ppas", response_model=list[PPASummary])
async def list_ppas(
    audit: Annotated[AuditTrail, audited("ppa.list")], session: SessionDep
) -> list[PPASummary]:
    """Every PPA the caller may read (those in force flagged ``echu`` when past due)."""
    ppas = list(
        await session.scalars(
            authz.ppas_with(audit.principal, Capability.READ_VALIDATED).order_by(
                PPA.updated_at.desc()
            )
        )
    )
    await audit.each("ppa", [(p.id, p.person_id) for p in ppas])
    return await _summaries(session, ppas)


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
    response.headers["ETag"] = await etags.remember(session, ppa.id, result.content)
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
