"""PPA creation and reading, shared by the REST endpoints and the demo seeding."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from editor.crdt import content_to_doc, encode_state
from editor.schema import Bilan, PPAContent, validate
from editor.terminology import terminology
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
    """Codes carried over from the previous PPA are accepted even if deprecated since."""
    if ppa.previous_ppa_id is None:
        return frozenset()
    try:
        return codes_in(await load_content(documents, session, ppa.previous_ppa_id))
    except NotFound:
        return frozenset()


async def problems_of(
    session: AsyncSession, documents: DocumentSource, ppa: PPA, content: PPAContent
) -> list[dict[str, str]]:
    codes = await accepted_codes(session, documents, ppa)
    return [
        {"path": p.path, "code": p.code, "message": p.message}
        for p in validate(content, accepted_codes=codes)
    ]
