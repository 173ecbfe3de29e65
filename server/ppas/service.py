"""PPA creation and reading, shared by the REST endpoints and the demo seeding."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from editor.crdt import content_to_doc, encode_state
from editor.schema import Bilan, PPAContent, validate
from editor.terminology import terminology
from exports.local_time import PARIS
from server.db import utcnow
from server.errors import NotFound
from server.models import PPA, Person, PPADocument
from server.ppas.documents import DocumentSource, last_validated_content, load_content
from versions.lifecycle import revision_content


def codes_in(content: PPAContent) -> frozenset[str]:
    codes = {b.code for b in content.besoins if b.code}
    for action in content.actions:
        codes.update(action.prestations)
    return frozenset(codes)


def labels_of(content: PPAContent) -> dict[str, str]:
    """Official label of every known SERAFIN-PH code used in the content."""
    labels = {}
    for code in sorted(codes_in(content)):
        concept = terminology().get(code)
        if concept is not None:
            labels[code] = concept.label
    return labels


def carry_over(previous: PPAContent) -> PPAContent:
    """Content of a new PPA started from a previous one: same plan, no agreements, new bilan."""
    return previous.model_copy(
        update={"accords": [], "bilan": Bilan(notes_preparation=previous.bilan.notes_preparation)},
        deep=True,
    )


async def following_content(
    session: AsyncSession, documents: DocumentSource, previous: PPA
) -> PPAContent:
    """Start of a PPA following ``previous``: its last validated version made ready for the next
    period (a revision), or its current content when it was never validated."""
    validated = await last_validated_content(session, previous.id)
    if validated is not None:
        return carry_over(revision_content(validated))
    return carry_over(await load_content(documents, session, previous.id))


async def create_ppa(
    session: AsyncSession,
    documents: DocumentSource,
    *,
    person: Person,
    created_by: str | None,
    title: str | None,
    content: PPAContent | None,
    previous: PPA | None,
) -> PPA:
    # Content given at creation is a PPA received from elsewhere (use case 1): its codes are
    # remembered, so that deprecated ones are accepted like those of our own previous PPA.
    received = None if previous is not None or content is None else sorted(codes_in(content))
    if previous is not None:
        content = await following_content(session, documents, previous)
    content = content or PPAContent()
    title = title or content.projet.titre or "Projet personnalisé d'accompagnement"
    if not content.projet.titre:
        content.projet.titre = title
    ppa = PPA(
        person_id=person.id,
        title=title,
        previous_ppa_id=previous.id if previous else None,
        structure_id=person.structure_id,
        created_by=created_by,
        received_codes=received,
    )
    session.add(ppa)
    await session.flush()
    session.add(
        PPADocument(ppa_id=ppa.id, state=encode_state(content_to_doc(content)), updated_at=utcnow())
    )
    await session.flush()
    return ppa


async def latest_ppa(session: AsyncSession, person_id: str) -> PPA | None:
    return await session.scalar(
        select(PPA).where(PPA.person_id == person_id).order_by(PPA.created_at.desc()).limit(1)
    )


async def accepted_codes(
    session: AsyncSession, documents: DocumentSource, ppa: PPA
) -> frozenset[str]:
    """Codes carried over are accepted even if deprecated since: those of the previous PPA (ours
    or another structure's) and those of the content received at creation (use case 1)."""
    received = frozenset(ppa.received_codes or ())
    if ppa.previous_ppa_id is None:
        return received
    try:
        return received | codes_in(await load_content(documents, session, ppa.previous_ppa_id))
    except NotFound:
        return received


def today() -> date:
    """The local day (Europe/Paris): the day a draft would be validated."""
    return utcnow().astimezone(PARIS).date()


async def problems_of(
    session: AsyncSession,
    documents: DocumentSource,
    ppa: PPA,
    content: PPAContent,
    validated_on: date | None = None,
) -> list[dict[str, Any]]:
    """The content's problems as the API shows them, for the day of validation: by default
    today, none for a locked PPA (validated on its own day: whether its review is past is a
    matter of its timeline, not of its content)."""
    codes = await accepted_codes(session, documents, ppa)
    day = validated_on if validated_on is not None else None if ppa.locked else today()
    return [
        {"path": p.path, "code": p.code, "message": p.message, "severity": p.severity.value}
        for p in validate(content, accepted_codes=codes, validated_on=day)
    ]
