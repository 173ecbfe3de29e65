"""The agreements a validation needs (rules 2 and 3 of ``docs/domain-rules.md``).

The person's agreement is required, given in one of four ways (signed, oral with a witness,
refused with the reason, not sought with the reason); a refusal is recorded like any agreement
and validates the PPA *as refused* (what each export does with it: ``docs/exports.md``). When a
legal representative of the person, in her cercle, holds a measure that covers the person (or
whose scope is not said), his agreement is required too, given by his cercle member id: the
record's ``par`` is that id, which the exports resolve to a TDDUI RelatedPerson.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from editor.schema import Severity
from server.cercle.rules import MEASURE_LABELS, agreement_required
from server.models import PPA, CercleMember
from server.models.person import MemberKind, ProtectionMeasure
from versions.chain import AccordMode

AGREEMENT_PROBLEM_CODES = frozenset(
    {"missing_person_agreement", "missing_representative_agreement", "not_a_representative"}
)
"""The ``code`` of the problems of :func:`agreement_problems` (in a 409 ``ValidationRefused``)."""


@dataclass(frozen=True)
class RepresentativeInput:
    """The legal representative's agreement: his cercle member id, and how it was given."""

    member_id: str
    mode: AccordMode
    temoin: str = ""
    date: date | None = None
    motif: str = ""


def _problem(path: str, code: str, message: str) -> dict[str, Any]:
    return {"path": path, "code": code, "message": message, "severity": Severity.BLOQUANT.value}


def _measure(member: CercleMember) -> str:
    try:
        return MEASURE_LABELS[ProtectionMeasure(member.mesure or "")]
    except ValueError:
        return "mesure de protection"


async def legal_representatives(session: AsyncSession, person_id: str) -> list[CercleMember]:
    """The person's legal representatives in her cercle (not opposed), oldest first."""
    return list(
        await session.scalars(
            select(CercleMember)
            .where(
                CercleMember.person_id == person_id,
                CercleMember.kind == MemberKind.LEGAL_REPRESENTATIVE.value,
                CercleMember.opposed.is_(False),
            )
            .order_by(CercleMember.created_at, CercleMember.id)
        )
    )


async def agreement_problems(
    session: AsyncSession,
    ppa: PPA,
    person_given: bool,
    representant: RepresentativeInput | None,
) -> list[dict[str, Any]]:
    """What is missing or wrong in the agreements given to validate ``ppa`` (``[]``: none)."""
    problems: list[dict[str, Any]] = []
    if not person_given:
        problems.append(
            _problem(
                "personne",
                "missing_person_agreement",
                "L'accord de la personne n'est pas indiqué : signé, oral (avec un témoin), "
                "refusé (avec le motif) ou non sollicité (avec le motif).",
            )
        )
    representatives = await legal_representatives(session, ppa.person_id)
    known = {m.id for m in representatives}
    if representant is not None and representant.member_id not in known:
        problems.append(
            _problem(
                "representant.membre_id",
                "not_a_representative",
                "La personne désignée n'est pas un représentant légal du cercle de la personne "
                "accompagnée.",
            )
        )
    required = [m for m in representatives if agreement_required(m.mesure, m.mesure_portee)]
    given = None if representant is None else representant.member_id
    if required and given not in {m.id for m in required}:
        who = ", ".join(f"{m.display_name} ({_measure(m)})" for m in required)
        problems.append(
            _problem(
                "representant",
                "missing_representative_agreement",
                f"La mesure de protection de la personne demande l'accord de son représentant "
                f"légal ({who}) : indiquez-le (signé, oral, refusé ou non sollicité, avec le "
                "motif).",
            )
        )
    return problems
