"""The Content-Security-Policy (no inline script or style) lets the editor and /docs work in
Chromium: nothing is refused, and both pages render."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.conftest import LiveServer
from tests.e2e.conftest import PageFactory

pytestmark = pytest.mark.browser


WATCH = """
window.__cspViolations = []
document.addEventListener('securitypolicyviolation', (event) => {
  window.__cspViolations.push(`${event.effectiveDirective} ${event.blockedURI}`.slice(0, 200))
})
"""
"""Every refusal of the policy in the page, as the page itself sees them (DOM events)."""


def violations(page: Page) -> list[str]:
    found: list[str] = page.evaluate("window.__cspViolations")
    return found


def test_docs_render_under_the_policy(browser: Browser, live_server: LiveServer) -> None:
    context = browser.new_context()
    try:
        context.add_init_script(script=WATCH)
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        requested: list[str] = []
        page.on("request", lambda request: requested.append(request.url))
        response = page.goto(f"{live_server.url}/docs")
        assert response is not None
        assert "script-src 'self'" in response.headers["content-security-policy"]
        expect(page.locator(".opblock").first).to_be_visible(timeout=60_000)
        expect(page.get_by_text("/api/ppas/{ppa_id}", exact=True).first).to_be_visible()
        page.locator(".opblock-summary").first.click()  # an operation opens
        expect(page.locator(".opblock-body").first).to_be_visible()
        assert violations(page) == []
        assert errors == []
        assert all(url.startswith(live_server.url) for url in requested), requested
    finally:
        context.close()


def test_editor_runs_under_the_policy(open_as: PageFactory, demo: dict[str, Any]) -> None:
    page = open_as("coordinatrice")
    page.add_init_script(script=WATCH)
    page.goto(page.url.split("#")[0] + f"#/ppa/{demo['ppa_id']}")
    page.reload()
    form = page.locator(".ppa-form")
    expect(form).to_have_attribute("aria-busy", "false", timeout=60_000)
    assert violations(page) == []
