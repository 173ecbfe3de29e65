"""Lifecycle rules of a PPA: states, transitions, the avenant rule, revisions, review dates.

States of a PPA (one document, one hash chain):

``draft`` -(validate)-> ``validated`` (locked) -(open_avenant)-> ``avenant_draft``
-(validate)-> ``validated`` (the avenant is the new current version) or -(abandon_avenant)->
``validated``. A validated PPA (or one with an avenant in progress) becomes ``superseded`` when
the revision that replaces it is validated (``supersede``); ``superseded`` is final.

Checkpoints, named versions and restores are taken while editing (``draft`` or
``avenant_draft``); a restore is a forward step (a new version whose content is an old one), never
a rewrite. A validated PPA is changed only through an avenant or a revision; a revision is a new
PPA started from the last validated version (:func:`revision_content`), with its own chain.

The avenant rule (:func:`avenant_violations`, docs/domain-rules.md rule 4): an avenant may
change actions - their modalités, schedule, prestations, referents, dates, statuses - and the
other sections; of an objective it may update only the mid-year follow-up
(:data:`AVENANT_OBJECTIF_FIELDS`: status, evaluation, the person's opinion, due date). No
objective may be added or removed (an objective given up is set to ``annule``), no besoin
added, removed or changed, the period's start does not move, and neither the period's end nor
the next review may go beyond the 12-month rule: the end at most 12 months after the start, the
review at most 12 months after the last *full* validation (an avenant does not reset the yearly
review). Anything else needs a revision.
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from editor.schema import (
    AccordObjectif,
    Bilan,
    DecisionEssai,
    PPAContent,
    PresenceReunion,
    ResultatObjectif,
    StatutAction,
    StatutObjectif,
)
from versions.chain import VALIDATED_KINDS, VersionKind, VersionMeta
from versions.diff import (
    ChangeKind,
    CodeLabeler,
    FieldChange,
    ItemChange,
    VersionDiff,
    diff_contents,
)

REVIEW_PERIOD_MONTHS = 12
"""Default delay between a validation and the next review (HAS: at least yearly)."""

PROTECTED_SECTIONS = ("besoins", "objectifs")
"""Sections an avenant may not touch, except :data:`AVENANT_OBJECTIF_FIELDS`."""

AVENANT_OBJECTIF_FIELDS: frozenset[str] = frozenset(
    {
        "statut",
        "avis_usager",
        "accord_usager",
        "date_echeance",
        "bilan_resultat",
        "bilan_date",
        "bilan_evalue_par",
        "bilan_commentaire",
    }
)
"""Fields of an objective an avenant may update (the mid-year follow-up): its status, its
evaluation (the ``bilan_*`` fields of rule 5), the person's opinion and agreement, its due
date."""


class PPAState(StrEnum):
    """State of a PPA."""

    DRAFT = "draft"
    VALIDATED = "validated"
    AVENANT_DRAFT = "avenant_draft"
    SUPERSEDED = "superseded"


class LifecycleEvent(StrEnum):
    """Something that happens to a PPA."""

    CHECKPOINT = "checkpoint"
    SAVE_NAMED = "save_named"
    RESTORE = "restore"
    VALIDATE = "validate"
    OPEN_AVENANT = "open_avenant"
    ABANDON_AVENANT = "abandon_avenant"
    SUPERSEDE = "supersede"


STATE_LABELS_FR: dict[PPAState, str] = {
    PPAState.DRAFT: "brouillon",
    PPAState.VALIDATED: "validé",
    PPAState.AVENANT_DRAFT: "avenant en cours",
    PPAState.SUPERSEDED: "remplacé",
}
"""French names of the states."""

EVENT_LABELS_FR: dict[LifecycleEvent, str] = {
    LifecycleEvent.CHECKPOINT: "enregistrer un point de sauvegarde",
    LifecycleEvent.SAVE_NAMED: "enregistrer une version",
    LifecycleEvent.RESTORE: "restaurer une version",
    LifecycleEvent.VALIDATE: "valider",
    LifecycleEvent.OPEN_AVENANT: "ouvrir un avenant",
    LifecycleEvent.ABANDON_AVENANT: "abandonner l'avenant",
    LifecycleEvent.SUPERSEDE: "remplacer par une révision",
}
"""French names of the events (for error messages)."""

TRANSITIONS: dict[tuple[PPAState, LifecycleEvent], PPAState] = {
    (PPAState.DRAFT, LifecycleEvent.CHECKPOINT): PPAState.DRAFT,
    (PPAState.DRAFT, LifecycleEvent.SAVE_NAMED): PPAState.DRAFT,
    (PPAState.DRAFT, LifecycleEvent.RESTORE): PPAState.DRAFT,
    (PPAState.DRAFT, LifecycleEvent.VALIDATE): PPAState.VALIDATED,
    (PPAState.VALIDATED, LifecycleEvent.OPEN_AVENANT): PPAState.AVENANT_DRAFT,
    (PPAState.VALIDATED, LifecycleEvent.SUPERSEDE): PPAState.SUPERSEDED,
    (PPAState.AVENANT_DRAFT, LifecycleEvent.CHECKPOINT): PPAState.AVENANT_DRAFT,
    (PPAState.AVENANT_DRAFT, LifecycleEvent.SAVE_NAMED): PPAState.AVENANT_DRAFT,
    (PPAState.AVENANT_DRAFT, LifecycleEvent.RESTORE): PPAState.AVENANT_DRAFT,
    (PPAState.AVENANT_DRAFT, LifecycleEvent.VALIDATE): PPAState.VALIDATED,
    (PPAState.AVENANT_DRAFT, LifecycleEvent.ABANDON_AVENANT): PPAState.VALIDATED,
    (PPAState.AVENANT_DRAFT, LifecycleEvent.SUPERSEDE): PPAState.SUPERSEDED,
}
"""Allowed transitions ``(state, event) -> new state``; anything else is refused."""


class LifecycleError(Exception):
    """A refused lifecycle step; ``message_fr`` is meant for people (API ``detail``)."""

    def __init__(self, message_fr: str) -> None:
        """Carry a French message."""
        super().__init__(message_fr)
        self.message_fr = message_fr


AVENANT_SCOPE_FR = (
    "un avenant peut modifier les actions (modalités, planning, prestations) et, pour un "
    "objectif, son statut, son évaluation, l'avis de la personne et son échéance ; il ne peut ni "
    "ajouter ou supprimer un objectif, ni changer les besoins, ni prolonger la période ou la "
    "prochaine révision au-delà de 12 mois"
)
"""The avenant's scope in one French clause (error messages)."""


class AvenantRefusedError(LifecycleError):
    """Validation of an avenant refused: it goes beyond an avenant's scope (``violations``)."""

    def __init__(self, violations: Sequence[AvenantViolation]) -> None:
        """Build the French message listing every violation."""
        lines = "\n".join(f"- {v.message}" for v in violations)
        super().__init__(
            f"Cet avenant ne peut pas être validé : {AVENANT_SCOPE_FR}.\n"
            f"{lines}\nPour ces changements, créez un nouveau PPA (révision)."
        )
        self.violations = tuple(violations)


def transition(state: PPAState, event: LifecycleEvent) -> PPAState:
    """Return the state after ``event``; raise :class:`LifecycleError` (French) if not allowed."""
    target = TRANSITIONS.get((state, event))
    if target is None:
        raise LifecycleError(
            f"Impossible de {EVENT_LABELS_FR[event]} : le PPA est {STATE_LABELS_FR[state]}."
            + (
                " Un PPA validé ne se modifie plus : ouvrez un avenant ou une révision."
                if state in (PPAState.VALIDATED, PPAState.SUPERSEDED)
                else ""
            )
        )
    return target


def is_locked(state: PPAState) -> bool:
    """Return whether the live document is read-only for everyone in this state."""
    return state in (PPAState.VALIDATED, PPAState.SUPERSEDED)


def is_avenant_draft(state: PPAState) -> bool:
    """Return whether the draft being edited is an avenant (its validation checks the rule)."""
    return state is PPAState.AVENANT_DRAFT


def version_kind_for(state: PPAState, event: LifecycleEvent) -> VersionKind | None:
    """Return the kind of version recorded by ``event`` in ``state`` (``None``: no version).

    Validating a draft records ``validated``; validating an avenant draft records ``avenant``.
    """
    if event is LifecycleEvent.CHECKPOINT:
        return VersionKind.CHECKPOINT
    if event is LifecycleEvent.SAVE_NAMED:
        return VersionKind.NAMED
    if event is LifecycleEvent.RESTORE:
        return VersionKind.RESTORE
    if event is LifecycleEvent.VALIDATE:
        return VersionKind.AVENANT if state is PPAState.AVENANT_DRAFT else VersionKind.VALIDATED
    return None


@dataclass(frozen=True)
class AvenantViolation:
    """A change beyond an avenant's scope, described in French; ``path`` is the diff's path."""

    change: ItemChange
    message: str
    path: str = ""


_ITEM_NAMES = {"objectifs": ("L'objectif", "objectif"), "besoins": ("Le besoin", "besoin")}


def _violation_message(change: ItemChange) -> str:
    the, noun = _ITEM_NAMES[change.section]
    title = f"« {change.title} »"
    if change.kind is ChangeKind.ADDED:
        return f"Ajout d'un {noun} {title} : interdit dans un avenant."
    if change.kind is ChangeKind.REMOVED:
        hint = " (passez son statut à « annulé »)" if change.section == "objectifs" else ""
        return f"{the} {title} a été supprimé : interdit dans un avenant{hint}."
    labels = ", ".join(f"« {f.label} »" for f in _frozen_fields(change))
    plural = "s" if len(_frozen_fields(change)) > 1 else ""
    return f"{the} {title} a été modifié (champ{plural} {labels}) : interdit dans un avenant."


def _frozen_fields(change: ItemChange) -> list[FieldChange]:
    if change.section == "objectifs":
        return [f for f in change.fields if f.field not in AVENANT_OBJECTIF_FIELDS]
    return list(change.fields)


def _fr(day: date) -> str:
    return day.strftime("%d/%m/%Y")


def _date_violations(
    diff: VersionDiff, base: PPAContent, proposed: PPAContent, full_validated_on: date | None
) -> list[AvenantViolation]:
    """The period's start moved, its end or the next review moved beyond the 12-month rule."""
    found: list[AvenantViolation] = []
    for change in diff.items:
        if change.section not in ("projet", "bilan"):
            continue
        for f in change.fields:
            message = _date_message(change.section, f.field, base, proposed, full_validated_on)
            if message:
                found.append(AvenantViolation(change, message, f.path))
    return found


def _date_message(
    section: str, field: str, base: PPAContent, proposed: PPAContent, full_on: date | None
) -> str:
    start = base.projet.date_debut
    if (section, field) == ("projet", "date_debut"):
        return (
            "La date de début du projet a été modifiée : interdit dans un avenant "
            "(une nouvelle période commence par une révision)."
        )
    end = proposed.projet.date_fin
    if (section, field) == ("projet", "date_fin") and start is not None and end is not None:
        limit = add_months(start, REVIEW_PERIOD_MONTHS)
        if end > limit:
            return (
                f"La fin du projet a été reportée au {_fr(end)}, au-delà de 12 mois après son "
                f"début (au plus tard le {_fr(limit)}) : interdit dans un avenant."
            )
    review = proposed.bilan.prochaine_revision
    if (section, field) == ("bilan", "prochaine_revision") and full_on and review is not None:
        limit = add_months(full_on, REVIEW_PERIOD_MONTHS)
        if review > limit:
            return (
                f"La prochaine révision a été reportée au {_fr(review)}, au-delà de 12 mois après "
                f"la dernière validation complète du {_fr(full_on)} (au plus tard le "
                f"{_fr(limit)}) : un avenant ne repousse pas la révision annuelle."
            )
    return ""


def avenant_violations(
    base: PPAContent,
    proposed: PPAContent,
    labeler: CodeLabeler | None = None,
    *,
    full_validated_on: date | None = None,
) -> list[AvenantViolation]:
    """Return every change of avenant ``proposed`` beyond the scope of an avenant of ``base``.

    Violations: adding or removing an objective or a besoin; changing a besoin, or an objective
    in a field other than :data:`AVENANT_OBJECTIF_FIELDS`; moving the period's start; moving its
    end more than 12 months after the start; moving the next review more than 12 months after
    ``full_validated_on`` (the day of the last full validation, not of an avenant; ``None``
    skips that check). The order of items is not a change. ``[]``: the avenant may be validated.
    """
    diff = diff_contents(base, proposed, labeler=labeler)
    found = [
        AvenantViolation(change, _violation_message(change), change.path)
        for change in diff.items
        if change.section in PROTECTED_SECTIONS
        and (change.kind is not ChangeKind.CHANGED or _frozen_fields(change))
    ]
    return found + _date_violations(diff, base, proposed, full_validated_on)


def check_avenant(
    base: PPAContent, proposed: PPAContent, *, full_validated_on: date | None = None
) -> None:
    """Raise :class:`AvenantRefusedError` if avenant ``proposed`` goes beyond its scope."""
    violations = avenant_violations(base, proposed, full_validated_on=full_validated_on)
    if violations:
        raise AvenantRefusedError(violations)


def avenant_title(avenant_number: int, version_number: int, base_number: int) -> str:
    """Return the label of a validated avenant, e.g. ``v2 - avenant n°1 à v1``."""
    return f"v{version_number} - avenant n°{avenant_number} à v{base_number}"


def avenant_summary(base: PPAContent, validated: PPAContent) -> str:
    """Return the generated French summary of an avenant (what changed since the base)."""
    diff: VersionDiff = diff_contents(base, validated)
    return diff.summary_fr()


def last_validated(versions: Sequence[VersionMeta]) -> VersionMeta | None:
    """Return the last validated version (validation or avenant) of a PPA, or ``None``."""
    validated = [v for v in versions if v.kind in VALIDATED_KINDS]
    return max(validated, key=lambda v: v.number) if validated else None


def revision_content(last: PPAContent) -> PPAContent:
    """Return the starting content of a revision (new PPA) from the last validated content.

    Items keep their ids (so diffs across PPAs stay meaningful); the agreements are dropped (the
    new PPA needs its own), and the period of implementation and the bilan's review date are
    cleared for the new period. What belonged to last year's evaluation is not carried as if
    current (rule 6): the person's opinions (``avis_usager``) are cleared, the statuses of
    objectives and actions go back to ``en_preparation`` (cancelled ones stay cancelled, for the
    record), each objective's agreement and evaluation (rule 5), the trials' ends and decisions,
    last year's project meeting, and the bilan are cleared. The source is not modified.
    """
    content = last.model_copy(deep=True)
    content.accords = []
    content.projet.date_debut = None
    content.projet.date_fin = None
    content.projet.date_reunion = None
    content.projet.participants_reunion = []
    content.projet.participants_reunion_autres = ""
    content.projet.presence_personne = PresenceReunion.NON_RENSEIGNE
    for objectif in content.objectifs:
        objectif.avis_usager = ""
        objectif.accord_usager = AccordObjectif.NON_EXPRIME
        objectif.bilan_resultat = ResultatObjectif.NON_EVALUE
        objectif.bilan_date = None
        objectif.bilan_evalue_par = None
        objectif.bilan_commentaire = ""
        if objectif.statut is not StatutObjectif.ANNULE:
            objectif.statut = StatutObjectif.EN_PREPARATION
    for action in content.actions:
        action.avis_usager = ""
        action.date_fin_essai = None
        action.decision_essai = DecisionEssai.EN_ATTENTE
        if action.statut is not StatutAction.ANNULE:
            action.statut = StatutAction.EN_PREPARATION
    content.bilan = Bilan()
    return content


def add_months(day: date, months: int) -> date:
    """Return ``day`` plus ``months`` calendar months (clamped to the month's last day)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def next_review_date(validated_on: date, bilan: Bilan | None) -> date:
    """Return the next review: the bilan's ``prochaine_revision`` if set, else 12 months later."""
    if bilan is not None and bilan.prochaine_revision is not None:
        return bilan.prochaine_revision
    return add_months(validated_on, REVIEW_PERIOD_MONTHS)


class ReviewStatus(StrEnum):
    """Where a validated PPA stands with its review."""

    OK = "ok"
    DUE = "due"
    OVERDUE = "overdue"


def review_status(next_review: date, today: date, due_within_days: int = 30) -> ReviewStatus:
    """Return ``overdue`` after the date, ``due`` within ``due_within_days`` of it, else ``ok``."""
    if today > next_review:
        return ReviewStatus.OVERDUE
    if today >= next_review - timedelta(days=due_within_days):
        return ReviewStatus.DUE
    return ReviewStatus.OK
