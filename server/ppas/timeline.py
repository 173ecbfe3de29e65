"""The PPA in force and its timeline, read from the database (docs/domain-rules.md, rule 6).

A PPA is *in force* when validated (or with an avenant in progress, its validated version still
applies). Its next review is the current validated version's (``versions.next_review``), never
later than 12 months after the last **full** validation; it is *échu* once its period ended or
that review passed (:func:`versions.timeline.echu_reasons`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from editor.schema import Projet
from exports.local_time import PARIS
from server.models import PPA, Version
from server.models.ppa import PPAStatus
from versions.canonical import parse_canonical
from versions.chain import VALIDATED_KINDS, VersionKind
from versions.timeline import echu_reasons, effective_next_review

IN_FORCE_STATUSES = (PPAStatus.VALIDATED.value, PPAStatus.AVENANT_DRAFT.value)


@dataclass(frozen=True)
class InForce:
    """Where a PPA in force stands on a day."""

    ppa_id: str
    version_number: int
    full_validated_on: date | None
    next_review: date | None
    period_end: date | None
    echu_reasons: list[str] = field(default_factory=list)

    @property
    def echu(self) -> bool:
        return bool(self.echu_reasons)


async def in_force(session: AsyncSession, ppas: Sequence[PPA], today: date) -> dict[str, InForce]:
    """The timeline of each PPA of ``ppas`` that is in force (the others are left out)."""
    ids = [p.id for p in ppas if p.status in IN_FORCE_STATUSES]
    if not ids:
        return {}
    rows = await session.execute(
        select(Version.ppa_id, Version.number, Version.kind, Version.created_at)
        .where(Version.ppa_id.in_(ids), Version.kind.in_([k.value for k in VALIDATED_KINDS]))
        .order_by(Version.ppa_id, Version.number)
    )
    current: dict[str, int] = {}
    full: dict[str, date] = {}
    for ppa_id, number, kind, created_at in rows:
        current[ppa_id] = number
        if kind == VersionKind.VALIDATED.value:
            full[ppa_id] = created_at.astimezone(PARIS).date()
    wanted = set(current.items())
    versions = await session.execute(  # one query for all: only the pairs wanted are kept
        select(Version.ppa_id, Version.number, Version.content, Version.next_review).where(
            Version.ppa_id.in_(list(current)), Version.number.in_(set(current.values()))
        )
    )
    result: dict[str, InForce] = {}
    for ppa_id, number, content, next_review in versions:
        if (ppa_id, number) not in wanted:
            continue
        # the period's end only: the one section parsed, with the content model's own rules
        end = Projet.model_validate(parse_canonical(content).get("projet", {})).date_fin
        review = effective_next_review(full.get(ppa_id), next_review)
        result[ppa_id] = InForce(
            ppa_id, number, full.get(ppa_id), review, end, echu_reasons(today, end, review)
        )
    return result


async def first_full_validation(session: AsyncSession, person_id: str) -> date | None:
    """The day the person's first PPA was validated (any of their PPAs), or ``None``."""
    first = await session.scalar(
        select(Version.created_at)
        .join(PPA, PPA.id == Version.ppa_id)
        .where(PPA.person_id == person_id, Version.kind == VersionKind.VALIDATED.value)
        .order_by(Version.created_at)
        .limit(1)
    )
    return None if first is None else first.astimezone(PARIS).date()


async def first_full_validations(
    session: AsyncSession, person_ids: Sequence[str]
) -> dict[str, date]:
    """:func:`first_full_validation` of several persons in one query (those with none left out)."""
    if not person_ids:
        return {}
    rows = await session.execute(
        select(PPA.person_id, func.min(Version.created_at))
        .join(PPA, PPA.id == Version.ppa_id)
        .where(PPA.person_id.in_(person_ids), Version.kind == VersionKind.VALIDATED.value)
        .group_by(PPA.person_id)
    )
    return {person_id: at.astimezone(PARIS).date() for person_id, at in rows}
