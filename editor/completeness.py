"""Completeness before validation: what a PPA must hold to be validated (rule 1 of
``docs/domain-rules.md``, where each check's source is named).

Each check adds to the same problems list as :mod:`editor.validation`, with a severity:
``bloquant`` (the validation is refused) or ``a_verifier`` (shown, not blocking). Cancelled
objectives and actions (``annule``) are kept for the record and not asked for completeness.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING, Final

from editor.schema import (
    TYPES_PROJET,
    OrigineAttente,
    Severity,
    StatutAction,
    StatutObjectif,
)
from editor.validation import _name

if TYPE_CHECKING:
    from editor.validation import _Checks

MAX_MONTHS: Final = 12
"""Longest period of a projet, and longest time from a validation to the next review."""


def add_months(day: date, months: int) -> date:
    """``day`` plus ``months`` calendar months (clamped to the month's last day)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _projet(checks: _Checks) -> None:
    """A title, a TRE_R390 type, a period of at most 12 months."""
    projet = checks.content.projet
    if not projet.titre.strip():
        checks.add("projet.titre", "missing_title", "Le projet n'a pas de titre.")
    if not projet.type.strip():
        checks.add("projet.type", "missing_field", "Le type de projet n'est pas indiqué.")
    elif projet.type not in TYPES_PROJET:
        checks.add(
            "projet.type",
            "unknown_projet_type",
            f"Le type de projet « {projet.type} » n'est pas dans la liste TRE_R390 "
            f"({', '.join(TYPES_PROJET)}).",
        )
    for key, what in (("date_debut", "début"), ("date_fin", "fin")):
        if getattr(projet, key) is None:
            checks.add(
                f"projet.{key}",
                "missing_field",
                f"La date de {what} de la période du projet n'est pas indiquée.",
            )
    start, end = projet.date_debut, projet.date_fin
    if start is not None and end is not None and end > add_months(start, MAX_MONTHS):
        checks.add(
            "projet.date_fin",
            "projet_period_too_long",
            f"La période du projet (du {start:%d/%m/%Y} au {end:%d/%m/%Y}) dépasse 12 mois : "
            "un projet est révisé au moins chaque année, sa période s'arrête au plus tard le "
            f"{add_months(start, MAX_MONTHS):%d/%m/%Y}.",
        )


def _projet_de_vie(checks: _Checks) -> None:
    """The person's projet de vie, or the recorded reason why there is none."""
    content = checks.content
    if not content.projet_de_vie.strip() and not content.projet.motif_sans_projet_de_vie.strip():
        checks.add(
            "projet_de_vie",
            "missing_field",
            "Le projet de vie de la personne n'est pas écrit : écrivez-le avec ses mots, ou "
            "indiquez pourquoi il n'y en a pas.",
        )


def _attentes(checks: _Checks) -> None:
    """At least one attente, none blank; one of them expressed by the person (to check)."""
    attentes = checks.content.attentes
    for index, attente in enumerate(attentes):
        if not attente.texte.strip():
            checks.add(
                f"attentes[{attente.id}].texte",
                "missing_field",
                f"L'attente n°{index + 1} est vide : écrivez-la ou supprimez-la.",
                attente.id,
            )
    written = [a for a in attentes if a.texte.strip()]
    if not written:
        checks.add(
            "attentes",
            "no_attente",
            "Aucune attente n'est recueillie : notez au moins une attente de la personne.",
        )
    elif all(a.origine is not OrigineAttente.PERSONNE for a in written):
        checks.add(
            "attentes",
            "no_attente_of_person",
            "Aucune attente n'est exprimée par la personne elle-même (seulement par son "
            "entourage ou des professionnels) : vérifiez qu'elle a pu s'exprimer.",
            severity=Severity.A_VERIFIER,
        )


def _besoins(checks: _Checks) -> None:
    """At least one besoin, each described and answered by an objective (or justified)."""
    content = checks.content
    if not content.besoins:
        checks.add(
            "besoins",
            "no_besoin",
            "Aucun besoin n'est identifié : ajoutez au moins un besoin codé avec SERAFIN-PH.",
        )
    answered = {
        besoin_id
        for objectif in content.objectifs
        if objectif.statut is not StatutObjectif.ANNULE
        for besoin_id in objectif.besoin_ids
    }
    for index, besoin in enumerate(content.besoins):
        concept = checks.term.get(besoin.code) if besoin.code else None
        who = _name("Le besoin", besoin.description or (concept.label if concept else ""), index)
        if not besoin.description.strip():
            checks.add(
                f"besoins[{besoin.id}].description",
                "missing_field",
                f"{who} n'a pas de description.",
                besoin.id,
            )
        if besoin.id not in answered and not besoin.motif_sans_objectif.strip():
            checks.add(
                f"besoins[{besoin.id}].motif_sans_objectif",
                "besoin_without_objectif",
                f"{who} n'est traité par aucun objectif : ajoutez un objectif qui y répond, ou "
                "indiquez pourquoi il n'y en a pas.",
                besoin.id,
            )


_OBJECTIF_FIELDS: Final = (
    ("description", "n'a pas de description"),
    ("date_echeance", "n'a pas d'échéance"),
    ("referent_id", "n'a pas de référent"),
)


def _objectifs(checks: _Checks) -> None:
    """Each objective described, due, with its expected result, a referent and an action."""
    content = checks.content
    served = {
        objectif_id
        for action in content.actions
        if action.statut is not StatutAction.ANNULE
        for objectif_id in action.objectif_ids
    }
    for index, objectif in enumerate(content.objectifs):
        if objectif.statut is StatutObjectif.ANNULE:
            continue
        who = _name("L'objectif", objectif.titre, index)
        for key, missing in _OBJECTIF_FIELDS:
            value = getattr(objectif, key)
            if value is None or (isinstance(value, str) and not value.strip()):
                checks.add(
                    f"objectifs[{objectif.id}].{key}",
                    "missing_field",
                    f"{who} {missing}.",
                    objectif.id,
                )
        if not objectif.resultat_attendu.strip() and not objectif.indicateur.strip():
            checks.add(
                f"objectifs[{objectif.id}].resultat_attendu",
                "missing_field",
                f"{who} n'indique pas le résultat attendu (ou l'indicateur d'atteinte).",
                objectif.id,
            )
        if objectif.id not in served:
            checks.add(
                f"objectifs[{objectif.id}]",
                "objectif_without_action",
                f"{who} n'a aucune action : ajoutez au moins une action qui le sert.",
                objectif.id,
            )


def _actions(checks: _Checks) -> None:
    """Each action with a prestation, a referent and a start date."""
    for index, action in enumerate(checks.content.actions):
        if action.statut is StatutAction.ANNULE:
            continue
        who = _name("L'action", action.titre, index)
        base, aid = f"actions[{action.id}]", action.id
        if not action.prestations:
            checks.add(
                f"{base}.prestations",
                "missing_field",
                f"{who} n'a aucune prestation SERAFIN-PH.",
                aid,
            )
        if action.referent_id is None or not action.referent_id.strip():
            checks.add(f"{base}.referent_id", "missing_field", f"{who} n'a pas de référent.", aid)
        if action.date_debut is None and action.planning is None:
            # with a planning, ``planning_without_start_date`` already says it
            checks.add(
                f"{base}.date_debut", "missing_field", f"{who} n'a pas de date de début.", aid
            )


def _bilan(checks: _Checks) -> None:
    """The next review set, after the validation and at most 12 months after it."""
    review = checks.content.bilan.prochaine_revision
    if review is None:
        checks.add(
            "bilan.prochaine_revision",
            "missing_field",
            "La date de la prochaine révision n'est pas fixée (au plus tard 12 mois après la "
            "validation).",
        )
        return
    day = checks.validated_on
    if day is not None and review <= day:
        checks.add(
            "bilan.prochaine_revision",
            "review_not_after_validation",
            f"La prochaine révision ({review:%d/%m/%Y}) doit être postérieure à la validation "
            f"({day:%d/%m/%Y}).",
        )
    elif day is not None and review > add_months(day, MAX_MONTHS):
        checks.add(
            "bilan.prochaine_revision",
            "review_too_late",
            f"La prochaine révision ({review:%d/%m/%Y}) est à plus de 12 mois de la validation "
            f"({day:%d/%m/%Y}) : le projet est révisé au moins une fois par an, au plus tard le "
            f"{add_months(day, MAX_MONTHS):%d/%m/%Y}.",
        )
    end = checks.content.projet.date_fin
    if end is not None and review > end:
        checks.add(
            "bilan.prochaine_revision",
            "review_after_projet_end",
            f"La prochaine révision ({review:%d/%m/%Y}) est après la fin de la période du projet "
            f"({end:%d/%m/%Y}) : le projet arrivera à échéance avant d'être révisé.",
            severity=Severity.A_VERIFIER,
        )


COMPLETENESS_CHECKS: Final[tuple[Callable[[_Checks], None], ...]] = (
    _projet,
    _projet_de_vie,
    _attentes,
    _besoins,
    _objectifs,
    _actions,
    _bilan,
)
"""The completeness checks, one per section, in document order."""
