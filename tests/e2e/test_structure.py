"""Structured editing: SERAFIN-PH pickers and the one-besoin rule of objectives."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import expect

from tests.conftest import Api
from tests.e2e.conftest import PageFactory, content_of, wait_saved

pytestmark = pytest.mark.browser


def test_serafin_besoin_picker_finds_logement_codes(
    open_as: PageFactory, fresh_ppa: Callable[..., str], api_as: Callable[[str], Api]
) -> None:
    ppa_id = fresh_ppa()
    page = open_as("coordinatrice", f"#/ppa/{ppa_id}")
    before = len(content_of(api_as("coordinatrice"), ppa_id)["besoins"])

    page.get_by_role("button", name="Ajouter un besoin").click()
    dialog = page.get_by_role("dialog", name="Nouveau besoin : choisir le code SERAFIN-PH")
    dialog.get_by_label("Rechercher un code ou des mots").fill("logement")
    results = dialog.locator(".serafin-results [data-code]")
    expect(results).to_have_count(2)
    assert results.evaluate_all("els => els.map(e => e.dataset.code)") == ["1.3.2", "1.3.2.1"]
    expect(results.nth(1)).to_contain_text("Besoins pour vivre dans un logement")

    # deprecated codes are never offered: 1.2.1 (obsolete) vs its active parent 1.2
    search = dialog.get_by_label("Rechercher un code ou des mots")
    search.fill("autonomie")
    expect(dialog.locator('.serafin-results [data-code="1.2"]')).to_have_count(1)
    expect(dialog.locator('.serafin-results [data-code="1.2.1"]')).to_have_count(0)

    # a code finds itself and the codes under it (the results of "autonomie" are gone first)
    search.fill("1.3.2")
    expect(dialog.locator('.serafin-results [data-code="1.2"]')).to_have_count(0)
    found = dialog.locator('.serafin-results [data-code="1.3.2.1"]')
    expect(found).to_have_count(1)
    expect(found).to_contain_text("Besoins pour vivre dans un logement")
    codes = results.evaluate_all("els => els.map(e => e.dataset.code)")
    assert codes[0] == "1.3.2"
    assert all(code.startswith("1.3.2.") for code in codes[1:]), codes
    dialog.get_by_text("Parcourir la nomenclature SERAFIN-PH").click()
    expect(dialog.locator('.serafin-tree [data-code="1.3.2.1"]')).to_have_count(1)
    expect(dialog.locator('.serafin-tree [data-code="1.2.1"]')).to_have_count(0)
    expect(dialog.locator('.serafin-tree [data-code^="2."]')).to_have_count(0)

    search.fill("logement")
    dialog.locator('.serafin-results [data-code="1.3.2.1"]').click()
    expect(dialog).to_be_hidden()
    cards = page.locator("#besoins article")
    expect(cards).to_have_count(before + 1)
    expect(cards.last).to_contain_text("1.3.2.1 Besoins pour vivre dans un logement")
    wait_saved(page)
    besoins = content_of(api_as("coordinatrice"), ppa_id)["besoins"]
    assert len(besoins) == before + 1
    assert besoins[-1]["code"] == "1.3.2.1"


def test_serafin_prestation_picker_offers_only_prestations(
    open_as: PageFactory, fresh_ppa: Callable[..., str], api_as: Callable[[str], Api]
) -> None:
    ppa_id = fresh_ppa()
    action = content_of(api_as("coordinatrice"), ppa_id)["actions"][2]
    page = open_as("coordinatrice", f"#/ppa/{ppa_id}")
    field = page.locator(f'[data-field="actions/{action["id"]}/prestations"]')

    field.get_by_role("button", name="Ajouter une prestation").click()
    dialog = page.get_by_role("dialog", name="Ajouter une prestation SERAFIN-PH")
    dialog.get_by_label("Rechercher un code ou des mots").fill("logement")
    results = dialog.locator(".serafin-results [data-code]")
    expect(results).to_have_count(2)
    assert results.evaluate_all("els => els.map(e => e.dataset.code)") == ["2.3.2", "2.3.2.1"]
    dialog.get_by_label("Indirectes (3.x)").check()
    expect(results).to_have_count(0)
    dialog.get_by_label("Toutes").check()
    expect(results).to_have_count(2)
    results.nth(1).click()
    expect(field.locator(".chip")).to_contain_text(["2.3.2.2", "2.3.2.1"])
    wait_saved(page)
    assert content_of(api_as("coordinatrice"), ppa_id)["actions"][2]["prestations"] == [
        "2.3.2.2",
        "2.3.2.1",
    ]

    field.get_by_role("button", name="Retirer la prestation 2.3.2.2").click()
    expect(field.locator(".chip")).to_have_count(1)
    wait_saved(page)
    assert content_of(api_as("coordinatrice"), ppa_id)["actions"][2]["prestations"] == ["2.3.2.1"]


def test_an_objective_cannot_be_given_two_besoins(
    open_as: PageFactory, fresh_ppa: Callable[..., str], api_as: Callable[[str], Api]
) -> None:
    ppa_id = fresh_ppa()
    api = api_as("coordinatrice")
    content = content_of(api, ppa_id)
    objectif, besoins = content["objectifs"][0], content["besoins"]
    assert objectif["besoin_ids"] == [besoins[0]["id"]]
    page = open_as("coordinatrice", f"#/ppa/{ppa_id}")
    field = page.locator(f'[data-field="objectifs/{objectif["id"]}/besoin_ids"]')

    # a single choice: one <select> that is not multiple, and nothing else to add a besoin
    choice = field.get_by_label("Besoin auquel répond l'objectif (un seul)")
    expect(choice).to_have_count(1)
    assert choice.evaluate("el => el.tagName === 'SELECT' && !el.multiple")
    card = page.locator(f'[data-item-id="{objectif["id"]}"]')
    expect(card.get_by_role("button", name=re.compile("besoin", re.I))).to_have_count(0)

    # choosing another besoin replaces it
    choice.select_option(besoins[1]["id"])
    wait_saved(page)
    assert content_of(api, ppa_id)["objectifs"][0]["besoin_ids"] == [besoins[1]["id"]]

    # a second besoin written by another client (e.g. two people choosing at once) is shown,
    # reported with the API's message, and fixed in one click
    page.evaluate(
        """(id) => {
            const objectif = window.ppaCollab.session.doc.getArray('objectifs').get(0)
            objectif.get('besoin_ids').push([id])
        }""",
        besoins[2]["id"],
    )
    expect(field.locator(".warning")).to_contain_text("répond à 2 besoins")
    expect(field.locator(".problem")).to_contain_text("doit répondre à un seul besoin")
    field.get_by_role("button", name=re.compile("^Ne garder que")).click()
    expect(field.locator(".warning")).to_be_hidden()
    expect(field.locator(".problem")).to_have_count(0)
    assert content_of(api, ppa_id)["objectifs"][0]["besoin_ids"] == [besoins[1]["id"]]


def test_validation_problems_show_inline_with_the_api_messages(
    open_as: PageFactory, fresh_ppa: Callable[..., str], api_as: Callable[[str], Api]
) -> None:
    ppa_id = fresh_ppa()
    api = api_as("coordinatrice")
    assert api.get(f"/api/ppas/{ppa_id}/problems").json() == []
    page = open_as("coordinatrice", f"#/ppa/{ppa_id}")
    expect(page.locator(".problems-summary")).to_be_hidden()

    page.locator('[data-field="projet/date_fin"] input').fill("2026-01-15")
    wait_saved(page)
    problems = api.get(f"/api/ppas/{ppa_id}/problems").json()
    # blocking: the period is inverted; to check: the review now falls after the period's end
    assert [(p["path"], p["severity"]) for p in problems] == [
        ("projet.date_fin", "bloquant"),
        ("bilan.prochaine_revision", "a_verifier"),
    ]
    field = page.locator('[data-field="projet/date_fin"]')
    expect(field.locator(".problem")).to_have_text(re.compile(re.escape(problems[0]["message"])))
    expect(field.locator("input")).to_have_attribute("aria-invalid", "true")
    review = page.locator('[data-field="bilan/prochaine_revision"]')
    expect(review.locator(".problem--warning")).to_have_text(
        re.compile(re.escape(f"À vérifier : {problems[1]['message']}"))
    )
    expect(review.locator("input")).not_to_have_attribute("aria-invalid", "true")
    summary = page.locator(".problems-summary")
    expect(summary).to_contain_text(
        "Points à compléter avant validation (1 bloquant, 1 à vérifier)"
    )
    summary.locator("summary").click()
    summary.get_by_role("button", name=problems[0]["message"]).click()
    expect(field.locator("input")).to_be_focused()

    field.locator("input").fill("2027-11-30")
    expect(field.locator(".problem")).to_have_count(0)
    expect(review.locator(".problem")).to_have_count(0)
    expect(summary).to_be_hidden()
