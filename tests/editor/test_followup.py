"""Rules 2, 5 and 7 of docs/domain-rules.md in the content: the person's participation and her
agreement per objective, the bilan per objective and of the projet, the richer objectives,
actions and moyens. Each rule has its negative case (the problem, its path and severity) and its
positive case (the filled content has none)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest
from pycrdt import Doc, Map

from editor.crdt import content_to_doc, doc_to_content
from editor.schema import (
    AccordObjectif,
    BesoinCommunication,
    DecisionEssai,
    ModaliteGroupe,
    ModaliteLieu,
    Moyen,
    PPAContent,
    PresenceReunion,
    Priorite,
    ResultatObjectif,
    Severity,
    StatutAction,
    StatutObjectif,
    validate,
)
from tests.factories import MEMBERS, valid_ppa

VALIDATED_ON = date(2026, 12, 7)
B = Severity.BLOQUANT.value
AV = Severity.A_VERIFIER.value
PRO = MEMBERS["coordinatrice"]


def problems(content: PPAContent, on: date | None = VALIDATED_ON) -> set[tuple[str, str, str]]:
    return {(p.path, p.code, p.severity.value) for p in validate(content, validated_on=on)}


def _not_recorded(c: PPAContent) -> None:
    c.projet.presence_personne = PresenceReunion.NON_RENSEIGNE


def _no_project_referent(c: PPAContent) -> None:
    c.projet.referent_id = None


def _no_meeting(c: PPAContent) -> None:
    c.projet.date_reunion = None


def _disagreement_unexplained(c: PPAContent) -> None:
    c.objectifs[0].accord_usager = AccordObjectif.DESACCORD
    c.objectifs[0].avis_usager = " "


def _result_without_date(c: PPAContent) -> None:
    c.objectifs[0].bilan_resultat = ResultatObjectif.ATTEINT
    c.objectifs[0].bilan_evalue_par = PRO


def _result_without_evaluator(c: PPAContent) -> None:
    c.objectifs[0].bilan_resultat = ResultatObjectif.PARTIELLEMENT_ATTEINT
    c.objectifs[0].bilan_date = date(2026, 12, 1)


def _date_without_result(c: PPAContent) -> None:
    c.objectifs[0].bilan_date = date(2026, 12, 1)
    c.objectifs[0].bilan_evalue_par = PRO


def _objective_evaluated_tomorrow(c: PPAContent) -> None:
    c.objectifs[0].bilan_resultat = ResultatObjectif.NON_ATTEINT
    c.objectifs[0].bilan_date = date(2026, 12, 8)
    c.objectifs[0].bilan_evalue_par = PRO


def _bilan_held_in_the_future(c: PPAContent) -> None:
    c.bilan.date_evaluation = date(2027, 6, 15)


def _done_not_evaluated(c: PPAContent) -> None:
    c.objectifs[0].statut = StatutObjectif.TERMINE


def _trial_without_end(c: PPAContent) -> None:
    c.actions[1].date_fin_essai = None


def _trial_ends_before_start(c: PPAContent) -> None:
    c.actions[1].date_fin_essai = date(2026, 11, 30)


def _decided_but_on_trial(c: PPAContent) -> None:
    c.actions[1].decision_essai = DecisionEssai.STABILISEE


def _moyen_of_unknown_action(c: PPAContent) -> None:
    c.moyens[0].action_ids = ["a-disparue"]


def _moyen_dates(c: PPAContent) -> None:
    c.moyens[0].date_debut = date(2027, 1, 1)
    c.moyens[0].date_fin = date(2026, 12, 1)


def _synthesis_without_author(c: PPAContent) -> None:
    c.bilan.synthese = "Les objectifs de santé sont atteints."
    c.bilan.redige_par = ""


def _no_result_nor_indicator(c: PPAContent) -> None:
    c.objectifs[0].resultat_attendu = ""
    c.objectifs[0].indicateur = " "


FOLLOWUP_CASES: list[tuple[str, Callable[[PPAContent], None], set[tuple[str, str, str]]]] = [
    (
        "participation",
        _not_recorded,
        {("projet.presence_personne", "participation_not_recorded", AV)},
    ),
    ("project referent", _no_project_referent, {("projet.referent_id", "missing_field", AV)}),
    ("project meeting", _no_meeting, {("projet.date_reunion", "missing_field", AV)}),
    (
        "disagreement",
        _disagreement_unexplained,
        {("objectifs[o-sante].avis_usager", "disagreement_without_opinion", AV)},
    ),
    (
        "result without date",
        _result_without_date,
        {("objectifs[o-sante].bilan_date", "missing_field", B)},
    ),
    (
        "result without evaluator",
        _result_without_evaluator,
        {("objectifs[o-sante].bilan_evalue_par", "missing_field", B)},
    ),
    (
        "date without result",
        _date_without_result,
        {("objectifs[o-sante].bilan_resultat", "evaluation_without_result", B)},
    ),
    (
        "objective evaluated tomorrow",
        _objective_evaluated_tomorrow,
        {("objectifs[o-sante].bilan_date", "evaluation_date_in_future", B)},
    ),
    (
        "planned bilan stored as held",
        _bilan_held_in_the_future,
        {("bilan.date_evaluation", "evaluation_date_in_future", B)},
    ),
    (
        "done, not evaluated",
        _done_not_evaluated,
        {("objectifs[o-sante].bilan_resultat", "objectif_done_not_evaluated", AV)},
    ),
    (
        "trial without end",
        _trial_without_end,
        {("actions[a-education].date_fin_essai", "missing_field", B)},
    ),
    (
        "trial ends before start",
        _trial_ends_before_start,
        {
            ("actions[a-education].date_fin_essai", "dates_inverted", B),
            # and, on the day of validation, that trial has ended without a decision
            ("actions[a-education].decision_essai", "trial_decision_due", AV),
        },
    ),
    (
        "decided, still on trial",
        _decided_but_on_trial,
        {("actions[a-education].statut", "trial_decision_inconsistent", AV)},
    ),
    (
        "moyen of an unknown action",
        _moyen_of_unknown_action,
        {("moyens[mo-1].action_ids[0]", "missing_action", B)},
    ),
    ("moyen dates", _moyen_dates, {("moyens[mo-1].date_fin", "dates_inverted", B)}),
    (
        "synthesis without author",
        _synthesis_without_author,
        {("bilan.redige_par", "missing_field", B)},
    ),
    (
        "neither result nor indicator",
        _no_result_nor_indicator,
        {("objectifs[o-sante].resultat_attendu", "missing_field", B)},
    ),
]
"""Each rule broken alone on the valid PPA, with exactly the problems it raises."""

FOLLOWUP_CODES = frozenset(code for _, _, found in FOLLOWUP_CASES for _, code, _ in found)


@pytest.mark.parametrize(
    ("name", "breaker", "expected"), FOLLOWUP_CASES, ids=[c[0] for c in FOLLOWUP_CASES]
)
def test_each_rule_alone(
    name: str, breaker: Callable[[PPAContent], None], expected: set[tuple[str, str, str]]
) -> None:
    content = valid_ppa()
    assert problems(content) == set()
    breaker(content)
    assert problems(content) == expected, name


def _filled(content: PPAContent) -> PPAContent:
    """Every new field of rules 2, 5 and 7 filled the right way."""
    projet = content.projet
    projet.participants_reunion = ["membre-soeur", "membre-coordinatrice"]
    projet.participants_reunion_autres = "Le moniteur du club de théâtre"
    projet.besoins_communication = [BesoinCommunication.FALC, BesoinCommunication.CAA]
    projet.personne_confiance_id = "membre-soeur"
    for objectif in content.objectifs:
        objectif.indicateur = "Nombre de semaines sans oubli"
        objectif.priorite = Priorite.HAUTE
    sante = content.objectifs[0]
    sante.accord_usager = AccordObjectif.DESACCORD
    sante.avis_usager = "Je ne veux pas de contrôle le soir."
    sante.resultat_attendu = ""  # the indicator is the criterion
    sante.bilan_resultat = ResultatObjectif.PARTIELLEMENT_ATTEINT
    sante.bilan_date = VALIDATED_ON  # evaluated on the day of validation: done
    sante.bilan_evalue_par = PRO
    sante.bilan_commentaire = "Oublis le week-end seulement."
    content.objectifs[1].accord_usager = AccordObjectif.ACCORD
    education = content.actions[1]
    education.decision_essai = DecisionEssai.PROLONGEE
    education.structure_responsable = "SAVS Les Tilleuls"
    education.partenaires = "Club de théâtre du quartier"
    education.modalite_groupe = ModaliteGroupe.COLLECTIVE
    education.modalite_lieu = ModaliteLieu.DISTANCE
    content.moyens[0].action_ids = [education.id]
    content.moyens[0].date_debut = date(2026, 12, 1)
    content.moyens[0].date_fin = date(2027, 2, 28)
    content.moyens[0].financement = "Budget de soins du FAM"
    bilan = content.bilan
    bilan.date_evaluation = date(2026, 11, 20)
    bilan.date_evaluation_prevue = date(2027, 6, 15)  # a plan may be in the future
    bilan.synthese = "Projet construit avec la personne et sa sœur."
    bilan.redige_par = PRO
    bilan.perimetre = "Tous les objectifs"
    bilan.invites_ids = ["membre-soeur"]
    bilan.invites_autres = "Le médecin traitant"
    return content


def test_the_filled_content_has_no_problem() -> None:
    content = _filled(valid_ppa())
    assert problems(content) == set()
    # a trial that ended gets its decision asked for, unless it was taken
    assert problems(content, on=date(2027, 3, 1)) == {
        ("actions[a-tramway].decision_essai", "trial_decision_due", AV)
    }
    content.actions[6].decision_essai = DecisionEssai.PROLONGEE
    assert problems(content, on=date(2027, 3, 1)) == set()


def test_the_new_fields_round_trip_through_the_document() -> None:
    content = _filled(valid_ppa())
    assert doc_to_content(content_to_doc(content)) == content


def test_a_document_written_before_the_new_fields_reads_with_their_defaults() -> None:
    doc: Doc[Map[object]] = Doc()
    doc.get("projet", type=Map)["date_debut"] = "2025-01-06"
    old = doc_to_content(doc)
    assert old.projet.presence_personne is PresenceReunion.NON_RENSEIGNE
    assert old.projet.besoins_communication == []
    assert old.bilan.date_evaluation_prevue is None
    content = valid_ppa()
    content.moyens.append(Moyen(id="m-old"))
    assert doc_to_content(content_to_doc(content)).moyens[-1].action_ids == []


def test_a_trial_without_end_is_asked_only_while_on_trial() -> None:
    content = valid_ppa()
    content.actions[1].date_fin_essai = None
    content.actions[1].statut = StatutAction.ACTIF
    assert problems(content) == set()


def test_unknown_evaluator_is_an_unknown_member() -> None:
    content = valid_ppa()
    content.objectifs[0].bilan_resultat = ResultatObjectif.ATTEINT
    content.objectifs[0].bilan_date = date(2026, 12, 1)
    content.objectifs[0].bilan_evalue_par = "quelqu-un"
    found = {
        (p.path, p.code)
        for p in validate(content, member_ids=frozenset(MEMBERS.values()), validated_on=None)
    }
    assert found == {("objectifs[o-sante].bilan_evalue_par", "unknown_member")}
