"""The notification email's SMTP connection against a real server on loopback (aiosmtpd):
STARTTLS with the server's certificate checked (``PPA_SMTP_CA_FILE``) and authentication
(``PPA_SMTP_USERNAME`` / ``PPA_SMTP_PASSWORD``) over it; a certificate from another CA, or a
server that offers no STARTTLS, gets nothing (neither the password nor the message)."""

from __future__ import annotations

import ssl
import threading
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from pydantic import SecretStr

from server.notifications.mail import smtp_send
from server.notifications.settings import NotificationSettings
from tests.conftest import free_port
from tests.pki import TestAuthority

USERNAME = "ppa-notifications"
PASSWORD = "mot-de-passe-smtp-0123456789"


class Relay:
    """Accepts messages after STARTTLS and a login; records the logins it was offered."""

    def __init__(self) -> None:
        self.received: list[bytes] = []
        self.logins: list[tuple[str, str]] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802 - aiosmtpd hook
        with self.lock:
            self.received.append(bytes(envelope.original_content or b""))
        return "250 OK"

    def authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: object
    ) -> AuthResult:
        assert isinstance(data, LoginPassword)
        login, password = data.login.decode(), data.password.decode()
        with self.lock:
            self.logins.append((login, password))
        return AuthResult(success=(login, password) == (USERNAME, PASSWORD))


def _server_context(authority: TestAuthority) -> ssl.SSLContext:
    issued = authority.issue("smtp.ppa.test", ips=("127.0.0.1",))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(str(issued.cert), str(issued.key))
    return context


def _start(relay: Relay, context: ssl.SSLContext | None) -> tuple[Controller, int]:
    port = free_port()
    if context is None:  # clear text only, offers no STARTTLS
        controller = Controller(relay, hostname="127.0.0.1", port=port)
    else:
        controller = Controller(
            relay,
            hostname="127.0.0.1",
            port=port,
            tls_context=context,
            require_starttls=True,
            authenticator=relay.authenticate,
            auth_require_tls=True,
            auth_required=True,
        )
    controller.start()
    return controller, port


@pytest.fixture(scope="module")
def authorities(tmp_path_factory: pytest.TempPathFactory) -> tuple[TestAuthority, TestAuthority]:
    ours = TestAuthority(tmp_path_factory.mktemp("smtp-ca"), "AC du relais SMTP")
    other = TestAuthority(tmp_path_factory.mktemp("other-ca"), "AC inconnue")
    return ours, other


@pytest.fixture
def relay(authorities: tuple[TestAuthority, TestAuthority]) -> Iterator[tuple[Relay, int]]:
    found = Relay()
    controller, port = _start(found, _server_context(authorities[0]))
    yield found, port
    controller.stop()


def _settings(port: int, ca: Path | None) -> NotificationSettings:
    return NotificationSettings(
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_starttls=True,
        smtp_ca_file=None if ca is None else str(ca),
        smtp_username=USERNAME,
        smtp_password=SecretStr(PASSWORD),
        smtp_timeout_seconds=10,
    )


def _message() -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "PPA collaboratif <notifications@ppa.example.test>"
    msg["To"] = "infirmier@example.org"
    msg["Subject"] = "[PPA] Le PPA a été validé"
    msg["Message-ID"] = "<tls-test@ppa.example.test>"
    msg.set_content("Bonjour.")
    return msg


def test_starttls_checks_the_certificate_then_logs_in(
    relay: tuple[Relay, int], authorities: tuple[TestAuthority, TestAuthority]
) -> None:
    server, port = relay
    smtp_send(_settings(port, authorities[0].ca), _message())
    assert server.logins == [(USERNAME, PASSWORD)]
    (raw,) = server.received
    assert b"Message-ID: <tls-test@ppa.example.test>" in raw


def test_a_certificate_from_another_ca_gets_neither_password_nor_message(
    relay: tuple[Relay, int], authorities: tuple[TestAuthority, TestAuthority]
) -> None:
    server, port = relay
    with pytest.raises(ssl.SSLCertVerificationError):
        smtp_send(_settings(port, authorities[1].ca), _message())
    # and the system's trust store (no PPA_SMTP_CA_FILE) does not know the test CA either
    with pytest.raises(ssl.SSLCertVerificationError):
        smtp_send(_settings(port, None), _message())
    assert server.logins == []
    assert server.received == []


def test_a_server_without_starttls_gets_nothing_in_clear_text(
    authorities: tuple[TestAuthority, TestAuthority],
) -> None:
    clear = Relay()
    controller, port = _start(clear, None)
    try:
        with pytest.raises(Exception, match="STARTTLS"):
            smtp_send(_settings(port, authorities[0].ca), _message())
    finally:
        controller.stop()
    assert clear.received == []
