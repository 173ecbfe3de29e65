"""A guided editor instead of one endless form (issue 17, fix 3): collapsible sections with a
summary line, the PPA's life step with the next action, the save state, presence and section
menu in sight while scrolling (also on a phone), a list page that fits 390 px, and a large PPA
(40 objectives, 70 actions) that builds only what is open."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import Api
from tests.e2e.conftest import PageFactory, axe_violations, content_of, save_state, wait_saved
from tests.e2e.large_ppa import LARGE_ACTIONS, LARGE_OBJECTIFS, large_content
from tests.e2e.test_versions import validate_by_api

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
CONTROLS = ".ppa-form input, .ppa-form textarea, .ppa-form select, .ppa-form button"


def toggle(page: Page, section: str) -> Any:
    return page.locator(f"#{section} .section-toggle")


def summary(page: Page, section: str) -> Any:
    return page.locator(f"#{section} .section-summary")


def test_sections_fold_with_a_summary_line_and_the_life_step_says_what_is_next(
    open_as: PageFactory, fresh_ppa: Callable[..., str], api_as: Callable[[str], Api]
) -> None:
    ppa_id = fresh_ppa()
    api = api_as("coordinatrice")
    content = content_of(api, ppa_id)
    page = open_as("coordinatrice", f"#/ppa/{ppa_id}")
    n = len(content["objectifs"])
    expect(toggle(page, "objectifs")).to_have_attribute("aria-expanded", "true")
    expect(summary(page, "objectifs")).to_have_text(f"{n} objectifs")
    expect(summary(page, "actions")).to_contain_text(f"{len(content['actions'])} actions")

    toggle(page, "objectifs").click()
    expect(toggle(page, "objectifs")).to_have_attribute("aria-expanded", "false")
    expect(page.locator("#objectifs article").first).to_be_hidden()
    expect(summary(page, "objectifs")).to_be_visible()
    toggle(page, "objectifs").click()
    expect(page.locator("#objectifs article")).to_have_count(n)

    steps = page.get_by_role("navigation", name="Étapes du PPA")
    expect(steps.locator('[aria-current="step"]')).to_contain_text("Validation")
    expect(steps.locator(".life-steps__next")).to_have_text(
        "Faire valider par la coordinatrice (« Historique, validation et exports »)."
    )
    # a blocking point: in the summary of its section and in the next action
    page.locator('[data-field="bilan/prochaine_revision"] input').fill("")
    wait_saved(page)
    expect(summary(page, "bilan")).to_have_text(
        "Prochaine révision non fixée · 1 point à compléter"
    )
    expect(steps.locator(".life-steps__next")).to_have_text(
        "1 point à compléter, puis faire valider par la coordinatrice "
        "(« Historique, validation et exports »)."
    )
    assert axe_violations(page) == []
    # at the bottom of the page, the save state, presence and section menu are still in sight
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    expect(save_state(page)).to_be_in_viewport()
    expect(page.locator(".presence")).to_be_in_viewport()
    expect(
        page.get_by_role("navigation", name="Parties du PPA").get_by_role("link", name="Objectifs")
    ).to_be_in_viewport()

    page.locator('[data-field="bilan/prochaine_revision"] input').fill("2027-07-01")
    wait_saved(page)
    validate_by_api(api, ppa_id)
    expect(page.locator(".banner--locked")).to_be_visible()
    page.reload()
    expect(steps.locator('[aria-current="step"]')).to_contain_text("Mise en œuvre", timeout=10000)
    expect(steps.locator(".life-steps__next")).to_contain_text("révision du 1 juillet 2027")


def test_on_a_phone_the_bar_stays_in_sight_and_the_list_fits(
    open_as: PageFactory, fresh_ppa: Callable[..., str]
) -> None:
    ppa_id = fresh_ppa()
    page = open_as("coordinatrice", f"#/ppa/{ppa_id}", **PHONE)
    wait_saved(page)
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    bar = page.locator(".editor-head__bar")
    box = bar.bounding_box()
    assert box is not None
    assert 0 <= box["y"] <= 10, box
    expect(save_state(page)).to_be_in_viewport()
    expect(page.locator(".presence")).to_be_in_viewport()
    menu = page.get_by_label("Aller à une partie du PPA")
    expect(menu).to_be_in_viewport()
    toggle(page, "bilan").click()  # closed
    expect(toggle(page, "bilan")).to_have_attribute("aria-expanded", "false")
    menu.select_option("bilan")  # the menu opens it
    expect(toggle(page, "bilan")).to_have_attribute("aria-expanded", "true")
    expect(page.locator('[data-field="bilan/prochaine_revision"] input')).to_be_in_viewport()
    assert axe_violations(page) == []

    home = open_as("coordinatrice", **PHONE)
    expect(home.locator(".ppa-link").first).to_be_visible()
    assert home.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert axe_violations(home) == []


def test_a_large_ppa_builds_only_what_is_open(
    open_as: PageFactory, api_as: Callable[[str], Api], demo: dict[str, Any]
) -> None:
    api = api_as("coordinatrice")
    big = large_content(content_of(api, demo["ppa_id"]))
    response = api.post(
        f"/api/persons/{demo['person_id']}/ppas", json={"title": "Grand PPA", "content": big}
    )
    assert response.status_code == 201, response.text
    ppa_id = response.json()["id"]
    assert len(content_of(api, ppa_id)["actions"]) == LARGE_ACTIONS
    page = open_as("coordinatrice", f"#/ppa/{ppa_id}")
    wait_saved(page)
    for section in ("objectifs", "actions", "besoins"):
        expect(toggle(page, section)).to_have_attribute("aria-expanded", "false")
    expect(summary(page, "objectifs")).to_have_text(f"{LARGE_OBJECTIFS} objectifs")
    expect(summary(page, "actions")).to_have_text(f"{LARGE_ACTIONS} actions")
    expect(page.locator("#actions article")).to_have_count(0)
    built = page.locator(CONTROLS).count()
    assert built < 150, built  # the demo-sized form alone has more than 300

    # the table of contents opens a section, which builds its cards then
    page.get_by_role("navigation", name="Parties du PPA").get_by_role(
        "link", name="Actions"
    ).click()
    expect(toggle(page, "actions")).to_have_attribute("aria-expanded", "true")
    expect(page.locator("#actions article")).to_have_count(LARGE_ACTIONS)
    assert axe_violations(page) == []
