"""SMS through a real HTTP gateway on loopback: the mobile verified by a code (hashed at rest),
then an event's SMS: at most 160 characters, no health data, the gateway's bearer token."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from server.models.notifications import Notice, NotificationContact
from server.models.person import Role
from server.notifications.sms import GSM_BASIC, GSM_EXTENSION, gsm7, septets, text_of
from tests.server.exports_api.support import new_validated, wait_for
from tests.server.notifications.support import Gateway, ModuleServer, module_server

TOKEN = "jeton-passerelle-sms-0123456789"
MOBILE = "+33612345678"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ModuleServer, Gateway]]:
    gateway = Gateway()
    gateway.thread.start()
    try:
        with module_server(
            tmp_path_factory.mktemp("sms"),
            sms_url=gateway.url,
            sms_token=TOKEN,
            notify_poll_seconds=0.5,
        ) as ms:
            yield ms, gateway
    finally:
        gateway.server.shutdown()
        gateway.server.server_close()  # shutdown() stops the loop; only this closes the socket


def test_mobile_verified_then_sms_without_health_data(world: tuple[ModuleServer, Gateway]) -> None:
    ms, gateway = world
    nurse = ms.api_as("infirmier")
    assert nurse.put("/api/me/mobile", json={"mobile": "0612"}).status_code == 422
    response = nurse.put("/api/me/mobile", json={"mobile": MOBILE})
    assert response.status_code == 202, response.text
    auth, body = gateway.received[-1]
    assert auth == f"Bearer {TOKEN}"
    assert body["to"] == MOBILE
    match = re.search(r"\b(\d{6})\b", body["text"])
    assert match is not None
    code = match.group(1)
    # the code is stored hashed only
    engine = sa.create_engine(ms.database.sync_url)
    with engine.connect() as conn:
        stored = conn.execute(sa.text("SELECT mobile_code_hash FROM notification_contacts")).all()
    engine.dispose()
    assert all(code not in (row[0] or "") for row in stored)
    # SMS cannot be chosen before the number is verified; a wrong code is refused
    sms_choice = {
        "natures": [
            {"nature": "ppa.validated", "channels": ["app", "sms"], "frequency": "immediate"}
        ]
    }
    assert nurse.put("/api/me/notification-preferences", json=sms_choice).status_code == 409
    wrong = "000000" if code != "000000" else "111111"
    refused = nurse.post("/api/me/mobile/verify", json={"code": wrong})
    assert refused.status_code == 422
    assert "code incorrect" in refused.json()["detail"]
    verified = nurse.post("/api/me/mobile/verify", json={"code": code})
    assert verified.status_code == 200, verified.text
    assert verified.json() == {"mobile": MOBILE, "verified": True}
    assert nurse.put("/api/me/notification-preferences", json=sms_choice).status_code == 200

    before = len(gateway.received)
    v = new_validated(ms.api_as, ms.demo)

    def validated_sms() -> list[dict[str, Any]]:
        return [b for _a, b in gateway.received[before:] if "validé" in b["text"]]

    (sms,) = wait_for(validated_sms)
    assert sms["to"] == MOBILE
    assert len(sms["text"]) <= 160
    assert sms["text"] == (
        f"PPA : Le PPA a été validé (J. D.) https://ppa.example.test/#/ppa/{v.ppa_id}/version/{v.validated}"
    )
    assert "DUPONT" not in sms["text"]
    # traced once the gateway accepted it: the recipient, nature, channel, object; no content
    nurse_id = nurse.get("/api/auth/me").json()["id"]

    def traces() -> list[tuple[Any, ...]]:
        engine = sa.create_engine(ms.database.sync_url)
        with engine.connect() as conn:
            found = conn.execute(
                sa.text(
                    "SELECT actor_type, actor_id, object_type, object_id, person_id "
                    "FROM audit_events WHERE action = 'notify.sms.ppa.validated'"
                )
            ).all()
        engine.dispose()
        return [tuple(r) for r in found]

    rows = wait_for(traces)  # recorded in the transaction after the gateway's answer
    assert rows == [("notification", nurse_id, "version", f"{v.ppa_id}/{v.validated}", v.person_id)]


def _code_sent_earlier(ms: ModuleServer, username: str, seconds: int) -> None:
    """As if the last code had been sent ``seconds`` earlier (no waiting in a test)."""
    user_id = ms.api_as(username).get("/api/auth/me").json()["id"]
    contact = NotificationContact
    engine = sa.create_engine(ms.database.sync_url)
    with engine.begin() as conn:
        expires = conn.execute(
            sa.select(contact.mobile_code_expires_at).where(contact.user_id == user_id)
        ).scalar_one()
        assert expires is not None
        conn.execute(
            sa.update(contact)
            .where(contact.user_id == user_id)
            .values(mobile_code_expires_at=expires - timedelta(seconds=seconds))
        )
    engine.dispose()


def test_verification_codes_are_limited(world: tuple[ModuleServer, Gateway]) -> None:
    """One code a minute, five in 24 hours: each is an SMS paid for and five more guesses."""
    ms, gateway = world
    psy = ms.api_as("psychologue")
    before = len(gateway.received)
    assert psy.put("/api/me/mobile", json={"mobile": "+33611111111"}).status_code == 202
    again = psy.put("/api/me/mobile", json={"mobile": "+33622222222"})
    assert again.status_code == 429, again.text
    assert again.json()["error"] == "TooManyRequests"
    assert "attendez une minute" in again.json()["detail"]
    assert 0 < int(again.headers["Retry-After"]) <= 60
    assert len(gateway.received) == before + 1  # no SMS for the refused request
    for number in range(2, 6):  # a minute later each time: codes 2 to 5 go
        _code_sent_earlier(ms, "psychologue", 61)
        response = psy.put("/api/me/mobile", json={"mobile": f"+3361111111{number}"})
        assert response.status_code == 202, response.text
    _code_sent_earlier(ms, "psychologue", 61)
    sixth = psy.put("/api/me/mobile", json={"mobile": "+33633333333"})
    assert sixth.status_code == 429, sixth.text
    assert "5 codes en 24 heures" in sixth.json()["detail"]
    assert 23 * 3600 < int(sixth.headers["Retry-After"]) <= 24 * 3600
    assert len(gateway.received) == before + 5
    assert [b["to"] for _a, b in gateway.received[before:]][-1] == "+33611111115"
    # another account is not held back
    assert ms.api_as("aidant").put("/api/me/mobile", json={"mobile": MOBILE}).status_code == 202


def _notice(nature: str, initials: str | None = "J. D.") -> Notice:
    return Notice(nature=nature, ppa_id="p-1", version_number=3, initials=initials)


def test_an_sms_is_one_segment_in_the_gsm_alphabet() -> None:
    """One character outside GSM 03.38 (``ô``, ``…``) makes the whole SMS UCS-2: 70 characters
    a segment, 3 SMS for 160. Every text is written in the GSM alphabet, at most 160 septets."""
    url = "https://ppa.example.test"
    role = text_of([_notice("cercle.role_changed")], url, None)
    assert role == (
        "PPA : Le role d'un membre du cercle a changé (J. D.) "
        "https://ppa.example.test/#/ppa/p-1/version/3"
    )
    person = text_of([_notice("ppa.review_due")], url, Role.PERSON)
    assert person.startswith("PPA : Bientot, nous allons revoir votre projet ensemble. https")
    long_url = "https://ppa.example.test/" + "chemin/" * 12
    cut = text_of([_notice("ppa.iteration")], long_url.rstrip("/"), None)
    assert cut.endswith("... " + long_url + "#/ppa/p-1/diff/2/3")
    for text in (role, person, cut, gsm7("Nœud « tôt » – ça…€")):
        assert all(c in GSM_BASIC or c in GSM_EXTENSION for c in text), text
        assert septets(text) <= 160
    assert gsm7("Nœud « tôt » – ça…€") == 'Noeud " tot " - ca...€'
    assert septets("€[]") == 6  # the extension table: 2 septets each
    digest = text_of([_notice("ppa.validated"), _notice("mention")], url, None)
    assert digest == "PPA : 2 nouvelles notifications https://ppa.example.test"


def _sms_for_validations(ms: ModuleServer, gateway: Gateway, username: str, mobile: str) -> str:
    """``username`` verifies ``mobile`` and chooses SMS for validations; their user id. (Each
    test sets up its own account: with several workers, the module's tests run apart.)"""
    api = ms.api_as(username)
    assert api.put("/api/me/mobile", json={"mobile": mobile}).status_code == 202
    body = next(b for _a, b in reversed(gateway.received) if b["to"] == mobile)
    match = re.search(r"\b(\d{6})\b", body["text"])
    assert match is not None
    assert api.post("/api/me/mobile/verify", json={"code": match.group(1)}).status_code == 200
    choice = {
        "natures": [
            {"nature": "ppa.validated", "channels": ["app", "sms"], "frequency": "immediate"}
        ]
    }
    assert api.put("/api/me/notification-preferences", json=choice).status_code == 200
    user_id: str = api.get("/api/auth/me").json()["id"]
    return user_id


def test_a_number_the_gateway_refuses_is_not_retried(world: tuple[ModuleServer, Gateway]) -> None:
    """The gateway answers 422 (a number it will never take): the SMS is ``failed`` after that
    one attempt, not retried for hours. (A 401, 5xx or timeout is retried.)"""
    ms, gateway = world
    mobile = "+33644444444"
    user_id = _sms_for_validations(ms, gateway, "ergotherapeute", mobile)
    gateway.answer = 422
    try:
        before = len(gateway.received)
        new_validated(ms.api_as, ms.demo)

        def outcome() -> list[tuple[Any, ...]]:
            engine = sa.create_engine(ms.database.sync_url)
            with engine.connect() as conn:
                rows = conn.execute(
                    sa.text(
                        "SELECT status, attempts, last_error FROM notification_outbox "
                        "WHERE channel = 'sms' AND recipient_id = :u AND attempts > 0 "
                        "AND status != 'sent'"
                    ),
                    {"u": user_id},
                ).all()
            engine.dispose()
            return [tuple(r) for r in rows]

        assert wait_for(outcome) == [("failed", 1, "HTTPStatusError 422")]
        assert [b["to"] for _a, b in gateway.received[before:]].count(mobile) == 1
    finally:
        gateway.answer = 200
