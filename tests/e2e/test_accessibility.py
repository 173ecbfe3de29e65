"""Accessibility: axe-core (injected from npm) finds no serious or critical violation; every
action works with the keyboard alone, with a visible focus; tablet width and 200 % zoom."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.conftest import Api, LiveServer
from tests.e2e.conftest import PageFactory, axe_violations, content_of, wait_saved

pytestmark = pytest.mark.browser

HISTORY = "Historique, validation et exports"


def test_login_page_has_no_serious_violations(browser: Browser, live_server: LiveServer) -> None:
    context = browser.new_context(locale="fr-FR")
    page = context.new_page()
    page.goto(f"{live_server.url}/")
    expect(page.get_by_role("heading", name="Connexion")).to_be_visible()
    assert page.evaluate("document.documentElement.lang") == "fr"
    assert axe_violations(page) == []
    page.get_by_label("Identifiant").fill("coordinatrice")
    page.get_by_label("Mot de passe").fill("mauvais mot de passe")
    page.get_by_role("button", name="Se connecter").click()
    expect(page.get_by_role("alert")).to_contain_text("Identifiant ou mot de passe incorrect")
    assert axe_violations(page) == []
    context.close()


def test_list_page_has_no_serious_violations(open_as: PageFactory) -> None:
    page = open_as("coordinatrice")
    expect(page.get_by_role("heading", name="Personnes accompagnées et PPA")).to_be_visible()
    expect(page.locator(".ppa-link").first).to_be_visible()
    assert axe_violations(page) == []


@pytest.mark.parametrize("username", ["coordinatrice", "assistante-sociale", "usager"])
def test_editor_page_has_no_serious_violations(
    open_as: PageFactory, fresh_ppa: Callable[..., str], username: str
) -> None:
    ppa_id = fresh_ppa()
    page = open_as(username, f"#/ppa/{ppa_id}")
    if username == "coordinatrice":
        page.locator(".problems-summary").evaluate("el => el.hidden = false")
        page.get_by_role("button", name="Historique, validation et exports").click()
    assert axe_violations(page) == []


def no_horizontal_scroll(page: Page) -> bool:
    result: bool = page.evaluate(
        "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
    )
    return result


@pytest.mark.parametrize(
    ("width", "height", "scale"),
    [(768, 1024, 1), (640, 450, 2)],
    ids=["tablet", "zoom-200"],
)
def test_editor_fits_tablets_and_200_percent_zoom(
    browser: Browser,
    live_server: LiveServer,
    passwords: dict[str, str],
    fresh_ppa: Callable[..., str],
    width: int,
    height: int,
    scale: int,
) -> None:
    ppa_id = fresh_ppa()
    context = browser.new_context(
        viewport={"width": width, "height": height}, device_scale_factor=scale, locale="fr-FR"
    )
    page = context.new_page()
    page.goto(f"{live_server.url}/#/ppa/{ppa_id}")
    assert no_horizontal_scroll(page)
    page.get_by_label("Identifiant").fill("coordinatrice")
    page.get_by_label("Mot de passe").fill(passwords["coordinatrice"])
    page.get_by_role("button", name="Se connecter").click()
    expect(page.locator(".ppa-form")).to_have_attribute("aria-busy", "false")
    assert no_horizontal_scroll(page)
    page.get_by_role("button", name="Historique, validation et exports").click()
    assert no_horizontal_scroll(page)
    for section in ("Objectifs", "Actions"):
        page.get_by_role("navigation", name="Parties du PPA").get_by_role(
            "link", name=section, exact=True
        ).click()
        expect(page.get_by_role("heading", name=section, exact=False).first).to_be_in_viewport()
    assert no_horizontal_scroll(page)
    context.close()


def focus_of(page: Page, predicate: str = "el => true") -> dict[str, Any] | None:
    """What the focus looks like (to check it is visible), if the focused element satisfies
    the JS predicate ``el => ...``."""
    info: dict[str, Any] | None = page.evaluate(
        f"""() => {{
            const el = document.activeElement
            if (!el || el === document.body || !({predicate})(el)) return null
            const s = getComputedStyle(el)
            return {{outline: s.outlineStyle, width: s.outlineWidth, shadow: s.boxShadow}}
        }}"""
    )
    return info


def tab_to(page: Page, predicate: str, limit: int = 400, key: str = "Tab") -> dict[str, Any]:
    """Press Tab (or ``key``) until the focused element satisfies the JS predicate."""
    for _ in range(limit):
        page.keyboard.press(key)
        info = focus_of(page, predicate)
        if info is not None:
            return info
    raise AssertionError(f"no focusable element matched {predicate}")


def assert_focus_visible(info: dict[str, Any] | None) -> None:
    assert info is not None, "the focus is not where it should be"
    assert info["outline"] != "none" or info["shadow"] != "none", info


def test_every_action_works_with_the_keyboard_alone(
    browser: Browser,
    live_server: LiveServer,
    passwords: dict[str, str],
    fresh_ppa: Callable[..., str],
    api_as: Callable[[str], Api],
) -> None:
    ppa_id = fresh_ppa("PPA clavier")
    api = api_as("coordinatrice")
    before = content_of(api, ppa_id)
    context = browser.new_context(locale="fr-FR")
    page = context.new_page()
    page.goto(f"{live_server.url}/")

    assert_focus_visible(tab_to(page, "el => el.id === 'login-username'"))
    page.keyboard.type("coordinatrice")
    page.keyboard.press("Tab")
    page.keyboard.type(passwords["coordinatrice"])
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Personnes accompagnées et PPA")).to_be_visible()

    # The shared server lists every test's persons (hundreds on a full run, each card with its
    # links and forms): start the walk at the card holding this PPA, as a keyboard user would
    # after the browser's find, instead of tabbing through all of them.
    expect(page.get_by_text("Chargement des personnes accompagnées…")).to_be_hidden(timeout=30_000)
    page.evaluate(
        """() => {
            const link = [...document.querySelectorAll('a.ppa-link')]
              .find((a) => a.textContent === 'PPA clavier')
            const heading = link.closest('section').querySelector('h2')
            heading.tabIndex = -1
            heading.focus()
        }"""
    )
    assert_focus_visible(tab_to(page, "el => el.textContent === 'PPA clavier'", limit=20))
    page.keyboard.press("Enter")
    expect(page.locator(".ppa-form")).to_have_attribute("aria-busy", "false")
    wait_saved(page)

    # the history panel: save a named version (Shift+Tab back to the name, Space submits)
    assert_focus_visible(tab_to(page, f"el => el.textContent === '{HISTORY}'"))
    page.keyboard.press("Enter")
    panel = page.get_by_role("complementary", name=HISTORY)
    expect(panel.get_by_label("Nom de la version")).to_be_visible()
    assert page.evaluate("document.activeElement.textContent") == HISTORY  # the panel's heading
    assert_focus_visible(tab_to(page, "el => el.labels?.[0]?.textContent === 'Nom de la version'"))
    page.keyboard.type("Avant la saisie au clavier")
    assert_focus_visible(tab_to(page, "el => el.textContent === 'Enregistrer une version'"))
    assert_focus_visible(
        tab_to(
            page, "el => el.tagName === 'INPUT' && el.value.includes('clavier')", key="Shift+Tab"
        )
    )
    page.keyboard.press("Tab")
    page.keyboard.press("Space")
    named = panel.locator(".version").filter(has_text="Avant la saisie au clavier")
    expect(named).to_have_count(1)
    number = named.get_attribute("data-number")
    assert number is not None
    # the list repainted: the focus stayed on the button, not dropped to the top of the page
    assert_focus_visible(focus_of(page, "el => el.textContent === 'Enregistrer une version'"))
    # on to the panel's button (past the panel's end, the page's start), which closes it
    assert_focus_visible(tab_to(page, f"el => el.textContent === '{HISTORY}'"))
    page.keyboard.press("Enter")
    expect(panel).to_be_hidden()

    # add an objective, type its title, choose its besoin
    assert_focus_visible(tab_to(page, "el => el.textContent.includes('Ajouter un objectif')"))
    page.keyboard.press("Enter")
    expect(page.locator("#objectifs article")).to_have_count(len(before["objectifs"]) + 1)
    focused = page.evaluate("document.activeElement.closest('[data-field]').dataset.field")
    assert focused.endswith("/titre")
    page.keyboard.type("Objectif saisi au clavier")
    assert_focus_visible(tab_to(page, "el => el.tagName === 'SELECT'"))
    page.keyboard.press("ArrowDown")

    # a SERAFIN-PH code chosen in the picker, then Escape closes a dialog and gives focus back
    # (round the whole form from the objectives: past 400 stops since issue 19 added fields)
    assert_focus_visible(
        tab_to(page, "el => el.textContent.includes('Ajouter un besoin')", limit=800)
    )
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    page.keyboard.type("logement")
    expect(dialog.locator(".serafin-results [data-code]")).to_have_count(2)
    assert_focus_visible(tab_to(page, "el => el.dataset.code === '1.3.2.1'"))
    page.keyboard.press("Enter")
    expect(dialog).to_have_count(0)
    expect(page.locator("#besoins article")).to_have_count(len(before["besoins"]) + 1)

    # past every objective and action (each section's heading is a toggle too)
    assert_focus_visible(
        tab_to(page, "el => el.textContent.includes('Supprimer le moyen')", limit=800)
    )
    page.keyboard.press("Enter")
    expect(page.get_by_role("dialog", name="Confirmation")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog")).to_have_count(0)
    assert page.evaluate("document.activeElement.textContent").startswith("Supprimer le moyen")
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")  # from "Annuler" to "Supprimer"
    page.keyboard.press("Enter")
    expect(page.locator("#moyens article")).to_have_count(len(before["moyens"]) - 1)

    wait_saved(page)
    after = content_of(api, ppa_id)
    assert len(after["objectifs"]) == len(before["objectifs"]) + 1, after["objectifs"]
    assert after["objectifs"][-1]["titre"] == "Objectif saisi au clavier"
    assert after["objectifs"][-1]["besoin_ids"] == [before["besoins"][0]["id"]]
    assert after["besoins"][-1]["code"] == "1.3.2.1"
    assert len(after["moyens"]) == len(before["moyens"]) - 1

    # restore the named version: the keyboard edits are undone
    assert_focus_visible(tab_to(page, f"el => el.textContent === '{HISTORY}'"))
    page.keyboard.press("Enter")
    expect(named).to_be_visible()
    assert_focus_visible(
        tab_to(page, f"el => el.textContent === 'Restaurer v{number} comme nouveau brouillon'")
    )
    page.keyboard.press("Enter")
    # it asks first, naming what is lost; the focus starts on "Annuler" (Enter alone loses nothing)
    expect(page.get_by_role("dialog", name=f"Restaurer la version {number} ?")).to_be_visible()
    assert page.evaluate("document.activeElement.textContent") == "Annuler"
    page.keyboard.press("Tab")
    assert_focus_visible(focus_of(page, f"el => el.textContent === 'Restaurer la v{number}'"))
    page.keyboard.press("Enter")
    expect(page.get_by_role("dialog")).to_have_count(0)
    expect(panel.locator('.version[data-kind="restore"]')).to_have_count(1)
    expect(page.locator("#objectifs article")).to_have_count(len(before["objectifs"]))
    expect(page.locator("#moyens article")).to_have_count(len(before["moyens"]))
    wait_saved(page)
    assert content_of(api, ppa_id) == before

    # validate through the dialog: Escape closes it and gives the focus back, Enter reopens it
    # back up the panel (Shift+Tab) from the restore button, which kept the focus
    assert_focus_visible(
        tab_to(page, "el => el.textContent === 'Valider le PPA'", key="Shift+Tab", limit=60)
    )
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="Valider le PPA")
    expect(dialog).to_be_visible()
    page.keyboard.press("Escape")
    expect(dialog).to_have_count(0)
    assert_focus_visible(focus_of(page, "el => el.textContent === 'Valider le PPA'"))
    page.keyboard.press("Enter")
    expect(dialog).to_be_visible()
    assert_focus_visible(focus_of(page, "el => el.closest('dialog') !== null"))
    assert_focus_visible(tab_to(page, "el => el.textContent === 'Valider définitivement'"))
    page.keyboard.press("Enter")
    expect(dialog).to_have_count(0)
    expect(page.locator(".banner--locked")).to_be_visible()
    validated = panel.locator('.version[data-kind="validated"]')
    expect(validated).to_have_count(1)
    v_number = validated.get_attribute("data-number")
    ppa = api.get(f"/api/ppas/{ppa_id}").json()
    assert (ppa["status"], ppa["locked"]) == ("validated", True)

    # open the validated version's export menu (Space on its summary), download a format
    assert_focus_visible(tab_to(page, f"el => el.textContent === 'Télécharger v{v_number}'"))
    page.keyboard.press("Space")
    expect(validated.locator(".exports-menu")).to_have_attribute("open", "")
    assert_focus_visible(tab_to(page, "el => el.dataset.format === 'pdf'"))
    with page.expect_download() as info:
        page.keyboard.press("Enter")
    download = info.value
    assert download.suggested_filename.endswith(".pdf"), download.suggested_filename
    assert download.path().read_bytes()[:5] == b"%PDF-"
    expect(panel.get_by_role("status").first).to_contain_text("Téléchargé")
    context.close()
