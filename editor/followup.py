"""The person's participation, the bilan and the richer objectives, actions and moyens (rules 2,
5 and 7 of ``docs/domain-rules.md``, where each check's source is named).

Each check adds to the same problems list as :mod:`editor.validation` and
:mod:`editor.completeness`, with its severity. The agreement given *at* validation (the
person's, her legal representative's) is not part of the content: the server checks it
(``server.versions_api.service.agreements``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING, Final

from editor.schema import (
    AccordObjectif,
    DecisionEssai,
    PresenceReunion,
    ResultatObjectif,
    Severity,
    StatutAction,
    StatutObjectif,
)
from editor.validation import _name

if TYPE_CHECKING:
    from editor.validation import _Checks

AV = Severity.A_VERIFIER


def _future(checks: _Checks, path: str, day: date | None, who: str, item_id: str | None) -> None:
    """A day given as *done* that is after the day of the validation: it is a plan."""
    today = checks.validated_on
    if day is not None and today is not None and day > today:
        checks.add(
            path,
            "evaluation_date_in_future",
            f"{who} : la date d'évaluation ({day:%d/%m/%Y}) est après la validation "
            f"({today:%d/%m/%Y}) : une évaluation prévue s'inscrit comme date prévue, pas "
            "comme évaluation faite.",
            item_id,
        )


def _participation(checks: _Checks) -> None:
    """Rule 2: the person's participation; rule 7: the project's referent and meeting."""
    projet = checks.content.projet
    if projet.presence_personne is PresenceReunion.NON_RENSEIGNE:
        checks.add(
            "projet.presence_personne",
            "participation_not_recorded",
            "La participation de la personne à la réunion de projet n'est pas indiquée "
            "(présente ou absente).",
            severity=AV,
        )
    if projet.referent_id is None or not projet.referent_id.strip():
        checks.add(
            "projet.referent_id",
            "missing_field",
            "Le référent du projet n'est pas désigné.",
            severity=AV,
        )
    if projet.date_reunion is None:
        checks.add(
            "projet.date_reunion",
            "missing_field",
            "La date de la réunion de projet n'est pas indiquée.",
            severity=AV,
        )
    checks.member("projet.referent_id", projet.referent_id, "Le projet", "")


def _objectifs(checks: _Checks) -> None:
    """Rule 2: agreement per objective; rule 5: the bilan of each objective."""
    for index, objectif in enumerate(checks.content.objectifs):
        who = _name("L'objectif", objectif.titre, index)
        base, oid = f"objectifs[{objectif.id}]", objectif.id
        if objectif.accord_usager is AccordObjectif.DESACCORD and not objectif.avis_usager.strip():
            checks.add(
                f"{base}.avis_usager",
                "disagreement_without_opinion",
                f"{who} : la personne n'est pas d'accord ; notez son avis avec ses mots.",
                oid,
                severity=AV,
            )
        evaluated = objectif.bilan_resultat is not ResultatObjectif.NON_EVALUE
        if evaluated and objectif.bilan_date is None:
            checks.add(
                f"{base}.bilan_date",
                "missing_field",
                f"{who} : le résultat est indiqué sans la date à laquelle il a été évalué.",
                oid,
            )
        if evaluated and not (objectif.bilan_evalue_par or "").strip():
            checks.add(
                f"{base}.bilan_evalue_par",
                "missing_field",
                f"{who} : le résultat est indiqué sans dire qui l'a évalué.",
                oid,
            )
        if not evaluated and objectif.bilan_date is not None:
            checks.add(
                f"{base}.bilan_resultat",
                "evaluation_without_result",
                f"{who} : une date d'évaluation est indiquée sans résultat (atteint, "
                "partiellement atteint, non atteint, abandonné).",
                oid,
            )
        _future(checks, f"{base}.bilan_date", objectif.bilan_date, who, oid)
        if objectif.statut is StatutObjectif.TERMINE and not evaluated:
            checks.add(
                f"{base}.bilan_resultat",
                "objectif_done_not_evaluated",
                f"{who} est terminé sans résultat d'évaluation.",
                oid,
                severity=AV,
            )
        checks.member(f"{base}.bilan_evalue_par", objectif.bilan_evalue_par, who, oid)


def _actions(checks: _Checks) -> None:
    """Rule 7: an action on trial has its trial end, then a decision."""
    today = checks.validated_on
    for index, action in enumerate(checks.content.actions):
        who = _name("L'action", action.titre, index)
        base, aid = f"actions[{action.id}]", action.id
        checks.dates(f"{base}.date_fin_essai", action.date_debut, action.date_fin_essai, who, aid)
        if action.statut is not StatutAction.ESSAI:
            continue
        if action.date_fin_essai is None:
            checks.add(
                f"{base}.date_fin_essai",
                "missing_field",
                f"{who} est à l'essai sans date de fin d'essai.",
                aid,
            )
        elif (
            today is not None
            and action.date_fin_essai < today
            and action.decision_essai is DecisionEssai.EN_ATTENTE
        ):
            checks.add(
                f"{base}.decision_essai",
                "trial_decision_due",
                f"{who} : l'essai a pris fin le {action.date_fin_essai:%d/%m/%Y} ; indiquez la "
                "décision (stabilisée, prolongée ou arrêtée).",
                aid,
                severity=AV,
            )
        if action.decision_essai in (DecisionEssai.STABILISEE, DecisionEssai.ARRETEE):
            checks.add(
                f"{base}.statut",
                "trial_decision_inconsistent",
                f"{who} est encore « à l'essai » alors que la décision est prise : changez son "
                "statut.",
                aid,
                severity=AV,
            )


def _moyens(checks: _Checks) -> None:
    """Rule 7: moyens linked to existing actions, with dates in order."""
    action_ids = {a.id for a in checks.content.actions}
    for index, moyen in enumerate(checks.content.moyens):
        who = _name("Le moyen", moyen.description, index)
        base, mid = f"moyens[{moyen.id}]", moyen.id
        checks.refs(
            f"{base}.action_ids",
            moyen.action_ids,
            action_ids,
            "missing_action",
            "l'action",
            who,
            mid,
        )
        checks.dates(f"{base}.date_fin", moyen.date_debut, moyen.date_fin, who, mid)


def _bilan(checks: _Checks) -> None:
    """Rule 5: a done evaluation is not in the future; a synthesis has its author."""
    bilan = checks.content.bilan
    _future(checks, "bilan.date_evaluation", bilan.date_evaluation, "Le bilan", None)
    if bilan.synthese.strip() and not bilan.redige_par.strip():
        checks.add(
            "bilan.redige_par",
            "missing_field",
            "La synthèse du bilan n'a pas d'auteur.",
        )


FOLLOWUP_CHECKS: Final[tuple[Callable[[_Checks], None], ...]] = (
    _participation,
    _objectifs,
    _actions,
    _moyens,
    _bilan,
)
"""The checks of rules 2, 5 and 7, one per section, in document order."""
