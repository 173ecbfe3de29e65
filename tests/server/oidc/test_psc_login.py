"""A whole Pro Santé Connect login against a real OpenID provider, with an HTTP client that
follows the redirects as a browser does."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import create_engine, select
from structlog.testing import capture_logs

from server.demo.seed import PROFESSIONALS, STRUCTURES
from server.models import BrowserSession, ExternalIdentity, User
from tests.conftest import DatabaseInfo, LiveServer
from tests.server.oidc.op import (
    FORM_ACTION,
    UNKNOWN_RPPS,
    ProviderProcess,
    Walker,
    national_id,
    query_of,
)

pytestmark = pytest.mark.node


def test_login_opens_a_session_of_the_professional(
    walker: Callable[[], Walker], rp: LiveServer, op: ProviderProcess, database: DatabaseInfo
) -> None:
    browser = walker()
    page = browser.start("#/ppa/abc")
    assert str(page.url).startswith(op.issuer)
    authorization = query_of(browser.visited[0])
    assert authorization["code_challenge_method"] == "S256"
    assert authorization["acr_values"] == "eidas2"
    assert {"state", "nonce", "code_challenge"} <= set(authorization)
    assert "code_verifier" not in authorization
    answer = browser.finish(browser.callback_url(browser.authenticate(page, "f:psc:infirmier")))
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == "/#/ppa/abc"
    assert "ppa_session=" in answer.headers["set-cookie"]
    engine = create_engine(database.sync_url)
    with engine.connect() as connection:
        user_id = connection.scalar(select(User.id).where(User.username == "infirmier"))
        methods = connection.scalars(
            select(BrowserSession.method).where(BrowserSession.user_id == user_id)
        ).all()
        identity = connection.execute(
            select(ExternalIdentity.provider, ExternalIdentity.subject).where(
                ExternalIdentity.issuer == op.issuer
            )
        ).all()
    engine.dispose()
    assert "psc" in methods
    assert ("psc", "f:psc:infirmier") in identity
    session = browser.session()
    assert session["method"] == "psc"
    assert session["user"]["display_name"] == "Karim Benali"
    assert browser.http.get(f"{rp.url}/api/auth/me").json()["id"] == user_id


def test_the_practice_given_by_the_provider_is_shown(
    walker: Callable[[], Walker], rp: LiveServer
) -> None:
    browser = walker()
    assert browser.login("f:psc:infirmier").status_code == 303
    practice = browser.http.get(f"{rp.url}/api/auth/psc/practice").json()
    assert practice["given_name"] == "Karim"
    assert practice["family_name"] == "Benali"
    assert practice["national_id"].startswith("8")
    [exercise] = practice["exercises"]
    assert exercise["profession"] == "Infirmier"
    [activity] = exercise["activities"]
    assert activity["structure"] == "Foyer d'accueil médicalisé Les Tilleuls"
    assert activity["finess"] == STRUCTURES["fam"][0]


def test_the_practice_needs_a_provider_session(
    walker: Callable[[], Walker], rp: LiveServer
) -> None:
    assert walker().http.get(f"{rp.url}/api/auth/psc/practice").status_code == 401


def test_private_key_jwt_and_json_userinfo(keyed_rp: LiveServer) -> None:
    """The client authenticated by a signed assertion (no secret), userinfo read as JSON."""
    browser = Walker(keyed_rp.url)
    try:
        page = browser.start()
        assert query_of(browser.visited[0])["acr_values"] == "eidas1"  # the default
        answer = browser.finish(
            browser.callback_url(browser.authenticate(page, "f:psc:infirmier", "eidas1"))
        )
    finally:
        browser.close()
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == "/#/"


LOGOUT_FORM = re.compile(r'<form[^>]*action="([^"]+)"[^>]*>.*?name="xsrf" value="([^"]+)"', re.S)


def test_logout_ends_the_session_here_and_at_the_provider(
    walker: Callable[[], Walker], rp: LiveServer, op: ProviderProcess
) -> None:
    browser = walker()
    assert browser.login("f:psc:infirmier").status_code == 303
    assert browser.start().is_redirect  # the provider's session is open: no form asked
    answer = browser.logout()
    assert answer.status_code == 200, answer.text
    assert 'ppa_session=""' in answer.headers["set-cookie"]
    url = answer.json()["redirect_url"]
    assert url.startswith(f"{op.issuer}/session/end?")
    query = query_of(url)
    assert query["id_token_hint"].count(".") == 2
    assert query["post_logout_redirect_uri"] == f"{rp.url}/"
    page = browser.http.get(url)  # the provider's logout page (it submits itself)
    form = LOGOUT_FORM.search(page.text)
    assert form, page.text
    done = browser.http.post(form.group(1), data={"xsrf": form.group(2), "logout": "yes"})
    assert done.is_redirect
    assert done.headers["location"] == f"{rp.url}/"
    assert FORM_ACTION.search(browser.start().text)  # the provider asks again: session over


def test_a_password_session_logs_out_here_only(
    walker: Callable[[], Walker], rp: LiveServer, demo: dict[str, Any]
) -> None:
    """An administrator's password login (no provider session): nowhere to go after logout."""
    browser = walker()
    password = next(login["password"] for login in demo["logins"] if login["username"] == "admin")
    response = browser.http.post(
        f"{rp.url}/api/auth/login", json={"username": "admin", "password": password}
    )
    assert response.status_code == 200, response.text
    answer = browser.logout()
    assert answer.status_code == 200
    assert answer.json() == {"redirect_url": None}


def test_logs_hold_no_identity_code_or_token(
    walker: Callable[[], Walker], rp: LiveServer, caplog: pytest.LogCaptureFixture
) -> None:
    with capture_logs() as structured, caplog.at_level(logging.DEBUG):
        refused = walker().login("f:psc:inconnu")
        browser = walker()
        callback = browser.callback_url(browser.authenticate(browser.start(), "f:psc:infirmier"))
        assert browser.finish(callback).status_code == 303
        logout = browser.logout().json()
    assert refused.status_code == 403
    text = " ".join(str(entry) for entry in structured)
    # httpx/httpcore are the test's own browser (its URLs carry the code and the state).
    server_records = [r for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))]
    text += " ".join(f"{record.name} {record.getMessage()}" for record in server_records)
    infirmier = next(pro for pro in PROFESSIONALS if pro.key == "infirmier")
    assert infirmier.rpps is not None
    for forbidden in (
        national_id(UNKNOWN_RPPS),
        national_id(infirmier.rpps),
        infirmier.rpps,
        "Inconnue",
        infirmier.last_name,
        query_of(callback)["code"],
        query_of(callback)["state"],
        query_of(logout["redirect_url"])["id_token_hint"],
    ):
        assert forbidden not in text
    assert "oidc.login_refused" in text
