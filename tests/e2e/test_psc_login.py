"""A professional logs in with Pro Santé Connect in Chromium: the login page's button, the
provider's page (a real OpenID provider on loopback, tests/js/oidc_provider.mjs), back in the
editor on the PPA asked for, the practice shown; the logout ends the provider's session too."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.conftest import LiveServer
from tests.e2e.conftest import axe_violations
from tests.server.oidc.op import ProviderProcess

pytestmark = [pytest.mark.browser, pytest.mark.node]

PSC_BUTTON = "Se connecter avec Pro Santé Connect"


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    context = browser.new_context(locale="fr-FR", timezone_id="Europe/Paris")
    errors: list[str] = []
    context.on("weberror", lambda error: errors.append(str(error.error)))
    yield context
    context.close()
    assert errors == [], f"JavaScript errors in the page: {errors}"


def provider_login(page: Page, account: str, level: str = "eidas2") -> None:
    """What the professional does at the provider (the e-CPS step, as a form here)."""
    expect(page.get_by_role("heading", name="Pro Santé Connect (test)")).to_be_visible()
    page.get_by_label("Compte").fill(account)
    page.get_by_label("Niveau").select_option(level)
    page.get_by_role("button", name="Valider").click()


def test_login_page_offers_psc_when_configured_and_stays_accessible(
    context: BrowserContext, rp: LiveServer, live_server: LiveServer
) -> None:
    page = context.new_page()
    page.goto(f"{rp.url}/#/connexion")
    button = page.get_by_role("link", name=PSC_BUTTON)
    expect(button).to_be_visible()
    assert button.get_attribute("href") == "/api/auth/psc/login?next=%23%2F"
    assert axe_violations(page) == []
    # a service without an issuer: the login form alone
    page.goto(f"{live_server.url}/#/connexion")
    expect(page.get_by_label("Identifiant")).to_be_visible()
    page.wait_for_load_state("networkidle")
    expect(page.get_by_role("link", name=PSC_BUTTON)).to_have_count(0)


def test_a_professional_logs_in_and_out_with_psc(
    context: BrowserContext, rp: LiveServer, op: ProviderProcess, demo: dict[str, Any]
) -> None:
    page = context.new_page()
    page.goto(f"{rp.url}/#/ppa/{demo['ppa_id']}")
    page.get_by_role("link", name=PSC_BUTTON).click()
    provider_login(page, "f:psc:psychologue")

    # back in the editor, on the PPA asked for, as the professional of that RPPS
    expect(page).to_have_url(re.compile(rf"^{re.escape(rp.url)}/#/ppa/{demo['ppa_id']}$"))
    expect(page.locator(".ppa-form")).to_have_attribute("aria-busy", "false")
    header = page.locator("#app-header")
    expect(header).to_contain_text("Sophie Lefèvre")
    practice = header.locator(".practice")
    practice.locator("summary").click()
    expect(practice).to_contain_text("SAVS Horizon")
    assert page.evaluate("() => document.cookie") == ""  # HttpOnly: nothing for scripts
    assert page.evaluate("() => Object.keys(sessionStorage).filter(k => k.includes('token'))") == []

    # logout: here, then at the provider, then back on the login page
    page.get_by_role("button", name="Se déconnecter").click()
    expect(page.get_by_role("link", name=PSC_BUTTON)).to_be_visible()
    assert page.url.startswith(rp.url)
    page.get_by_role("link", name=PSC_BUTTON).click()
    # the provider's session is over: it asks again
    expect(page.get_by_role("heading", name="Pro Santé Connect (test)")).to_be_visible()


def test_an_unknown_professional_reads_why_in_french(
    context: BrowserContext, rp: LiveServer
) -> None:
    page = context.new_page()
    page.goto(f"{rp.url}/#/connexion")
    page.get_by_role("link", name=PSC_BUTTON).click()
    provider_login(page, "f:psc:inconnu")
    expect(page.get_by_role("heading", name="Connexion impossible")).to_be_visible()
    expect(page.locator("main")).to_contain_text("aucun professionnel n'est enregistré")
    assert axe_violations(page) == []
    page.get_by_role("link", name="Retour à la page de connexion").click()
    expect(page.get_by_role("link", name=PSC_BUTTON)).to_be_visible()
