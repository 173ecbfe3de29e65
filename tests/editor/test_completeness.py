"""Completeness before validation (docs/domain-rules.md, rule 1): each requirement's positive and
negative case, with its severity (``bloquant`` refuses the validation, ``a_verifier`` does not)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest

from editor.completeness import add_months
from editor.schema import (
    PROBLEM_CODES,
    TYPES_PROJET,
    Action,
    Attente,
    Besoin,
    Objectif,
    OrigineAttente,
    PPAContent,
    Severity,
    StatutAction,
    StatutObjectif,
    validate,
)
from tests.factories import valid_ppa

VALIDATED_ON = date(2026, 12, 7)
"""The day the tests validate on: ``valid_ppa`` runs from 01/12/2026, its review is 15/11/2027."""

B = Severity.BLOQUANT.value
AV = Severity.A_VERIFIER.value
W = Severity.A_VERIFIER.value

COMPLETENESS_CODES = frozenset(
    {
        "missing_title",
        "missing_field",
        "unknown_projet_type",
        "projet_period_too_long",
        "no_attente",
        "no_attente_of_person",
        "no_besoin",
        "besoin_without_objectif",
        "objectif_without_action",
        "review_not_after_validation",
        "review_too_late",
        "review_after_projet_end",
    }
)
"""The codes of the completeness checks (``missing_title`` is shared with the older checks)."""


def problems(content: PPAContent, on: date | None = VALIDATED_ON) -> set[tuple[str, str, str]]:
    return {(p.path, p.code, p.severity.value) for p in validate(content, validated_on=on)}


def test_the_complete_ppa_has_no_problem() -> None:
    assert problems(valid_ppa()) == set()


def test_an_empty_draft_lists_the_blocking_problems_in_document_order() -> None:
    found = validate(PPAContent(), validated_on=VALIDATED_ON)
    assert [(p.path, p.code, p.severity.value) for p in found] == [
        ("projet.titre", "missing_title", B),
        ("projet.date_debut", "missing_field", B),
        ("projet.date_fin", "missing_field", B),
        # rules 2 and 7 (tests/editor/test_followup.py): asked, not blocking
        ("projet.presence_personne", "participation_not_recorded", AV),
        ("projet.referent_id", "missing_field", AV),
        ("projet.date_reunion", "missing_field", AV),
        ("projet_de_vie", "missing_field", B),
        ("attentes", "no_attente", B),
        ("besoins", "no_besoin", B),
        ("bilan.prochaine_revision", "missing_field", B),
    ]
    assert found[6].message == (
        "Le projet de vie de la personne n'est pas écrit : écrivez-le avec ses mots, ou "
        "indiquez pourquoi il n'y en a pas."
    )


# --------------------------------------------------------------------------- breakers


def _no_title(c: PPAContent) -> None:
    c.projet.titre = " "


def _no_start(c: PPAContent) -> None:
    c.projet.date_debut = None


def _no_end(c: PPAContent) -> None:
    c.projet.date_fin = None


def _period_13_months(c: PPAContent) -> None:
    c.projet.date_fin = date(2027, 12, 2)  # starts 01/12/2026: one day past 12 months


def _free_type(c: PPAContent) -> None:
    c.projet.type = "Projet de vie sociale"


def _blank_type(c: PPAContent) -> None:
    c.projet.type = ""


def _no_projet_de_vie(c: PPAContent) -> None:
    c.projet_de_vie = "  "


def _no_attente(c: PPAContent) -> None:
    c.attentes = []


def _blank_attentes_only(c: PPAContent) -> None:
    c.attentes = [Attente(id="at-vide", texte=" ")]


def _attentes_of_others_only(c: PPAContent) -> None:
    c.attentes = [a for a in c.attentes if a.origine is not OrigineAttente.PERSONNE]


def _no_besoin(c: PPAContent) -> None:
    c.besoins, c.objectifs, c.actions = [], [], []


def _besoin_without_description(c: PPAContent) -> None:
    c.besoins[1].description = ""


def _besoin_unanswered(c: PPAContent) -> None:
    c.besoins.append(Besoin(id="b-emploi", code="1.3.3.2", description="Trouver un stage."))


def _besoin_answered_by_a_cancelled_objectif_only(c: PPAContent) -> None:
    c.objectifs[3].statut = StatutObjectif.ANNULE  # o-mobilite, the one answering b-mobilite


def _objectif_bare(c: PPAContent) -> None:
    o = c.objectifs[2]  # o-social
    o.description, o.date_echeance, o.resultat_attendu, o.referent_id = "", None, " ", None


def _objectif_without_action(c: PPAContent) -> None:
    c.actions = [a for a in c.actions if a.id != "a-tramway"]  # o-mobilite's only action


def _objectif_with_cancelled_actions_only(c: PPAContent) -> None:
    c.actions[6].statut = StatutAction.ANNULE  # a-tramway


def _action_bare(c: PPAContent) -> None:
    a = c.actions[2]  # a-cuisine
    a.prestations, a.referent_id, a.date_debut, a.planning = [], None, None, None


def _no_review(c: PPAContent) -> None:
    c.bilan.prochaine_revision = None


def _review_on_validation_day(c: PPAContent) -> None:
    c.bilan.date_evaluation = None  # (planned in June 2027: would come after the review)
    c.bilan.prochaine_revision = VALIDATED_ON


def _review_in_13_months(c: PPAContent) -> None:
    c.projet.date_fin = date(2027, 12, 31)  # not the point here: a period of 13 months
    c.bilan.prochaine_revision = date(2027, 12, 8)  # one day past 12 months after 07/12/2026


def _review_after_projet_end(c: PPAContent) -> None:
    c.bilan.prochaine_revision = date(2027, 12, 1)  # the projet ends 30/11/2027


COMPLETENESS_CASES: list[tuple[str, Callable[[PPAContent], None], set[tuple[str, str, str]]]] = [
    ("title", _no_title, {("projet.titre", "missing_title", B)}),
    ("period start", _no_start, {("projet.date_debut", "missing_field", B)}),
    ("period end", _no_end, {("projet.date_fin", "missing_field", B)}),
    ("period of 13 months", _period_13_months, {("projet.date_fin", "projet_period_too_long", B)}),
    ("free type", _free_type, {("projet.type", "unknown_projet_type", B)}),
    ("blank type", _blank_type, {("projet.type", "missing_field", B)}),
    ("projet de vie", _no_projet_de_vie, {("projet_de_vie", "missing_field", B)}),
    ("no attente", _no_attente, {("attentes", "no_attente", B)}),
    (
        "blank attente",
        _blank_attentes_only,
        {("attentes[at-vide].texte", "missing_field", B), ("attentes", "no_attente", B)},
    ),
    (
        "attentes of others only",
        _attentes_of_others_only,
        {("attentes", "no_attente_of_person", W)},
    ),
    ("no besoin", _no_besoin, {("besoins", "no_besoin", B)}),
    (
        "besoin description",
        _besoin_without_description,
        {("besoins[b-logement].description", "missing_field", B)},
    ),
    (
        "besoin unanswered",
        _besoin_unanswered,
        {("besoins[b-emploi].motif_sans_objectif", "besoin_without_objectif", B)},
    ),
    (
        "besoin answered by a cancelled objectif",
        _besoin_answered_by_a_cancelled_objectif_only,
        {("besoins[b-mobilite].motif_sans_objectif", "besoin_without_objectif", B)},
    ),
    (
        "objectif bare",
        _objectif_bare,
        {
            ("objectifs[o-social].description", "missing_field", B),
            ("objectifs[o-social].date_echeance", "missing_field", B),
            ("objectifs[o-social].resultat_attendu", "missing_field", B),
            ("objectifs[o-social].referent_id", "missing_field", B),
        },
    ),
    (
        "objectif without action",
        _objectif_without_action,
        {("objectifs[o-mobilite]", "objectif_without_action", B)},
    ),
    (
        "objectif with cancelled actions only",
        _objectif_with_cancelled_actions_only,
        {("objectifs[o-mobilite]", "objectif_without_action", B)},
    ),
    (
        "action bare",
        _action_bare,
        {
            ("actions[a-cuisine].prestations", "missing_field", B),
            ("actions[a-cuisine].referent_id", "missing_field", B),
            ("actions[a-cuisine].date_debut", "missing_field", B),
        },
    ),
    ("no review", _no_review, {("bilan.prochaine_revision", "missing_field", B)}),
    (
        "review on the validation day",
        _review_on_validation_day,
        {("bilan.prochaine_revision", "review_not_after_validation", B)},
    ),
    (
        "review in 13 months",
        _review_in_13_months,
        {
            ("bilan.prochaine_revision", "review_too_late", B),
            ("projet.date_fin", "projet_period_too_long", B),
        },
    ),
    (
        "review after the projet's end",
        _review_after_projet_end,
        {("bilan.prochaine_revision", "review_after_projet_end", W)},
    ),
]


@pytest.mark.parametrize(
    ("name", "breaker", "expected"), COMPLETENESS_CASES, ids=[c[0] for c in COMPLETENESS_CASES]
)
def test_each_requirement(
    name: str, breaker: Callable[[PPAContent], None], expected: set[tuple[str, str, str]]
) -> None:
    content = valid_ppa()
    breaker(content)
    assert problems(content) == expected, name
    found = validate(content, validated_on=VALIDATED_ON)
    assert all(p.code in PROBLEM_CODES and p.code in COMPLETENESS_CODES for p in found)
    assert all(p.message and p.message[0].isupper() for p in found)


# --------------------------------------------------------------------------- positive cases


def test_a_period_of_exactly_12_months_is_accepted() -> None:
    content = valid_ppa()
    content.projet.date_fin = date(2027, 12, 1)
    assert problems(content) == set()


@pytest.mark.parametrize("code", list(TYPES_PROJET))
def test_every_tre_r390_code_is_accepted(code: str) -> None:
    content = valid_ppa()
    content.projet.type = code
    assert problems(content) == set()


def test_a_recorded_reason_stands_for_the_projet_de_vie() -> None:
    content = valid_ppa()
    _no_projet_de_vie(content)
    content.projet.motif_sans_projet_de_vie = "Ne souhaite pas en parler pour l'instant."
    assert problems(content) == set()


def test_an_attente_of_the_person_among_others_is_enough() -> None:
    content = valid_ppa()
    content.attentes = [a for a in content.attentes if a.origine is not OrigineAttente.PERSONNE]
    content.attentes.append(Attente(id="at-p", texte="Partir en vacances."))
    assert problems(content) == set()


def test_a_besoin_without_objectif_may_be_justified() -> None:
    content = valid_ppa()
    _besoin_unanswered(content)
    content.besoins[-1].motif_sans_objectif = "Travaillé avec Cap emploi, hors de ce projet."
    assert problems(content) == set()


def test_cancelled_objectifs_and_actions_are_not_asked_for_completeness() -> None:
    content = valid_ppa()
    content.besoins.append(
        Besoin(id="b-x", code="1.3.3.2", description="Stage", motif_sans_objectif="Plus tard.")
    )
    content.objectifs.append(
        Objectif(id="o-x", titre="Abandonné", besoin_ids=["b-x"], statut=StatutObjectif.ANNULE)
    )
    content.actions.append(
        Action(id="a-x", titre="Abandonnée", objectif_ids=["o-x"], statut=StatutAction.ANNULE)
    )
    assert problems(content) == set()


def test_review_limits_are_inclusive_of_12_months() -> None:
    content = valid_ppa()
    content.bilan.prochaine_revision = date(2027, 11, 30)
    assert problems(content, on=date(2026, 11, 30)) == set()  # exactly 12 months later
    assert problems(content, on=date(2026, 11, 29)) == {
        ("bilan.prochaine_revision", "review_too_late", B)
    }
    # the day before the review; by then the two trials ended without a decision (rule 7)
    assert problems(content, on=date(2027, 11, 29)) == {
        ("actions[a-education].decision_essai", "trial_decision_due", AV),
        ("actions[a-tramway].decision_essai", "trial_decision_due", AV),
    }


def test_without_a_validation_day_the_review_is_only_asked_for() -> None:
    content = valid_ppa()
    content.bilan.date_evaluation = None
    content.bilan.prochaine_revision = date(2020, 1, 1)
    assert problems(content, on=None) == set()
    _no_review(content)
    assert problems(content, on=None) == {("bilan.prochaine_revision", "missing_field", B)}


def test_add_months_clamps_to_the_end_of_the_month() -> None:
    assert add_months(date(2026, 2, 28), 12) == date(2027, 2, 28)
    assert add_months(date(2028, 2, 29), 12) == date(2029, 2, 28)
    assert add_months(date(2026, 8, 31), 6) == date(2027, 2, 28)


def test_messages_name_the_item_and_the_dates() -> None:
    content = valid_ppa()
    _objectif_without_action(content)
    _review_in_13_months(content)
    messages = {p.code: p.message for p in validate(content, validated_on=VALIDATED_ON)}
    assert messages["objectif_without_action"] == (
        "L'objectif « Se déplacer seule en tramway avec une correspondance » n'a aucune action : "
        "ajoutez au moins une action qui le sert."
    )
    assert messages["review_too_late"] == (
        "La prochaine révision (08/12/2027) est à plus de 12 mois de la validation (07/12/2026) : "
        "le projet est révisé au moins une fois par an, au plus tard le 07/12/2027."
    )
