"""A whole Pro Santé Connect login against a real OpenID provider, with an HTTP client that
follows the redirects as a browser does."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import create_engine, select

from server.models import BrowserSession, ExternalIdentity, User
from tests.conftest import DatabaseInfo, LiveServer
from tests.server.oidc.op import ProviderProcess, Walker, query_of

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
