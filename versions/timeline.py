"""Timelines of a person's PPAs (docs/domain-rules.md, rule 6).

* The first PPA: within :data:`FIRST_PPA_MONTHS` months of the admission in the structure
  (CASF D311: the objectives and prestations are specified within six months of admission).
* The yearly review: counted from the last **full** validation of the PPA in force, at most
  :data:`~versions.lifecycle.REVIEW_PERIOD_MONTHS` months later; an avenant does not reset it
  (it amends the PPA, it is not the yearly re-evaluation).
* *Échu*: a PPA in force whose period has ended or whose review date has passed.

Pure functions of dates: the server reads them from the database and its clock; tests pass any
day (a controlled clock).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from versions.lifecycle import REVIEW_PERIOD_MONTHS, add_months

FIRST_PPA_MONTHS = 6
"""Months after the admission by which the first PPA is validated (CASF D311)."""


def first_ppa_deadline(admission: date) -> date:
    """The day by which the first PPA is due: 6 months after the admission."""
    return add_months(admission, FIRST_PPA_MONTHS)


def yearly_review_deadline(full_validated_on: date) -> date:
    """The latest next review: 12 months after the last full validation (not an avenant)."""
    return add_months(full_validated_on, REVIEW_PERIOD_MONTHS)


def effective_next_review(full_validated_on: date | None, planned: date | None) -> date | None:
    """The next review of a PPA in force: the planned one (``bilan.prochaine_revision``), never
    later than 12 months after the last full validation; ``None`` when neither is known."""
    if full_validated_on is None:
        return planned
    deadline = yearly_review_deadline(full_validated_on)
    return deadline if planned is None else min(planned, deadline)


def _fr(day: date) -> str:
    return day.strftime("%d/%m/%Y")


def echu_reasons(today: date, period_end: date | None, next_review: date | None) -> list[str]:
    """Why a PPA in force is *échu* on ``today`` (French, ``[]`` when it is not): its period
    ended, or its review date passed."""
    reasons = []
    if period_end is not None and today > period_end:
        reasons.append(f"La période du projet est terminée depuis le {_fr(period_end)}.")
    if next_review is not None and today > next_review:
        reasons.append(f"La révision était prévue au plus tard le {_fr(next_review)}.")
    return reasons


class FirstPpaStatus(StrEnum):
    """Where a person stands with the first PPA after the admission."""

    UNKNOWN = "inconnu"
    """No admission date recorded."""
    VALIDATED = "valide"
    """A PPA was validated (whenever)."""
    DUE = "a_faire"
    """None validated yet, the deadline is not passed."""
    OVERDUE = "en_retard"
    """None validated and the 6 months are passed."""


@dataclass(frozen=True)
class FirstPpa:
    """The first PPA's deadline and status."""

    deadline: date | None
    status: FirstPpaStatus
    message: str


def first_ppa(today: date, admission: date | None, first_validated_on: date | None) -> FirstPpa:
    """The first PPA's deadline (admission + 6 months) and where the person stands on ``today``."""
    if admission is None:
        return FirstPpa(
            None, FirstPpaStatus.UNKNOWN, "Date d'admission non renseignée : délai inconnu."
        )
    deadline = first_ppa_deadline(admission)
    if first_validated_on is not None:
        late = " (hors délai)" if first_validated_on > deadline else ""
        return FirstPpa(
            deadline,
            FirstPpaStatus.VALIDATED,
            f"Premier PPA validé le {_fr(first_validated_on)}{late}.",
        )
    if today > deadline:
        return FirstPpa(
            deadline,
            FirstPpaStatus.OVERDUE,
            f"Aucun PPA validé : il devait l'être au plus tard le {_fr(deadline)} "
            f"(6 mois après l'admission du {_fr(admission)}).",
        )
    return FirstPpa(
        deadline,
        FirstPpaStatus.DUE,
        f"Premier PPA à valider au plus tard le {_fr(deadline)} "
        f"(6 mois après l'admission du {_fr(admission)}).",
    )
