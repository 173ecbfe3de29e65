"""Every way a Pro Santé Connect login must fail does, on a French page and without a session:
forged or replayed returns, tokens a faulty or hostile provider would send, a professional
unknown here, an authentication level too weak."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, select

from server.models import AuditEvent, BrowserSession, ExternalIdentity
from server.oidc import flow
from tests.conftest import DatabaseInfo, LiveServer
from tests.server.oidc.op import UNKNOWN_RPPS, ProviderProcess, Walker, national_id, query_of

pytestmark = pytest.mark.node

STATE_REFUSED = "Cette connexion n'a pas été commencée dans ce navigateur"
NOT_VERIFIED = "La réponse de Pro Santé Connect n'a pas pu être vérifiée"


def assert_refused(answer: httpx.Response, status: int, reason: str, sentence: str) -> None:
    """A French page, the reason's code for support, and no session cookie."""
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("text/html")
    assert '<html lang="fr">' in answer.text
    assert sentence in answer.text
    assert f"<code>{reason}</code>" in answer.text
    assert "ppa_session" not in answer.headers.get("set-cookie", "")


def with_query(url: str, **changes: str) -> str:
    query = {**query_of(url), **changes}
    return str(httpx.URL(url.split("?")[0], params=query))


def test_a_forged_state_is_refused_and_leaves_the_real_one_usable(
    walker: Callable[[], Walker],
) -> None:
    browser = walker()
    callback = browser.callback_url(browser.authenticate(browser.start(), "f:psc:infirmier"))
    forged = with_query(callback, state="etat-invente-par-un-attaquant")
    assert_refused(browser.finish(forged), 400, "state_unknown", STATE_REFUSED)
    assert browser.finish(callback).status_code == 303


def test_a_return_is_used_once(walker: Callable[[], Walker]) -> None:
    browser = walker()
    callback = browser.callback_url(browser.authenticate(browser.start(), "f:psc:infirmier"))
    assert browser.finish(callback).status_code == 303
    assert_refused(browser.finish(callback), 400, "state_unknown", STATE_REFUSED)


def test_a_return_in_another_browser_is_refused(walker: Callable[[], Walker]) -> None:
    """Login CSRF: a victim's browser handed the attacker's return does not log in."""
    attacker, victim = walker(), walker()
    callback = attacker.callback_url(attacker.authenticate(attacker.start(), "f:psc:infirmier"))
    assert_refused(victim.finish(callback), 400, "state_other_browser", STATE_REFUSED)


def test_a_replayed_code_is_refused_by_the_provider(walker: Callable[[], Walker]) -> None:
    browser = walker()
    used = browser.callback_url(browser.authenticate(browser.start(), "f:psc:infirmier"))
    assert browser.finish(used).status_code == 303
    sent = len(browser.visited)
    browser.start()  # a new login: a state of its own, sent to the provider
    fresh_state = query_of(browser.visited[sent])["state"]
    replay = with_query(used, state=fresh_state)
    answer = browser.finish(replay)
    assert_refused(answer, 400, "code_refused", "a refusé ce code de connexion")


@pytest.mark.parametrize(
    ("mode", "reason"),
    [
        ("wrong_nonce", "wrong_nonce"),
        ("wrong_aud", "wrong_audience"),
        ("expired", "expired"),
        ("alg_none", "alg_none"),
        ("unknown_key", "unknown_signing_key"),
    ],
)
def test_an_id_token_that_must_not_be_believed_is_refused(
    walker: Callable[[], Walker], op: ProviderProcess, mode: str, reason: str
) -> None:
    browser = walker()
    callback = browser.callback_url(browser.authenticate(browser.start(), "f:psc:infirmier"))
    op.tamper(mode)
    assert_refused(browser.finish(callback), 502, reason, NOT_VERIFIED)


def test_an_unknown_professional_gets_a_french_page_and_no_account(
    walker: Callable[[], Walker], op: ProviderProcess, database: DatabaseInfo
) -> None:
    answer = walker().login("f:psc:inconnu")
    assert_refused(answer, 403, "unknown_professional", "aucun professionnel n'est enregistré")
    assert national_id(UNKNOWN_RPPS) in answer.text
    engine = create_engine(database.sync_url)
    with engine.connect() as connection:
        identities = connection.scalars(
            select(ExternalIdentity.id).where(ExternalIdentity.subject == "f:psc:inconnu")
        ).all()
        traces = connection.scalars(
            select(AuditEvent.outcome).where(
                AuditEvent.action == "auth.login",
                AuditEvent.object_id == "psc:" + national_id(UNKNOWN_RPPS),
            )
        ).all()
    engine.dispose()
    assert identities == []
    assert "failed" in traces


def test_a_weaker_authentication_level_is_refused(walker: Callable[[], Walker]) -> None:
    answer = walker().login("f:psc:infirmier", acr="eidas1")
    assert_refused(answer, 403, "acr_too_weak", "insuffisant")
    assert "eidas2" in answer.text


def test_a_higher_authentication_level_is_accepted(walker: Callable[[], Walker]) -> None:
    assert walker().login("f:psc:infirmier", acr="eidas3").status_code == 303


def test_a_cancelled_login_says_so(walker: Callable[[], Walker], op: ProviderProcess) -> None:
    """The provider sends the browser back with ``error=access_denied`` (the person cancelled)."""
    browser = walker()
    browser.start()
    state = query_of(browser.visited[0])["state"]
    cancelled = httpx.URL(
        f"{browser.rp_url}/api/auth/psc/callback",
        params={"error": "access_denied", "state": state, "iss": op.issuer},
    )
    assert_refused(browser.finish(str(cancelled)), 403, "provider_access_denied", "annulée")


def test_a_return_naming_another_issuer_is_refused(walker: Callable[[], Walker]) -> None:
    """RFC 9207 (mix-up): the provider says who answers; another name is refused."""
    browser = walker()
    callback = browser.callback_url(browser.authenticate(browser.start(), "f:psc:infirmier"))
    assert query_of(callback)["iss"]
    answer = browser.finish(with_query(callback, iss="https://autre-fournisseur.example"))
    assert_refused(answer, 400, "wrong_issuer_parameter", "ne vient pas de Pro Santé Connect")


def test_signing_key_rotation_is_followed(
    walker: Callable[[], Walker], op: ProviderProcess
) -> None:
    """A login after the provider changed its signing key: the key set is read again."""
    assert walker().login("f:psc:infirmier").status_code == 303  # the old key set is cached
    op.rotate()
    assert walker().login("f:psc:infirmier").status_code == 303


def test_refusals_leave_no_session(
    walker: Callable[[], Walker], rp: LiveServer, database: DatabaseInfo, demo: dict[str, Any]
) -> None:
    engine = create_engine(database.sync_url)

    def sessions() -> int:
        with engine.connect() as connection:
            return len(connection.scalars(select(BrowserSession.id)).all())

    before = sessions()
    walker().login("f:psc:inconnu")
    walker().login("f:psc:infirmier", acr="eidas1")
    assert sessions() == before
    engine.dispose()


def test_logins_under_way_are_bounded(
    walker: Callable[[], Walker], rp: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Starting a login needs no account: a flood of them cannot grow the table for ever."""
    monkeypatch.setattr(flow, "MAX_PENDING", 0)
    answer = walker().http.get(f"{rp.url}/api/auth/psc/login")
    assert_refused(answer, 503, "too_many_pending_logins", "Trop de connexions")


def test_a_provider_error_is_logged_as_a_code_only(
    walker: Callable[[], Walker], op: ProviderProcess
) -> None:
    browser = walker()
    browser.start()
    state = query_of(browser.visited[0])["state"]
    failed = httpx.URL(
        f"{browser.rp_url}/api/auth/psc/callback",
        params={"error": "server_error\n<script>Dupont</script>", "state": state, "iss": op.issuer},
    )
    answer = browser.finish(str(failed))
    assert_refused(answer, 502, "provider_other", "n'a pas pu vous authentifier")
    assert "Dupont" not in answer.text
