"""Birthplaces as town names from the INSEE COG (npm @etalab/decoupage-administratif)."""

from __future__ import annotations

from exports import communes
from exports._common import birthplace_text
from exports.context import ExportInput


def test_the_commune_table_is_installed_and_names_codes() -> None:
    assert communes.available(), "run scripts/bootstrap.sh (bootstrap_cog)"
    assert communes.name_of("69123") == "Lyon (69)"
    assert communes.name_of("2a004") == "Ajaccio (2A)"  # Corsica, any case
    assert communes.name_of("20004") == "Ajaccio (2A)"  # the code before 1976: a former code
    assert communes.name_of("69381") == "Lyon 1er Arrondissement (69)"
    assert communes.name_of("97411") == "Saint-Denis (974)"
    assert communes.name_of("00000") == ""


def test_birthplace_text(validated: ExportInput) -> None:
    def born(code: str) -> str:
        person = validated.person.model_copy(update={"birthplace_insee": code})
        return birthplace_text(validated.model_copy(update={"person": person}))

    assert born("69123") == "Lyon (69)"
    assert born("99134") == "à l'étranger (code pays INSEE 99134)"
    assert born("00000") == "commune de code INSEE 00000"
