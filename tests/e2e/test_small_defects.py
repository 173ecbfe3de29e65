"""The small defects of issue 17 (fix 5), each seen as a person meets it in Chromium: the skip
link, a corrected number field, the SERAFIN picker (code prefix, typos, arrow keys), a save
indicator that announces states and not keystrokes, version titles, download names, a past
review date, and the item cards' roles."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import Api
from tests.e2e.conftest import PageFactory, axe_violations, content_of, save_state, wait_saved
from tests.e2e.test_versions import open_history, validate_by_api

pytestmark = pytest.mark.browser


def test_the_skip_link_moves_to_the_content_and_stays_on_the_ppa(
    open_as: PageFactory, fresh_ppa: Callable[..., str]
) -> None:
    ppa_id = fresh_ppa()
    page = open_as("coordinatrice", f"#/ppa/{ppa_id}")
    skip = page.get_by_role("link", name="Aller au contenu principal")
    skip.focus()
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()
    assert page.url.endswith(f"#/ppa/{ppa_id}")
    expect(page.locator(".ppa-form")).to_have_attribute("aria-busy", "false")


def test_a_corrected_number_loses_its_error_at_once(
    open_as: PageFactory, fresh_ppa: Callable[..., str], api_as: Callable[[str], Api]
) -> None:
    ppa_id = fresh_ppa()
    api = api_as("coordinatrice")
    action = next(a for a in content_of(api, ppa_id)["actions"] if a.get("planning"))
    page = open_as("coordinatrice", f"#/ppa/{ppa_id}")
    field = page.locator(f'[data-field="actions/{action["id"]}/planning/intervalle"]')
    number = field.locator("input")
    error = field.locator(".problem--local")
    number.click()
    page.keyboard.press("Control+A")
    page.keyboard.type("60")
    page.keyboard.press("Tab")
    expect(error).to_be_visible()
    expect(error).to_have_text("Indiquez un nombre entier entre 1 et 52.")
    expect(number).to_have_attribute("aria-invalid", "true")
    expect(number).to_have_value("60")  # what was typed stays, to be corrected
    number.click()
    page.keyboard.press("Control+A")
    page.keyboard.type("4")
    expect(error).to_be_hidden()
    expect(number).not_to_have_attribute("aria-invalid", "true")
    page.keyboard.press("Tab")
    wait_saved(page)
    stored = next(a for a in content_of(api, ppa_id)["actions"] if a["id"] == action["id"])
    assert stored["planning"]["intervalle"] == 4


def test_the_serafin_picker_finds_code_prefixes_and_typos_and_walks_with_arrows(
    open_as: PageFactory, fresh_ppa: Callable[..., str]
) -> None:
    ppa_id = fresh_ppa()
    page = open_as("coordinatrice", f"#/ppa/{ppa_id}")
    page.get_by_role("button", name="Ajouter un besoin").click()
    dialog = page.get_by_role("dialog")
    search = dialog.get_by_label("Rechercher un code ou des mots")
    results = dialog.locator(".serafin-results .serafin-choice")

    search.fill("1.3.2")  # the example of the dialog's own hint
    expect(results.first).to_be_visible()
    codes = results.evaluate_all("els => els.map(e => e.dataset.code)")
    assert codes
    assert all(c == "1.3.2" or c.startswith("1.3.2.") for c in codes), codes

    search.fill("")
    expect(results).to_have_count(0)
    search.fill("logemnt")  # a typo
    expect(results.first).to_be_visible()
    assert "logement" in results.first.inner_text().lower()

    search.focus()
    page.keyboard.press("ArrowDown")
    expect(results.nth(0)).to_be_focused()
    if results.count() > 1:
        page.keyboard.press("ArrowDown")
        expect(results.nth(1)).to_be_focused()
        page.keyboard.press("ArrowUp")
    page.keyboard.press("ArrowUp")
    expect(search).to_be_focused()
    assert axe_violations(page) == []
    dialog.get_by_role("button", name="Annuler").click()


def announced(page: Page) -> Any:
    return page.locator("#announcer")


def test_the_save_indicator_announces_states_not_keystrokes(
    open_as: PageFactory, fresh_ppa: Callable[..., str]
) -> None:
    ppa_id = fresh_ppa()
    page = open_as("coordinatrice", f"#/ppa/{ppa_id}")
    wait_saved(page)
    indicator = save_state(page)
    # not a live region: it flips at every keystroke
    assert indicator.get_attribute("aria-live") is None
    assert indicator.get_attribute("role") is None
    assert (
        indicator.evaluate("el => el.closest('[aria-live], [role=status], [role=alert]')") is None
    )
    page.locator('[data-field="projet_de_vie"] textarea').click()
    page.keyboard.type("Encore.")
    wait_saved(page)
    expect(announced(page)).not_to_contain_text("Enregistr")
    page.context.set_offline(True)
    expect(indicator).to_have_text("Hors ligne - vos modifications seront envoyées")
    expect(announced(page)).to_have_text("Hors ligne - vos modifications seront envoyées")
    page.keyboard.type(" Sans réseau.")
    page.context.set_offline(False)
    wait_saved(page)
    expect(announced(page)).to_have_text(
        "Connexion rétablie : vos modifications sont enregistrées."
    )


def test_version_titles_downloads_and_a_past_review_date(
    open_as: PageFactory, fresh_ppa: Callable[..., str], api_as: Callable[[str], Api]
) -> None:
    ppa_id = fresh_ppa()
    api = api_as("coordinatrice")
    page = open_as("coordinatrice", f"#/ppa/{ppa_id}")
    review = page.locator('[data-field="bilan/prochaine_revision"]')
    review.locator("input").fill("2026-11-01")
    warning = review.locator(".date-warning")
    expect(warning).to_contain_text("Cette date est passée (1 novembre 2026)")
    expect(review.locator("input")).to_have_accessible_description(
        "Au moins une fois par an. Cette date est passée (1 novembre 2026) : la révision est en "
        "retard, fixez-en une nouvelle.",
    )
    review.locator("input").fill("2027-07-01")
    expect(warning).to_be_hidden()
    wait_saved(page)

    version = validate_by_api(api, ppa_id)
    number = version["number"]
    expect(page.locator(".banner--locked")).to_be_visible()
    panel = open_history(page)
    row = panel.locator(f'.version[data-number="{number}"]')
    expect(row.locator(".version__title")).to_have_text(f"v{number} · Version validée n°1")
    row.get_by_text(f"Télécharger v{number}").click()
    with page.expect_download() as info:
        row.locator('[data-format="pdf"]').click()
    assert info.value.suggested_filename == f"PPA-Lea-MARTIN-2026-v{number}.pdf"


def test_item_cards_have_allowed_roles(open_as: PageFactory, fresh_ppa: Callable[..., str]) -> None:
    ppa_id = fresh_ppa()
    page = open_as("coordinatrice", f"#/ppa/{ppa_id}")
    assert axe_violations(page) == []  # also loads axe
    minor: list[Any] = page.evaluate(
        """async () => (await axe.run(document, {
            runOnly: {type: 'rule', values: ['aria-allowed-role']}, resultTypes: ['violations'],
        })).violations.map(v => v.nodes.length)"""
    )
    assert minor == []
    expect(page.locator("#objectifs [role=listitem] article").first).to_be_visible()


def test_a_ppa_one_may_not_open_offers_the_way_back(
    open_as: PageFactory, fresh_ppa: Callable[..., str]
) -> None:
    ppa_id = fresh_ppa("Brouillon fermé à l'audit")
    auditor = open_as("auditeur", f"#/ppa/{ppa_id}", wait=False)
    expect(auditor.locator(".form-error")).to_contain_text("Votre rôle")
    back = auditor.get_by_role("link", name=re.compile("^Retour à l'accueil"))
    back.click()
    # home sends someone who only audits to their own entry (views/list.js, views/auditor.js)
    expect(auditor.get_by_role("heading", name="Espace audit", level=1)).to_be_visible()
    expect(auditor).to_have_url(re.compile("#/audit$"))
    assert axe_violations(auditor) == []
