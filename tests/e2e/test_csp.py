"""The Content-Security-Policy (no inline script or style) lets the editor and /docs work in
Chromium: nothing is refused, and both pages render."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Browser, ConsoleMessage, expect

from tests.conftest import LiveServer
from tests.e2e.conftest import PageFactory

pytestmark = pytest.mark.browser


def _watch_refusals(page: Any, refusals: list[str]) -> None:
    def on_console(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text or "Refused to" in message.text:
            refusals.append(message.text[:300])

    page.on("console", on_console)


def test_docs_render_under_the_policy(browser: Browser, live_server: LiveServer) -> None:
    context = browser.new_context()
    try:
        page = context.new_page()
        refusals: list[str] = []
        errors: list[str] = []
        _watch_refusals(page, refusals)
        page.on("pageerror", lambda error: errors.append(str(error)))
        requested: list[str] = []
        page.on("request", lambda request: requested.append(request.url))
        response = page.goto(f"{live_server.url}/docs")
        assert response is not None
        assert "script-src 'self'" in response.headers["content-security-policy"]
        expect(page.locator(".opblock").first).to_be_visible(timeout=30_000)
        expect(page.get_by_text("/api/ppas/{ppa_id}", exact=True).first).to_be_visible()
        assert refusals == []
        assert errors == []
        assert all(url.startswith(live_server.url) for url in requested), requested
    finally:
        context.close()


def test_editor_runs_under_the_policy(open_as: PageFactory, demo: dict[str, Any]) -> None:
    refusals: list[str] = []
    page = open_as("coordinatrice", f"#/ppa/{demo['ppa_id']}")
    _watch_refusals(page, refusals)
    page.reload()
    expect(page.locator(".ppa-form")).to_have_attribute("aria-busy", "false")
    assert refusals == []
