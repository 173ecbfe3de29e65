"""The browser's session: an HttpOnly cookie (id hashed at rest) instead of a bearer token, idle
and absolute ends, a new id at login and every few minutes of use, logout, the CSRF token, the
``Secure`` rule and ``PPA_PASSWORD_LOGIN``."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from pydantic import SecretStr

from server.auth import browser_session
from server.config import Settings
from server.db import utcnow
from server.models import BrowserSession
from tests.collab.app import sync_engine
from tests.conftest import (
    Api,
    DatabaseInfo,
    LiveServer,
    browser_login,
    make_settings,
)

COORD = "coordinatrice"
PERSON = "usager"
ADMIN = "admin"
CSRF_REFUSED = {
    "error": "Forbidden",
    "detail": "Jeton anti-falsification (CSRF) manquant ou invalide : "
    "rechargez la page et réessayez.",
}
ENDED = {"error": "Unauthenticated", "detail": "Session expirée ou fermée : reconnectez-vous."}


@pytest.fixture
def passwords(demo: dict[str, Any]) -> dict[str, str]:
    return {login["username"]: login["password"] for login in demo["logins"]}


@pytest.fixture
def browser(live_server: LiveServer) -> Iterator[Api]:
    api = Api(live_server)
    yield api
    api.client.close()


class Clock:
    """The sessions' clock, moved by the test."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return utcnow() + self.offset

    def advance(self, **delta: float) -> None:
        self.offset += timedelta(**delta)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(browser_session, "utcnow", clock)
    return clock


def set_cookie(response: httpx.Response) -> SimpleCookie:
    cookie: SimpleCookie = SimpleCookie()
    for header in response.headers.get_list("set-cookie"):
        cookie.load(header)
    return cookie


def session_rows(database: DatabaseInfo) -> list[Any]:
    with sync_engine(database) as engine, engine.connect() as conn:
        return list(conn.execute(sa.text("SELECT * FROM browser_sessions")).mappings())


def cookie_of(api: Api) -> str:
    value = api.client.cookies.get("ppa_session")
    assert value
    return value


def with_cookie(live_server: LiveServer, value: str) -> Api:
    """Another client presenting a given session id (a stale copy of the cookie)."""
    api = Api(live_server)
    api.client.cookies.set("ppa_session", value, domain="127.0.0.1")
    return api


def test_login_sets_an_httponly_lax_cookie_and_no_token(
    browser: Api, passwords: dict[str, str], database: DatabaseInfo
) -> None:
    response = browser.post(
        "/api/auth/login", json={"username": COORD, "password": passwords[COORD]}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"user", "method", "csrf_token", "csrf_header", "expires_at"}
    assert body["user"]["kind"] == "professional"
    assert body["method"] == "password"
    morsel = set_cookie(response)["ppa_session"]
    assert morsel["httponly"] is True
    assert morsel["samesite"] == "lax"
    assert morsel["path"] == "/"
    assert not morsel["secure"]  # http on loopback: the test server (see test_secure_rule)
    assert int(morsel["max-age"]) == 12 * 3600
    # Only the id's SHA-256 is stored; the id is nowhere in the table.
    digest = hashlib.sha256(morsel.value.encode()).hexdigest()
    rows = [row for row in session_rows(database) if row["token_hash"] == digest]
    assert len(rows) == 1
    assert morsel.value not in repr(session_rows(database))
    me = browser.get("/api/auth/me")
    assert me.status_code == 200
    assert me.json()["id"] == body["user"]["id"]
    session = browser.get("/api/auth/session").json()
    assert session["csrf_token"] == body["csrf_token"]


def test_form_login_and_refusals(browser: Api, passwords: dict[str, str]) -> None:
    ok = browser.post("/api/auth/login", data={"username": PERSON, "password": passwords[PERSON]})
    assert ok.status_code == 200
    assert ok.json()["user"]["kind"] == "person"
    wrong = browser.post("/api/auth/login", json={"username": PERSON, "password": "x"})
    assert wrong.status_code == 401
    assert wrong.json()["detail"] == "Identifiant ou mot de passe incorrect, ou compte désactivé."
    assert "set-cookie" not in wrong.headers
    assert browser.post("/api/auth/login", json={"username": PERSON}).status_code == 422
    foreign = browser.post(
        "/api/auth/login",
        json={"username": PERSON, "password": passwords[PERSON]},
        headers={"Origin": "https://evil.example"},
    )
    assert foreign.status_code == 403
    assert "set-cookie" not in foreign.headers


def test_without_a_session_the_session_route_is_401(browser: Api) -> None:
    response = browser.get("/api/auth/session")
    assert response.status_code == 401
    assert response.json()["error"] == "Unauthenticated"


def test_a_bearer_token_needs_no_csrf_token(api_as: Any) -> None:
    response = api_as(COORD).post("/api/auth/logout")
    assert response.status_code == 200
    assert api_as(COORD).get("/api/auth/me").status_code == 200


def test_writes_need_the_csrf_token_reads_do_not(browser: Api, passwords: dict[str, str]) -> None:
    csrf = browser_login(browser, COORD, passwords[COORD])
    del browser.client.headers["X-CSRF-Token"]
    body = {"first_name": "Test", "last_name": "Csrf", "profession": "Éducateur"}
    assert browser.get("/api/persons").status_code == 200
    missing = browser.post("/api/professionals", json=body)
    assert (missing.status_code, missing.json()) == (403, CSRF_REFUSED)
    wrong = browser.post("/api/professionals", json=body, headers={"X-CSRF-Token": "0" * 64})
    assert (wrong.status_code, wrong.json()) == (403, CSRF_REFUSED)
    ok = browser.post("/api/professionals", json=body, headers={"X-CSRF-Token": csrf})
    assert ok.status_code == 201, ok.text


def test_logout_revokes_the_session_and_clears_the_cookie(
    live_server: LiveServer, browser: Api, passwords: dict[str, str], database: DatabaseInfo
) -> None:
    csrf = browser_login(browser, COORD, passwords[COORD])
    stolen = cookie_of(browser)
    session_id = browser.get("/api/auth/session").json()
    refused = browser.post("/api/auth/logout", headers={"X-CSRF-Token": "x"})
    assert (refused.status_code, refused.json()) == (403, CSRF_REFUSED)
    response = browser.post("/api/auth/logout", headers={"X-CSRF-Token": csrf})
    assert response.status_code == 200
    assert response.json() == {"redirect_url": None}
    assert set_cookie(response)["ppa_session"].value == ""
    assert browser.client.cookies.get("ppa_session") is None
    assert browser.get("/api/auth/me").status_code == 401
    replay = with_cookie(live_server, stolen)
    assert replay.get("/api/auth/me").json() == ENDED
    assert replay.get("/api/auth/session").status_code == 401
    replay.client.close()
    digest = hashlib.sha256(stolen.encode()).hexdigest()
    assert digest not in [row["token_hash"] for row in session_rows(database)]
    with sync_engine(database) as engine, engine.connect() as conn:
        logouts = conn.execute(
            sa.text("SELECT actor_id FROM audit_events WHERE action = 'auth.logout'")
        ).all()
    assert (session_id["user"]["id"],) in logouts


def test_login_always_issues_a_new_id(
    live_server: LiveServer, browser: Api, passwords: dict[str, str]
) -> None:
    browser.client.cookies.set("ppa_session", "chosen-by-an-attacker", domain="127.0.0.1")
    browser_login(browser, COORD, passwords[COORD])
    first = cookie_of(browser)
    assert first != "chosen-by-an-attacker"
    browser_login(browser, PERSON, passwords[PERSON])
    second = cookie_of(browser)
    assert second != first
    assert browser.get("/api/auth/me").json()["kind"] == "person"
    old = with_cookie(live_server, first)
    assert old.get("/api/auth/me").status_code == 401  # the first session ended
    old.client.close()


def test_idle_timeout(browser: Api, passwords: dict[str, str], clock: Clock) -> None:
    browser_login(browser, COORD, passwords[COORD])
    for _ in range(3):  # each use pushes the idle end further
        clock.advance(minutes=14)
        assert browser.get("/api/auth/me").status_code == 200
    clock.advance(minutes=30, seconds=1)
    response = browser.get("/api/auth/me")
    assert (response.status_code, response.json()) == (401, ENDED)
    assert browser.client.cookies.get("ppa_session") is None  # cleared by the answer


def test_absolute_timeout(browser: Api, passwords: dict[str, str], clock: Clock) -> None:
    browser_login(browser, COORD, passwords[COORD])
    for _ in range(47):
        clock.advance(minutes=15)
        assert browser.get("/api/auth/me").status_code == 200
    clock.advance(minutes=15)  # 12 hours after the login, in use all along
    response = browser.get("/api/auth/me")
    assert (response.status_code, response.json()) == (401, ENDED)


def test_sessions_that_ended_unseen_are_deleted_at_the_next_login(
    live_server: LiveServer, passwords: dict[str, str], database: DatabaseInfo
) -> None:
    forgotten, later = Api(live_server), Api(live_server)
    browser_login(forgotten, COORD, passwords[COORD])
    digest = hashlib.sha256(cookie_of(forgotten).encode()).hexdigest()
    assert digest in [row["token_hash"] for row in session_rows(database)]
    # Unused for 31 minutes and never presented again (moved in the table: a shifted clock
    # would end every other test's sessions too).
    with sync_engine(database) as engine, engine.begin() as conn:
        conn.execute(
            sa.update(BrowserSession)
            .where(BrowserSession.token_hash == digest)
            .values(last_seen_at=utcnow() - timedelta(minutes=31))
        )
    browser_login(later, PERSON, passwords[PERSON])
    assert digest not in [row["token_hash"] for row in session_rows(database)]
    forgotten.client.close()
    later.client.close()


def test_the_id_rotates_while_in_use_with_a_short_grace(
    live_server: LiveServer, browser: Api, passwords: dict[str, str], clock: Clock
) -> None:
    csrf = browser_login(browser, COORD, passwords[COORD])
    first = cookie_of(browser)
    clock.advance(minutes=10)
    assert "set-cookie" not in browser.get("/api/auth/me").headers
    clock.advance(minutes=6)
    rotated = browser.get("/api/auth/me")
    assert rotated.status_code == 200
    second = set_cookie(rotated)["ppa_session"].value
    assert second not in ("", first)
    assert cookie_of(browser) == second
    # A request sent with the previous id while the new one travelled still passes...
    late = with_cookie(live_server, first)
    response = late.get("/api/auth/me")
    assert response.status_code == 200
    assert "set-cookie" not in response.headers  # ...and does not rotate again
    # ...for a short while only.
    clock.advance(seconds=61)
    assert late.get("/api/auth/me").status_code == 401
    late.client.close()
    assert browser.get("/api/auth/me").status_code == 200
    assert browser.get("/api/auth/session").json()["csrf_token"] == csrf  # the CSRF token stays


def test_parallel_requests_due_for_rotation_all_pass_and_rotate_once(
    live_server: LiveServer, browser: Api, passwords: dict[str, str], clock: Clock
) -> None:
    browser_login(browser, COORD, passwords[COORD])
    first = cookie_of(browser)
    clock.advance(minutes=16)
    tabs = [with_cookie(live_server, first) for _ in range(6)]
    with ThreadPoolExecutor(len(tabs)) as pool:
        responses = list(pool.map(lambda tab: tab.get("/api/auth/me"), tabs))
    assert [response.status_code for response in responses] == [200] * len(tabs)
    new_ids = [
        set_cookie(response)["ppa_session"].value
        for response in responses
        if "set-cookie" in response.headers
    ]
    assert len(new_ids) == 1
    assert with_cookie(live_server, new_ids[0]).get("/api/auth/me").status_code == 200
    for tab in tabs:
        tab.client.close()


def test_deactivation_ends_the_sessions(
    browser: Api, api_as: Any, passwords: dict[str, str], database: DatabaseInfo
) -> None:
    browser_login(browser, "infirmier", passwords["infirmier"])
    user_id = browser.get("/api/auth/me").json()["id"]
    admin = api_as(ADMIN)
    try:
        assert admin.patch(f"/api/users/{user_id}", json={"is_active": False}).status_code == 200
        assert browser.get("/api/auth/me").status_code == 401
        assert not [row for row in session_rows(database) if row["user_id"] == user_id]
    finally:
        assert admin.patch(f"/api/users/{user_id}", json={"is_active": True}).status_code == 200


@pytest.mark.parametrize(
    ("public_url", "secure"),
    [
        (None, False),
        ("http://127.0.0.1:8000", False),
        ("http://localhost:8000/", False),
        ("http://[::1]:8000", False),
        ("https://127.0.0.1:8443", True),
        ("https://ppa.example.org", True),
        ("http://ppa.example.org", True),
        ("http://10.0.0.5:8000", True),
    ],
)
def test_secure_rule(public_url: str | None, secure: bool) -> None:
    settings = Settings(public_url=public_url, secret_key="k" * 32)
    assert browser_session.cookie_secure(settings) is secure
    _name, value = browser_session._cookie_header(settings, "abc", 60)
    morsel = SimpleCookie(value.decode())[browser_session.cookie_name(settings)]
    assert bool(morsel["secure"]) is secure
    assert morsel.key == ("__Host-ppa_session" if secure else "ppa_session")
    assert (morsel["httponly"], morsel["samesite"], morsel["path"]) == (True, "lax", "/")
    assert "domain" not in value.decode().lower()


def test_host_0_0_0_0_without_public_url_is_secure() -> None:
    assert browser_session.cookie_secure(Settings(host="0.0.0.0", secret_key="k" * 32))  # noqa: S104


def test_password_login_default_follows_the_issuer() -> None:
    assert Settings().password_login_enabled()
    # an issuer needs its client (server/config.py)
    psc = Settings(
        oidc_issuer="https://psc.example", oidc_client_id="ppa", oidc_client_secret=SecretStr("s")
    )
    assert not psc.password_login_enabled()
    assert psc.model_copy(update={"password_login": True}).password_login_enabled()
    assert not Settings(password_login=False).password_login_enabled()


@pytest.fixture(scope="module")
def no_password_server(
    database: DatabaseInfo, tmp_path_factory: pytest.TempPathFactory, demo: dict[str, Any]
) -> Iterator[LiveServer]:
    data: Path = tmp_path_factory.mktemp("no-password")
    server = LiveServer(make_settings(database, data, password_login=False))
    server.start()
    yield server
    server.stop()


@pytest.mark.parametrize("route", ["/api/auth/login", "/api/auth/token"])
def test_password_login_off_leaves_professionals_to_psc(
    route: str, no_password_server: LiveServer, passwords: dict[str, str]
) -> None:
    with httpx.Client(base_url=no_password_server.url, timeout=30) as client:
        refused = client.post(route, data={"username": COORD, "password": passwords[COORD]})
        assert refused.status_code == 403
        assert refused.json() == {
            "error": "Forbidden",
            "detail": "La connexion par mot de passe des professionnels est désactivée : "
            "connectez-vous avec Pro Santé Connect.",
        }
        assert "set-cookie" not in refused.headers
        for username in (PERSON, "aidant", ADMIN, "auditeur"):
            ok = client.post(route, data={"username": username, "password": passwords[username]})
            assert ok.status_code == 200, (username, ok.text)
