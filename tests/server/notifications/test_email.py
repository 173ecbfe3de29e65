"""Email over real SMTP (aiosmtpd on loopback): an event's immediate message, parsed.

No health data: the PPA's content, the person's name and the PPA's title never appear; the
nature, the initials, the actor, the time and a link do. Text and HTML parts, Message-ID,
List-Unsubscribe with one-click POST (RFC 8058) that turns the channel off; every message
sent is traced in the audit trail (never its content).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast
from urllib.parse import urlsplit

import httpx
import pytest
import sqlalchemy as sa

from server.models import User
from server.models.notifications import Notice, NotificationOutbox
from server.models.person import Role
from server.notifications import sms
from server.notifications.delivery import Sender
from server.notifications.settings import NotificationSettings
from tests.server.exports_api.support import COORD, Validated, new_validated, wait_for
from tests.server.notifications.support import (
    ModuleServer,
    Received,
    SmtpSink,
    module_server,
    smtp_server,
)

NURSE_EMAIL = "infirmier@example.org"


@pytest.fixture(scope="module")
def mailing(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ModuleServer, SmtpSink]]:
    with (
        smtp_server() as (sink, port),
        module_server(
            tmp_path_factory.mktemp("email"),
            smtp_host="127.0.0.1",
            smtp_port=port,
            smtp_starttls=False,
            mail_from="PPA collaboratif <notifications@ppa.example.test>",
            notify_poll_seconds=0.5,
            notify_retry_base_seconds=0.2,
        ) as ms,
    ):
        yield ms, sink


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


@dataclass
class Sent:
    ms: ModuleServer
    sink: SmtpSink
    v: Validated
    received: Received


@pytest.fixture(scope="module")
def sent(mailing: tuple[ModuleServer, SmtpSink]) -> Sent:
    """The nurse chose immediate email for validations; the coordinator validates a PPA."""
    ms, sink = mailing
    nurse = ms.api_as("infirmier")
    response = nurse.put(
        "/api/me/notification-preferences",
        json={
            "email": NURSE_EMAIL,
            "natures": [
                {"nature": "ppa.validated", "channels": ["app", "email"], "frequency": "immediate"}
            ],
        },
    )
    assert response.status_code == 200, response.text
    v = new_validated(ms.api_as, ms.demo, opposed=("ergotherapeute",))

    def validated_mail() -> Any:
        return [r for r in sink.to(NURSE_EMAIL) if "validé" in r.message["Subject"]]

    (received,) = wait_for(validated_mail)
    return Sent(ms, sink, v, received)


def test_immediate_email_headers_and_parts(sent: Sent) -> None:
    msg = sent.received.message
    assert msg["Subject"] == "[PPA] Le PPA a été validé"
    assert msg["From"] == "PPA collaboratif <notifications@ppa.example.test>"
    assert msg["To"] == NURSE_EMAIL
    assert msg["Message-ID"].endswith("@ppa.example.test>")
    assert msg["List-Unsubscribe"].startswith(
        "<https://ppa.example.test/api/notifications/unsubscribe/"
    )
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert msg.get_content_type() == "multipart/alternative"
    link = f"https://ppa.example.test/#/ppa/{sent.v.ppa_id}/version/{sent.v.validated}"
    coord_name = sent.ms.api_as(COORD).get("/api/auth/me").json()["display_name"]
    for part in _parts(msg):
        assert "Le PPA a été validé" in part
        assert "J. D." in part  # the person's initials, never the name
        assert coord_name in part
        assert link in part
    # the actor and the opposed member got nothing of it: the validation went to the nurse
    validated = [r for r in sent.sink.received if "validé" in r.message["Subject"]]
    assert [r.rcpt for r in validated] == [[NURSE_EMAIL]]


def _parts(msg: Any) -> list[str]:
    text_part = msg.get_body(("plain",))
    html_part = msg.get_body(("html",))
    assert text_part is not None
    assert html_part is not None
    return [text_part.get_content(), html_part.get_content()]


def test_email_holds_no_health_data(sent: Sent) -> None:
    msg = sent.received.message
    raw = sent.received.raw.decode("utf-8", "replace")
    decoded = "".join(_parts(msg)) + str(msg["Subject"])
    coord_name = sent.ms.api_as(COORD).get("/api/auth/me").json()["display_name"]
    forbidden = {s for s in _strings(sent.v.content.model_dump(mode="json")) if len(s) >= 12}
    forbidden -= {coord_name}
    forbidden |= {"DUPONT", "Jean Paul", "PPA exports"}
    assert len(forbidden) > 10
    leaked = [s for s in forbidden if s in decoded or s in raw]
    assert leaked == []


def test_one_click_unsubscribe(sent: Sent) -> None:
    ms = sent.ms
    nurse = ms.api_as("infirmier")
    path = urlsplit(sent.received.message["List-Unsubscribe"].strip("<>")).path
    page = httpx.get(f"{ms.server.url}{path}", timeout=30)
    assert page.status_code == 200
    assert "<form" in page.text  # a GET (a link checker) changes nothing
    assert "email" in _channels(nurse)["ppa.validated"]
    done = httpx.post(
        f"{ms.server.url}{path}",
        content=b"List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        timeout=30,
    )
    assert done.status_code == 200, done.text
    assert _channels(nurse)["ppa.validated"] == ["app"]
    forged = httpx.post(f"{ms.server.url}{path[:-3]}xyz", timeout=30)
    assert forged.status_code == 404


def _channels(api: Any) -> dict[str, list[str]]:
    prefs = api.get("/api/me/notification-preferences").json()["natures"]
    return {p["nature"]: p["channels"] for p in prefs}


def test_email_sent_is_audited(sent: Sent) -> None:
    """Who (the recipient), nature and channel, the object; never content."""
    engine = sa.create_engine(sent.ms.database.sync_url)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT actor_type, actor_id, object_type, object_id, person_id "
                "FROM audit_events WHERE action = 'notify.email.ppa.validated'"
            )
        ).all()
    engine.dispose()
    nurse_id = sent.ms.api_as("infirmier").get("/api/auth/me").json()["id"]
    v = sent.v
    assert [tuple(r) for r in rows] == [
        ("notification", nurse_id, "version", f"{v.ppa_id}/{v.validated}", v.person_id)
    ]


def test_times_are_written_in_the_services_zone() -> None:
    """A service in La Réunion (``PPA_NOTIFY_TIMEZONE=Indian/Reunion``, UTC+4) writes its
    times there, in both parts; Paris is only the default."""
    at = datetime(2027, 1, 12, 14, 5, tzinfo=UTC)
    notice = Notice(
        id="n-1", nature="ppa.validated", ppa_id="p-1", version_number=2, initials="J. D.",
        actor_name="Claire Martin", created_at=at,
    )  # fmt: skip
    outbox = NotificationOutbox(id="o-1", frequency="immediate")
    user = User(id="u-1", kind="professional")

    def parts(**zone: Any) -> list[str]:
        return _parts(_sender(**zone)._email(outbox, user, NURSE_EMAIL, [notice], at))

    for part in parts(notify_timezone="Indian/Reunion"):
        assert "le 12/01/2027 à 18:05" in part
    for part in parts():
        assert "le 12/01/2027 à 15:05" in part


def _sender(**settings: Any) -> Sender:
    """A sender whose messages are built, not sent (no database, no HTTP)."""
    return Sender(
        cast(Any, None),
        NotificationSettings(smtp_host="smtp.invalid", **settings),
        service_secret="secret-de-test-0123456789",
        public_url="https://ppa.example.test",
        http=cast(Any, None),
    )


def test_short_sentences_and_the_person_not_named_to_herself() -> None:
    """Plain French for the person: short sentences, and no "(personne J. D.)" about herself;
    the aidant is told whom it concerns; a notice about nobody says nothing of "le service"."""
    at = datetime(2027, 1, 12, 14, 5, tzinfo=UTC)
    outbox = NotificationOutbox(id="o-1", frequency="immediate")

    def text(kind: str, nature: str = "ppa.validated", initials: str | None = "J. D.") -> str:
        notice = Notice(
            id="n-1", nature=nature, ppa_id="p-1", version_number=2, initials=initials,
            actor_name="Claire Martin", created_at=at,
        )  # fmt: skip
        user = User(id="u-1", kind=kind)
        parts = _parts(_sender()._email(outbox, user, NURSE_EMAIL, [notice], at))
        assert "(le service)" not in "".join(parts)
        return parts[0]

    person = text("person")
    assert "Votre projet est validé. Vous pouvez le relire.\nPar Claire Martin, le 12/01" in person
    assert "J. D." not in person
    aidant = text("aidant")
    assert "Vous pouvez le relire. Cela concerne J. D.\nPar Claire Martin" in aidant
    assert "Le PPA a été validé (personne J. D.).\nPar Claire Martin" in text("professional")
    failed = text("admin", "esms.delivery_failed", None)
    assert "définitivement.\nPar Claire Martin" in failed
    assert sms.text_of(
        [Notice(nature="ppa.validated", ppa_id="p", initials="J. D.")], "https://x.fr", Role.PERSON
    ) == ("PPA : Votre projet est validé. Vous pouvez le relire. https://x.fr/#/ppa/p")
