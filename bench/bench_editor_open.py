"""Opening the editor on a large PPA (issue 17: 40 objectives, 70 actions) against the demo's.

Run: ``.venv/bin/python bench/bench_editor_open.py [--repeat 3]``. Seeds the demo in a temporary
SQLite database, serves the app with uvicorn on loopback, creates the large PPA from the demo's
content (tests/e2e/large_ppa.py), and drives Debian's Chromium (headless, Playwright) as the
coordinator: time from navigation to the editor's "Enregistré", the number of form controls
built and the page's height, then the time of 10 keystrokes typed into the projet de vie (until
"Enregistré" again). Median of ``repeat`` openings each.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from demo_server import demo_server
from playwright.sync_api import Page, expect, sync_playwright

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.e2e.large_ppa import large_content  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CONTROLS = ".ppa-form input, .ppa-form textarea, .ppa-form select, .ppa-form button"


def _login(page: Page, base: str, username: str, password: str) -> None:
    page.goto(f"{base}/#/")
    page.get_by_label("Identifiant").fill(username)
    page.get_by_label("Mot de passe").fill(password)
    page.get_by_role("button", name="Se connecter").click()
    expect(page.locator("h1")).not_to_have_text("Connexion", timeout=15000)


def _open(page: Page, base: str, ppa_id: str) -> tuple[float, int, int]:
    page.goto(f"{base}/#/")
    expect(page.locator(".ppa-link").first).to_be_visible()
    t0 = time.perf_counter()
    page.goto(f"{base}/#/ppa/{ppa_id}")
    expect(page.locator(".save-state")).to_have_text("Enregistré", timeout=30000)
    expect(page.locator(".ppa-form")).to_have_attribute("aria-busy", "false")
    elapsed = (time.perf_counter() - t0) * 1000
    controls = page.locator(CONTROLS).count()
    height = int(page.evaluate("document.documentElement.scrollHeight"))
    return elapsed, controls, height


def _type(page: Page) -> float:
    page.locator('[data-field="projet_de_vie"] textarea').click()
    page.keyboard.press("Control+End")
    t0 = time.perf_counter()
    page.keyboard.type(" abcdefghi")
    expect(page.locator(".save-state")).to_have_text("Enregistré", timeout=30000)
    return (time.perf_counter() - t0) * 1000


def _run(base: str, demo: dict[str, Any], repeat: int) -> None:
    passwords = {login["username"]: login["password"] for login in demo["logins"]}
    with httpx.Client(base_url=base, timeout=60) as client:
        token = client.post(
            "/api/auth/token",
            data={"username": "coordinatrice", "password": passwords["coordinatrice"]},
        )
        token.raise_for_status()
        client.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
        content = client.get(f"/api/ppas/{demo['ppa_id']}").json()["content"]
        created = client.post(
            f"/api/persons/{demo['person_id']}/ppas",
            json={"title": "Grand PPA", "content": large_content(content)},
        )
        created.raise_for_status()
        demo_copy = client.post(
            f"/api/persons/{demo['person_id']}/ppas", json={"title": "Démo", "content": content}
        )
        demo_copy.raise_for_status()
    cases = {"demo": demo_copy.json()["id"], "40 obj. / 70 actions": created.json()["id"]}
    print(f"uptime: {os.popen('uptime').read().strip()}")  # noqa: S605 - a fixed command
    print(f"{'PPA':<22} {'open (ms)':>10} {'controls':>9} {'height (px)':>12} {'10 keys (ms)':>13}")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="fr-FR")
        page = context.new_page()
        _login(page, base, "coordinatrice", passwords["coordinatrice"])
        for name, ppa_id in cases.items():
            opens, keys = [], []
            controls = height = 0
            for _ in range(repeat):
                elapsed, controls, height = _open(page, base, ppa_id)
                opens.append(elapsed)
                keys.append(_type(page))
            print(
                f"{name:<22} {statistics.median(opens):>10.0f} {controls:>9} {height:>12} "
                f"{statistics.median(keys):>13.0f}"
            )
        browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with demo_server() as (base, demo):
        _run(base, demo, args.repeat)


if __name__ == "__main__":
    main()
