"""Browser end-to-end fixtures: Debian's Chromium driven by Playwright for Python.

Chromium is the system one (``/usr/bin/chromium``, installed by ``scripts/bootstrap.sh``); never
``playwright install``. The editor bundle is built from ``editor/web`` when it is missing or older
than its sources (``npm ci`` + ``npm run build``, as ``./serve.sh`` does).

Every test that edits works on a PPA of its own (a copy of the demo PPA), so tests stay
independent of one another and of the order they run in.
"""

from __future__ import annotations

import fcntl
import json
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from editor.collab.room import REPAIRED_NOTICE
from tests.conftest import Api, LiveServer
from tests.server.oidc.fixtures import (  # noqa: F401 - the PSC provider and relying party
    client_key,
    keyed_rp_port,
    op,
    rp,
    rp_port,
)

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "editor" / "web"
DIST_INDEX = WEB / "dist" / "index.html"
AXE_JS = WEB / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SAVED = "Enregistré"
OFFLINE = "Hors ligne - vos modifications seront envoyées"
REPAIRED_TEXT = REPAIRED_NOTICE.message
"""The notice shown when the server's schema guard corrected a write of the page (code
``layout_repaired``): the editor never writes anything the guard has to correct, so every test
fails if one appears."""
_WATCH_REPAIRED_NOTICE = """(notice) => {
    const report = (text) => {
        if (text && text.includes(notice)) window.ppaReportRepairedNotice(text.slice(0, 200))
    }
    new MutationObserver((records) => {
        for (const record of records) {
            if (record.type === 'characterData') report(record.target.data)
            for (const node of record.addedNodes) report(node.textContent)
        }
    }).observe(document, { subtree: true, childList: true, characterData: true })
}"""

PageFactory = Callable[..., Page]


def _bundle_is_stale() -> bool:
    if not DIST_INDEX.is_file() or not AXE_JS.is_file():
        return True
    built = DIST_INDEX.stat().st_mtime
    sources = [WEB / "package-lock.json", WEB / "build.mjs", *(WEB / "src").rglob("*")]
    return any(p.is_file() and p.stat().st_mtime > built for p in sources)


@pytest.fixture(scope="session")
def web_bundle() -> Path:
    # pytest-xdist workers, and the runs of the other backends at the same time, share the
    # bundle: one builds it while the others wait on the lock.
    lock_path = Path(tempfile.gettempdir()) / "ppa-collab-web-bundle.lock"
    with lock_path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        _build_bundle_if_stale()
    return DIST_INDEX


def _build_bundle_if_stale() -> None:
    if _bundle_is_stale():
        npm = shutil.which("npm")
        if npm is None:
            pytest.fail("npm is required to build the browser editor (editor/web)")
        if not (WEB / "node_modules").is_dir() or not AXE_JS.is_file():
            subprocess.run(
                [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=WEB, check=True
            )
        subprocess.run([npm, "run", "--silent", "build"], cwd=WEB, check=True)


@pytest.fixture(scope="module")
def browser(web_bundle: Path, live_server: LiveServer, demo: dict[str, Any]) -> Iterator[Browser]:
    """One Chromium per test module. Playwright's sync API keeps an event loop running while it
    is open, so the fixtures that use ``asyncio.run`` (``demo``) are set up before it, and it is
    closed before other packages' (async) tests run."""
    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is missing: apt-get install chromium (./test.sh does it)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def passwords(demo: dict[str, Any]) -> dict[str, str]:
    return {login["username"]: login["password"] for login in demo["logins"]}


@pytest.fixture
def open_as(
    browser: Browser, live_server: LiveServer, passwords: dict[str, str]
) -> Iterator[PageFactory]:
    """``open_as("coordinatrice", "#/ppa/<id>")``: a new browser context (its own storage, like
    another person's computer), logged in through the login form, on that page."""
    contexts = []
    errors: list[str] = []
    notices: list[str] = []

    def factory(
        username: str,
        where: str = "#/",
        *,
        width: int = 1280,
        height: int = 900,
        wait: bool = True,
    ) -> Page:
        context = browser.new_context(
            viewport={"width": width, "height": height},
            locale="fr-FR",
            timezone_id="Europe/Paris",
        )
        contexts.append(context)
        # every page of the context (also one opened later by the test) reports the notice
        context.expose_binding(
            "ppaReportRepairedNotice",
            lambda _source, text: notices.append(f"{username}: {text}"),
        )
        context.add_init_script(script=f"({_WATCH_REPAIRED_NOTICE})({json.dumps(REPAIRED_TEXT)})")
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(f"{username}: {error}"))
        page.goto(f"{live_server.url}/{where}")
        page.get_by_label("Identifiant").fill(username)
        page.get_by_label("Mot de passe").fill(passwords[username])
        page.get_by_role("button", name="Se connecter").click()
        if wait and where.startswith("#/ppa/"):
            expect(page.locator(".ppa-form")).to_have_attribute("aria-busy", "false")
        elif wait:
            expect(page.locator("h1")).not_to_have_text("Connexion")
        return page

    yield factory
    for context in contexts:
        context.close()
    assert errors == [], f"JavaScript errors in the page: {errors}"
    assert notices == [], f"the server's schema guard corrected a write of the page: {notices}"


@pytest.fixture
def fresh_ppa(api_as: Callable[[str], Api], demo: dict[str, Any]) -> Callable[..., str]:
    """A new draft PPA of the demo person, with the demo PPA's content; returns its id.

    Created with that content rather than from the demo PPA (``previous_ppa_id``), which would
    start a new period without its next review date: the draft is complete, ready to validate.
    """

    def factory(title: str = "PPA de test") -> str:
        api = api_as("coordinatrice")
        content = api.get(f"/api/ppas/{demo['ppa_id']}").json()["content"]
        response = api.post(
            f"/api/persons/{demo['person_id']}/ppas", json={"title": title, "content": content}
        )
        assert response.status_code == 201, response.text
        ppa_id: str = response.json()["id"]
        return ppa_id

    return factory


def content_of(api: Api, ppa_id: str) -> dict[str, Any]:
    response = api.get(f"/api/ppas/{ppa_id}")
    assert response.status_code == 200, response.text
    content: dict[str, Any] = response.json()["content"]
    return content


def save_state(page: Page) -> Any:
    return page.locator(".save-state")


def wait_saved(page: Page) -> None:
    expect(save_state(page)).to_have_text(SAVED)


def text_control(page: Page, field_key: str) -> Any:
    """The input/textarea of a field, by its key (``objectifs/<id>/description``)."""
    return page.locator(f'[data-field="{field_key}"]').locator("textarea, input").first


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """Serious and critical axe-core violations of the page (WCAG 2.x A/AA rules)."""
    # The Content-Security-Policy refuses inline scripts (add_script_tag(path=...) is one): axe
    # is loaded from a same-origin URL that Playwright answers itself (never the server).
    origin = "/".join(page.url.split("/", 3)[:3])
    url = f"{origin}/__e2e__/axe.min.js"
    page.route(url, lambda route: route.fulfill(path=str(AXE_JS), content_type="text/javascript"))
    page.add_script_tag(url=url)
    page.unroute(url)
    result: dict[str, Any] = page.evaluate(
        """async () => await axe.run(document, {
            runOnly: {type: 'tag',
                      values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']},
            resultTypes: ['violations'],
        })"""
    )
    return [
        {
            "id": v["id"],
            "impact": v["impact"],
            "help": v["help"],
            "nodes": [n["target"] for n in v["nodes"]][:5],
        }
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]
