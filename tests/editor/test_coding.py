"""Coding limits (docs/domain-rules.md, rule 8), with real SERAFIN-PH codes: besoins at level 3
or 4 only; on actions, direct prestations (2.x) and the transports of the individual project
(3.2.4.x, JDV_J282) only; a deprecated code carried over is accepted wherever it comes from."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from editor.schema import PPAContent, validate
from editor.terminology import JDV_TRANSPORTS_ID, Kind, terminology
from tests.factories import valid_ppa


def found(content: PPAContent, accepted: frozenset[str] = frozenset()) -> set[tuple[str, str]]:
    return {(p.path, p.code) for p in validate(content, accepted_codes=accepted)}


def _besoin(code: str) -> Callable[[PPAContent], None]:
    def breaker(c: PPAContent) -> None:
        c.besoins[0].code = code  # b-sante

    return breaker


def _prestation(code: str) -> Callable[[PPAContent], None]:
    def breaker(c: PPAContent) -> None:
        c.actions[0].prestations = ["2.1.1.2", code]  # a-sante

    return breaker


CODING_CASES: list[tuple[str, Callable[[PPAContent], None], set[tuple[str, str]]]] = [
    ("besoin bloc 1", _besoin("1"), {("besoins[b-sante].code", "besoin_too_general")}),
    ("besoin level 2", _besoin("1.1"), {("besoins[b-sante].code", "besoin_too_general")}),
    (
        "indirect prestation 3.1.2.2 (administration)",
        _prestation("3.1.2.2"),
        {("actions[a-sante].prestations[1]", "prestation_not_individual")},
    ),
    (
        "indirect prestation 3.2.2 (meals)",
        _prestation("3.2.2"),
        {("actions[a-sante].prestations[1]", "prestation_not_individual")},
    ),
    (
        "indirect prestation 3.1.6 (transport to manage)",
        _prestation("3.1.6"),
        {("actions[a-sante].prestations[1]", "prestation_not_individual")},
    ),
]


@pytest.mark.parametrize(
    ("name", "breaker", "expected"), CODING_CASES, ids=[c[0] for c in CODING_CASES]
)
def test_each_limit(
    name: str, breaker: Callable[[PPAContent], None], expected: set[tuple[str, str]]
) -> None:
    content = valid_ppa()
    breaker(content)
    assert found(content) == expected, name


@pytest.mark.parametrize("code", ["1.1.10", "1.2.1.3", "1.3.4", "1.3.4.1", "1.3.3.5"])
def test_besoins_of_level_3_or_4_are_accepted(code: str) -> None:
    content = valid_ppa()
    _besoin(code)(content)
    assert found(content) == set()


def test_the_level_is_the_codesystem_one_not_the_code_depth() -> None:
    term = terminology()
    # 1.1.x have three segments but are "Niveau 4"; 1.2.1.x have four but are "Niveau 3".
    assert (term.level_number("1.1.8"), term.level_number("1.2.1.4")) == (4, 3)
    assert (term.level_number("1"), term.level_number("1.3")) == (1, 2)
    levels = {term.level_number(c.code) for c in term.by_kind(Kind.BESOIN)}
    assert levels == {1, 2, 3, 4}


def test_a_too_general_besoin_is_explained() -> None:
    content = valid_ppa()
    content.besoins[0].description = "Suivi du diabète"
    _besoin("1.2")(content)
    [problem] = validate(content)
    assert problem.message == (
        "Le besoin « Suivi du diabète » : "
        "le code « 1.2 » (Besoins en matière d’autonomie) est trop général (niveau 2 de "
        "SERAFIN-PH) : choisissez un besoin de niveau 3 ou 4, plus précis."
    )


@pytest.mark.parametrize(
    "code", ["2.1.1.1", "2.2.2", "2.3.4.3", "3.2.4", "3.2.4.1", "3.2.4.2", "3.2.4.3"]
)
def test_direct_prestations_and_individual_transports_are_accepted(code: str) -> None:
    content = valid_ppa()
    _prestation(code)(content)
    assert found(content) == set()


def test_every_other_indirect_prestation_is_refused() -> None:
    term = terminology()
    individual = term.valuesets[JDV_TRANSPORTS_ID].codes
    assert individual == {"3.2.4", "3.2.4.1", "3.2.4.2", "3.2.4.3"}
    for concept in term.by_kind(Kind.PRESTATION_INDIRECTE):
        content = valid_ppa()
        _prestation(concept.code)(content)
        codes = {code for _, code in found(content, frozenset({concept.code}))}
        assert ("prestation_not_individual" in codes) is (concept.code not in individual), concept


def test_a_refused_indirect_prestation_is_explained() -> None:
    content = valid_ppa()
    _prestation("3.1.2.2")(content)
    [problem] = validate(content)
    assert problem.message == (
        "L'action « Point santé hebdomadaire » : « 3.1.2.2 » (Gestion administrative) est une "
        "prestation indirecte (pilotage ou fonction support de la structure), pas une prestation "
        "rendue à la personne : seuls les transports liés au projet individuel (3.2.4.x) peuvent "
        "figurer sur une action ; choisissez une prestation directe (2.x)."
    )


def test_deprecated_codes_carried_over_follow_the_same_limits() -> None:
    # The six deprecated codes duplicate their parent: they get the parent's level and family.
    content = valid_ppa()
    content.besoins[0].code = "1.3.1.1"  # = 1.3.1, level 3
    content.besoins[1].code = "1.3.5.1"  # = 1.3.5, level 3
    content.actions[0].prestations = ["2.4.1"]  # = 2.4, a direct prestation
    carried = frozenset({"1.3.1.1", "1.3.5.1", "2.4.1"})
    assert found(content, carried) == set()
    assert {code for _, code in found(content)} == {"deprecated_code"}  # typed anew: refused
    content.besoins[2].code = "1.2.1"  # = 1.2, level 2: too general even when carried over
    content.actions[1].prestations = ["3.2.2.1"]  # = 3.2.2 (meals): not individual
    assert found(content, carried | {"1.2.1", "3.2.2.1"}) == {
        ("besoins[b-social].code", "besoin_too_general"),
        ("actions[a-education].prestations[0]", "prestation_not_individual"),
    }
