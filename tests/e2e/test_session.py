"""In Chromium, the login leaves no token where a script of the page could read it: the session is
an ``HttpOnly`` cookie, the WebSocket opens without a token in its URL, changes carry the CSRF
token, and the logout button ends the session on the server."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Request, WebSocket, expect

from tests.conftest import Api, LiveServer
from tests.e2e.conftest import PageFactory, wait_saved

pytestmark = pytest.mark.browser

READABLE_STATE = """async () => {
    const dump = (storage) => Object.fromEntries(
        Array.from({length: storage.length}, (_, i) => storage.key(i))
            .map((key) => [key, storage.getItem(key)]))
    const databases = indexedDB.databases ? (await indexedDB.databases()).map((d) => d.name) : []
    return {
        session: dump(sessionStorage),
        local: dump(localStorage),
        cookie: document.cookie,
        databases,
    }
}"""
"""Everything a script of the page can read that outlives a variable."""


def test_no_token_in_javascript_storage_after_login(
    open_as: PageFactory,
    fresh_ppa: Callable[..., str],
    live_server: LiveServer,
) -> None:
    ppa_id = fresh_ppa()
    sockets: list[WebSocket] = []
    page = open_as("coordinatrice", "#/")
    page.on("websocket", lambda socket: sockets.append(socket))
    page.goto(f"{live_server.url}/#/ppa/{ppa_id}")
    expect(page.locator(".ppa-form")).to_have_attribute("aria-busy", "false")
    wait_saved(page)

    cookies = {c["name"]: c for c in page.context.cookies()}
    session = cookies["ppa_session"]  # http on loopback: no __Host- prefix, no Secure
    assert session["httpOnly"] is True
    assert session["sameSite"] == "Lax"
    assert session["path"] == "/"
    secret = session["value"]
    assert len(secret) >= 40

    state: dict[str, Any] = page.evaluate(READABLE_STATE)
    assert state["cookie"] == ""  # nothing readable by scripts: the session cookie is HttpOnly
    assert secret not in str(state)
    everything = " ".join(f"{k}={v}" for k, v in (state["session"] | state["local"]).items())
    for needle in ("token", "Bearer", "eyJ", "ppa_"):  # names, bearer/JWT/API token shapes
        assert needle not in everything, state
    assert sockets
    assert all("token" not in socket.url for socket in sockets), [s.url for s in sockets]


def test_changes_carry_the_csrf_token_and_logout_ends_the_session(
    open_as: PageFactory,
    live_server: LiveServer,
    api_as: Callable[[str], Api],
) -> None:
    page = open_as("coordinatrice", "#/")
    writes: list[Request] = []
    page.on(
        "request",
        lambda request: writes.append(request) if request.method in ("POST", "PATCH") else None,
    )
    secret = next(c["value"] for c in page.context.cookies() if c["name"] == "ppa_session")
    # The list asks each person's PPAs (every test's persons, on the shared server): once it has
    # them, the logout is not queued behind them in the browser's six connections.
    loading = page.get_by_text("Chargement des personnes accompagnées…")
    expect(loading).to_be_hidden(timeout=30_000)
    page.get_by_role("button", name="Se déconnecter").click()
    expect(page.get_by_role("heading", name="Connexion")).to_be_visible(timeout=15_000)
    logout = next(r for r in writes if r.url.endswith("/api/auth/logout"))
    assert len(logout.headers.get("x-csrf-token", "")) == 64
    assert logout.headers.get("authorization") is None
    answer = logout.response()
    assert answer is not None
    assert answer.status == 200
    assert [c for c in page.context.cookies() if c["name"] == "ppa_session"] == []
    # the server ended it: the old cookie opens nothing any more
    stale = Api(live_server)
    stale.client.cookies.set("ppa_session", secret, domain="127.0.0.1")
    assert stale.get("/api/auth/me").status_code == 401
    stale.client.close()
    page.reload()
    expect(page.get_by_role("heading", name="Connexion")).to_be_visible()
