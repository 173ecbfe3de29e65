"""The SMTP submission's TLS, against real loopback servers: implicit TLS (SMTPS) works; a
server whose certificate the configured CA did not sign gets nothing (and the failure is
temporary: a configuration fixed later sends it); without the client certificate the server
refuses the handshake; a server that offers no STARTTLS gets nothing in clear text."""

from __future__ import annotations

from collections.abc import Iterator
from email.message import EmailMessage

import pytest
from pydantic import ValidationError

from server.transmissions import mssante
from server.transmissions.settings import TransmissionSettings
from tests.server.transmissions.conftest import DOMAIN, SENDER
from tests.server.transmissions.pki import Pki
from tests.server.transmissions.smtp_server import SmtpServer

TO = [f"dest@{DOMAIN}"]


def _message() -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = SENDER
    msg["To"] = TO[0]
    msg["Subject"] = "test"
    msg["Message-ID"] = f"<tls-test@{DOMAIN}>"
    msg.set_content("test")
    return msg


def _settings(pki: Pki, port: int, **overrides: object) -> TransmissionSettings:
    values: dict[str, object] = {
        "mss_smtp_host": "127.0.0.1",
        "mss_smtp_port": port,
        "mss_cert": pki.client_cert,
        "mss_key": pki.client_key,
        "mss_ca_file": pki.ca,
        "mss_from": SENDER,
        "transmit_timeout_seconds": 10,
    }
    values.update(overrides)
    return TransmissionSettings.model_validate(values)


@pytest.fixture
def smtps(pki: Pki) -> Iterator[SmtpServer]:
    server = SmtpServer(pki, implicit=True).start()
    yield server
    server.stop()


@pytest.fixture
def starttls(pki: Pki) -> Iterator[SmtpServer]:
    server = SmtpServer(pki).start()
    yield server
    server.stop()


def test_implicit_tls_submission(pki: Pki, smtps: SmtpServer) -> None:
    outcome = mssante.send(_settings(pki, smtps.port, mss_smtp_tls="implicit"), _message(), TO)
    assert outcome.ok, outcome
    assert [r.client_subject for r in smtps.received] == ["fam-les-tilleuls@test.mssante.fr"]


def test_implicit_tls_is_read_from_ppa_mss_smtp_tls(
    pki: Pki, smtps: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The setting as an operator writes it: ``PPA_MSS_SMTP_TLS=implicit`` (default
    ``starttls``, which an SMTPS port does not answer); any other value is refused."""
    for name, value in {
        "PPA_MSS_SMTP_HOST": "127.0.0.1",
        "PPA_MSS_SMTP_PORT": str(smtps.port),
        "PPA_MSS_CERT": str(pki.client_cert),
        "PPA_MSS_KEY": str(pki.client_key),
        "PPA_MSS_CA_FILE": str(pki.ca),
        "PPA_MSS_FROM": SENDER,
        "PPA_TRANSMIT_TIMEOUT_SECONDS": "10",
    }.items():
        monkeypatch.setenv(name, value)
    assert TransmissionSettings().mss_smtp_tls == "starttls"
    monkeypatch.setenv("PPA_MSS_SMTP_TLS", "implicit")
    outcome = mssante.send(TransmissionSettings(), _message(), TO)
    assert outcome.ok, outcome
    assert len(smtps.received) == 1
    monkeypatch.setenv("PPA_MSS_SMTP_TLS", "ssl")
    with pytest.raises(ValidationError, match="mss_smtp_tls"):
        TransmissionSettings()


def test_a_server_certificate_from_another_ca_gets_nothing(pki: Pki, starttls: SmtpServer) -> None:
    outcome = mssante.send(_settings(pki, starttls.port, mss_ca_file=pki.other_ca), _message(), TO)
    assert not outcome.ok
    assert not outcome.permanent
    assert outcome.reason == "SSLCertVerificationError"
    assert starttls.received == []


def test_without_the_client_certificate_the_server_refuses(pki: Pki, starttls: SmtpServer) -> None:
    outcome = mssante.send(
        _settings(pki, starttls.port, mss_cert=None, mss_key=None), _message(), TO
    )
    assert not outcome.ok
    assert not outcome.permanent
    assert starttls.received == []


@pytest.fixture
def clear_only() -> Iterator[SmtpServer]:
    server = SmtpServer(None).start()
    yield server
    server.stop()


def test_a_server_without_starttls_gets_nothing(pki: Pki, clear_only: SmtpServer) -> None:
    """A server that does not offer STARTTLS: nothing is sent in clear text."""
    outcome = mssante.send(_settings(pki, clear_only.port), _message(), TO)
    assert not outcome.ok
    assert outcome.reason == "SMTPNotSupportedError"
    assert clear_only.received == []
