from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest

from editor.schema import (
    PROBLEM_CODES,
    Action,
    Besoin,
    Frequence,
    Objectif,
    Planning,
    PPAContent,
    Problem,
    validate,
)
from tests.editor.test_coding import CODING_CASES
from tests.editor.test_completeness import COMPLETENESS_CASES, COMPLETENESS_CODES
from tests.editor.test_followup import FOLLOWUP_CASES, FOLLOWUP_CODES
from tests.factories import MEMBERS, small_ppa, valid_ppa


def found(
    content: PPAContent,
    *,
    accepted_codes: frozenset[str] = frozenset(),
    member_ids: frozenset[str] | None = None,
) -> set[tuple[str, str]]:
    problems = validate(content, accepted_codes=accepted_codes, member_ids=member_ids)
    return {(p.path, p.code) for p in problems}


def test_valid_content_has_no_problem() -> None:
    assert validate(valid_ppa()) == []
    assert validate(small_ppa()) == []
    assert validate(valid_ppa(), member_ids=frozenset(MEMBERS.values())) == []
    # an empty draft is not valid any more: see tests/editor/test_completeness.py


def _no_besoin(c: PPAContent) -> None:
    c.objectifs[0].besoin_ids = []


def _two_besoins(c: PPAContent) -> None:
    c.objectifs[0].besoin_ids = ["b-sante", "b-logement"]


def _missing_besoin(c: PPAContent) -> None:
    c.objectifs[0].besoin_ids = ["b-gone"]


def _repeated_besoin(c: PPAContent) -> None:
    c.objectifs[0].besoin_ids = ["b-sante", "b-sante"]


def _unknown_code(c: PPAContent) -> None:
    c.besoins[0].code = "1.9.9"


def _prestation_as_besoin(c: PPAContent) -> None:
    c.besoins[0].code = "2.3.2.1"


def _besoin_as_prestation(c: PPAContent) -> None:
    c.actions[0].prestations = ["2.3.2.1", "1.3.2.1"]


def _unknown_prestation(c: PPAContent) -> None:
    c.actions[0].prestations = ["2.3.2.1", "2.9"]


def _repeated_prestation(c: PPAContent) -> None:
    c.actions[0].prestations = ["2.3.2.1", "2.3.2.1"]


def _deprecated_besoin(c: PPAContent) -> None:
    c.besoins[0].code = "1.3.1.1"


def _deprecated_prestation(c: PPAContent) -> None:
    c.actions[0].prestations = ["2.4.1"]


def _uncoded(c: PPAContent) -> None:
    c.besoins[0].code = None


def _blank_code(c: PPAContent) -> None:
    c.besoins[0].code = "  "


def _action_missing_objectif(c: PPAContent) -> None:
    c.actions[0].objectif_ids = ["o-sante", "o-gone"]


def _action_without_objectif(c: PPAContent) -> None:
    c.actions[0].objectif_ids = []


def _projet_dates(c: PPAContent) -> None:
    c.projet.date_fin = date(2024, 12, 31)


def _objectif_dates(c: PPAContent) -> None:
    c.objectifs[0].date_debut = date(2027, 7, 1)  # after its échéance, inside the projet


def _action_dates(c: PPAContent) -> None:
    c.actions[0].date_debut = date(2027, 7, 1)  # after its end, inside the projet


def _bilan_dates(c: PPAContent) -> None:
    c.bilan.date_evaluation = date(2026, 11, 20)  # the sample's bilan is planned (rule 5)
    c.bilan.prochaine_revision = date(2025, 5, 31)


def _outside_period(c: PPAContent) -> None:
    c.objectifs[0].date_echeance = date(2028, 3, 1)


def _duplicate_id(c: PPAContent) -> None:
    c.besoins.append(Besoin(id="b-logement", code="1.1.1"))


def _weekly_without_days(c: PPAContent) -> None:
    assert c.actions[0].planning is not None
    c.actions[0].planning.jours = []


def _duration_without_time(c: PPAContent) -> None:
    assert c.actions[0].planning is not None
    c.actions[0].planning.heure_debut = None


def _planning_without_start(c: PPAContent) -> None:
    c.actions[0].date_debut = None


def _objectif_without_title(c: PPAContent) -> None:
    c.objectifs[1].titre = "  "


def _action_without_title(c: PPAContent) -> None:
    c.actions[0].titre = ""


CASES: list[tuple[str, Callable[[PPAContent], None], set[tuple[str, str]]]] = [
    (
        "no besoin",
        _no_besoin,
        {
            ("objectifs[o-sante].besoin_ids", "objectif_without_besoin"),
            ("besoins[b-sante].motif_sans_objectif", "besoin_without_objectif"),
        },
    ),
    (
        "two besoins",
        _two_besoins,
        {("objectifs[o-sante].besoin_ids", "objectif_multiple_besoins")},
    ),
    (
        "missing besoin",
        _missing_besoin,
        {
            ("objectifs[o-sante].besoin_ids[0]", "missing_besoin"),
            ("besoins[b-sante].motif_sans_objectif", "besoin_without_objectif"),
        },
    ),
    (
        "repeated besoin",
        _repeated_besoin,
        {("objectifs[o-sante].besoin_ids[1]", "duplicate_reference")},
    ),
    ("unknown code", _unknown_code, {("besoins[b-sante].code", "unknown_code")}),
    ("2.x as besoin", _prestation_as_besoin, {("besoins[b-sante].code", "not_a_besoin")}),
    (
        "1.x as prestation",
        _besoin_as_prestation,
        {("actions[a-sante].prestations[1]", "not_a_prestation")},
    ),
    (
        "unknown prestation",
        _unknown_prestation,
        {("actions[a-sante].prestations[1]", "unknown_code")},
    ),
    (
        "repeated prestation",
        _repeated_prestation,
        {("actions[a-sante].prestations[1]", "duplicate_reference")},
    ),
    ("deprecated besoin", _deprecated_besoin, {("besoins[b-sante].code", "deprecated_code")}),
    (
        "deprecated prestation",
        _deprecated_prestation,
        {("actions[a-sante].prestations[0]", "deprecated_code")},
    ),
    ("uncoded", _uncoded, {("besoins[b-sante].code", "besoin_uncoded")}),
    ("blank code", _blank_code, {("besoins[b-sante].code", "besoin_uncoded")}),
    (
        "action -> missing objectif",
        _action_missing_objectif,
        {("actions[a-sante].objectif_ids[1]", "missing_objectif")},
    ),
    (
        "action without objectif",
        _action_without_objectif,
        {("actions[a-sante].objectif_ids", "action_without_objectif")},
    ),
    (
        "projet dates",
        _projet_dates,
        {
            ("projet.date_fin", "dates_inverted"),
            ("bilan.prochaine_revision", "review_after_projet_end"),  # à vérifier
        },
    ),
    ("objectif dates", _objectif_dates, {("objectifs[o-sante].date_echeance", "dates_inverted")}),
    ("action dates", _action_dates, {("actions[a-sante].date_fin", "dates_inverted")}),
    ("bilan dates", _bilan_dates, {("bilan.prochaine_revision", "dates_inverted")}),
    (
        "outside period",
        _outside_period,
        {("objectifs[o-sante].date_echeance", "outside_projet_period")},
    ),
    (
        "duplicate id",
        _duplicate_id,
        {
            ("besoins[b-logement]", "duplicate_id"),
            ("besoins[b-logement].description", "missing_field"),
        },
    ),
    (
        "weekly without days",
        _weekly_without_days,
        {("actions[a-sante].planning.jours", "planning_weekly_without_days")},
    ),
    (
        "duration without time",
        _duration_without_time,
        {("actions[a-sante].planning.heure_debut", "planning_duration_without_time")},
    ),
    (
        "planning without start",
        _planning_without_start,
        {("actions[a-sante].date_debut", "planning_without_start_date")},
    ),
    ("objectif title", _objectif_without_title, {("objectifs[o-logement].titre", "missing_title")}),
    ("action title", _action_without_title, {("actions[a-sante].titre", "missing_title")}),
]


@pytest.mark.parametrize(("name", "breaker", "expected"), CASES, ids=[c[0] for c in CASES])
def test_each_rule(
    name: str, breaker: Callable[[PPAContent], None], expected: set[tuple[str, str]]
) -> None:
    content = valid_ppa()
    breaker(content)
    problems = validate(content)
    assert {(p.path, p.code) for p in problems} == expected, name
    assert all(p.code in PROBLEM_CODES for p in problems)
    assert all(p.message and p.message[0].isupper() for p in problems)


def test_every_code_is_exercised() -> None:
    exercised = {code for _, _, found in CASES for _, code in found}
    exercised |= {code for _, _, found in COMPLETENESS_CASES for _, code, _ in found}
    exercised |= {code for _, _, found in CODING_CASES for _, code in found}
    exercised |= {code for _, _, found in FOLLOWUP_CASES for _, code, _ in found}
    assert exercised | {"unknown_member"} == PROBLEM_CODES


def test_message_names_objective_by_title() -> None:
    content = valid_ppa()
    _no_besoin(content)
    [problem] = [p for p in validate(content) if p.code == "objectif_without_besoin"]
    assert (
        problem.message
        == "L'objectif « Gérer son traitement du soir en autonomie » doit répondre à un besoin."
    )
    assert problem.item_id == "o-sante"


def test_message_without_title_uses_position() -> None:
    content = valid_ppa()
    content.objectifs[1].titre = ""
    content.objectifs[1].besoin_ids = []
    messages = {p.code: p.message for p in validate(content)}
    assert messages["objectif_without_besoin"] == "L'objectif n°2 doit répondre à un besoin."


def test_besoin_named_by_description_or_label() -> None:
    content = valid_ppa()
    content.besoins[0].description = ""
    content.besoins[0].code = "2.3.2.1"
    [problem] = [p for p in validate(content) if p.code == "not_a_besoin"]
    assert "« Accompagnements pour vivre dans un logement »" in problem.message


def test_deprecated_codes_accepted_when_carried_over() -> None:
    content = valid_ppa()
    _deprecated_besoin(content)
    _deprecated_prestation(content)
    assert len(validate(content)) == 2
    assert validate(content, accepted_codes=frozenset({"1.3.1.1", "2.4.1"})) == []
    assert found(content, accepted_codes=frozenset({"2.4.1"})) == {
        ("besoins[b-sante].code", "deprecated_code")
    }


def test_unknown_members() -> None:
    content = valid_ppa()
    without_ergo = frozenset(v for k, v in MEMBERS.items() if k != "ergotherapeute")
    assert found(content, member_ids=without_ergo) == {
        ("objectifs[o-logement].referent_id", "unknown_member"),
        ("actions[a-cuisine].referent_id", "unknown_member"),
        ("actions[a-tramway].intervenant_ids[0]", "unknown_member"),
    }
    # 12 referents, 3 intervenants, the project's referent (rule 7)
    assert len(validate(content, member_ids=frozenset())) == 16


def test_all_problems_at_once() -> None:
    content = valid_ppa()
    _no_besoin(content)  # objectif o-appart
    content.objectifs[1].besoin_ids = ["b-gone"]  # objectif o-sante
    content.objectifs[1].titre = ""
    content.besoins[0].code = "2.3.2.1"
    content.besoins[1].code = None
    _besoin_as_prestation(content)
    _action_without_objectif(content)
    _action_dates(content)
    _duration_without_time(content)
    _bilan_dates(content)
    content.actions.append(Action(id="a-sante", titre="Doublon", objectif_ids=["o-x"]))
    assert found(content) == {
        ("actions[a-sante]", "duplicate_id"),
        ("objectifs[o-sante].besoin_ids", "objectif_without_besoin"),
        ("objectifs[o-logement].titre", "missing_title"),
        ("objectifs[o-logement].besoin_ids[0]", "missing_besoin"),
        ("besoins[b-sante].code", "not_a_besoin"),
        ("besoins[b-logement].code", "besoin_uncoded"),
        ("actions[a-sante].prestations[1]", "not_a_prestation"),
        ("actions[a-sante].objectif_ids", "action_without_objectif"),
        ("actions[a-sante].date_fin", "dates_inverted"),
        ("actions[a-sante].planning.heure_debut", "planning_duration_without_time"),
        ("actions[a-sante].objectif_ids[0]", "missing_objectif"),
        ("bilan.prochaine_revision", "dates_inverted"),
        # completeness: the besoins lost their objectives; the duplicate action is bare
        ("besoins[b-sante].motif_sans_objectif", "besoin_without_objectif"),
        ("besoins[b-logement].motif_sans_objectif", "besoin_without_objectif"),
        ("actions[a-sante].prestations", "missing_field"),
        ("actions[a-sante].referent_id", "missing_field"),
        ("actions[a-sante].date_debut", "missing_field"),
    }
    assert len(validate(content)) == 17


def test_orphans_and_mixed_list() -> None:
    content = PPAContent(
        objectifs=[Objectif(id="o1", titre="A", besoin_ids=["x", "y"])],
        actions=[
            Action(
                id="a1",
                titre="B",
                objectif_ids=["o1"],
                prestations=["1.1"],
                planning=Planning(frequence=Frequence.MENSUELLE),
            )
        ],
    )
    structural = {
        ("objectifs[o1].besoin_ids", "objectif_multiple_besoins"),
        ("objectifs[o1].besoin_ids[0]", "missing_besoin"),
        ("objectifs[o1].besoin_ids[1]", "missing_besoin"),
        ("actions[a1].prestations[0]", "not_a_prestation"),
        ("actions[a1].date_debut", "planning_without_start_date"),
    }
    asked = COMPLETENESS_CODES | FOLLOWUP_CODES
    completeness = {(p.path, p.code) for p in validate(content) if p.code in asked}
    assert found(content) == structural | completeness
    assert ("actions[a1].date_debut", "missing_field") not in completeness  # said once


def test_problem_is_frozen_and_serialisable() -> None:
    problem = Problem(path="projet.date_fin", code="dates_inverted", message="X")
    assert problem.model_dump(mode="json") == {
        "path": "projet.date_fin",
        "code": "dates_inverted",
        "message": "X",
        "item_id": None,
        "severity": "bloquant",
    }
    with pytest.raises(ValueError, match="frozen"):
        problem.code = "other"  # type: ignore[misc]
