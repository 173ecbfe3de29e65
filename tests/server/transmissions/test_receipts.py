"""Read receipts (RFC 8098 MDN) read back over IMAP over TLS from a real dovecot on loopback
(client certificate required): ``processed`` moves a sent transmission to ``recu``,
``displayed`` to ``lu``, ``processed/Error: code^libellé`` to ``erreur`` with that code and label;
an MDN of someone else's message changes nothing."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from server.models.transmissions import TransmissionStatus
from server.transmissions import mdn as mdn_reader
from server.transmissions.settings import TransmissionSettings
from tests.conftest import Api, DatabaseInfo, LiveServer, login, make_settings
from tests.server.exports_api.support import COORD, new_validated, wait_for
from tests.server.transmissions import imap_server
from tests.server.transmissions.conftest import DOMAIN, SENDER, transmission_settings
from tests.server.transmissions.fhir_server import FhirServer
from tests.server.transmissions.imap_server import Dovecot
from tests.server.transmissions.pki import Pki
from tests.server.transmissions.smtp_server import SmtpServer

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not imap_server.available(), reason="dovecot not installed (root needed)"),
]


@pytest.fixture(scope="module")
def dovecot(pki: Pki) -> Iterator[Dovecot]:
    server = Dovecot(pki).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def mdn_server(
    database: DatabaseInfo,
    tmp_path_factory: pytest.TempPathFactory,
    pki: Pki,
    smtp: SmtpServer,
    dmp: FhirServer,
    dovecot: Dovecot,
    demo: dict[str, Any],
) -> Iterator[LiveServer]:
    server = LiveServer(make_settings(database, Path(tmp_path_factory.mktemp("mdndata"))))
    server.app.state.transmission_settings = transmission_settings(
        pki,
        smtp.port,
        dmp.url,
        mss_imap_host="127.0.0.1",
        mss_imap_port=dovecot.port,
        mss_imap_user=imap_server.USER,
        mss_imap_password=imap_server.PASSWORD,
        mss_imap_poll_seconds=0.3,
    )
    server.start()
    yield server
    server.stop()


def mdn(original: str, disposition: str, n: int) -> bytes:
    return (
        f"From: destinataire{n}@{DOMAIN}\r\n"
        f"To: {SENDER}\r\n"
        "Subject: =?utf-8?q?Accus=C3=A9_de_r=C3=A9ception?=\r\n"
        f"Message-ID: <mdn-{n}@{DOMAIN}>\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=disposition-notification; boundary="b"\r\n'
        "\r\n--b\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\n"
        "Accusé de réception.\r\n"
        "--b\r\n"
        "Content-Type: message/disposition-notification\r\n\r\n"
        f"Reporting-UA: mail.{DOMAIN}; MSSante\r\n"
        f"Final-Recipient: rfc822;destinataire{n}@{DOMAIN}\r\n"
        f"Original-Message-ID: {original}\r\n"
        f"Disposition: {disposition}\r\n"
        "\r\n--b--\r\n"
    ).encode()


def test_mdns_move_the_statuses(
    mdn_server: LiveServer,
    api_as: Callable[[str], Api],
    demo: dict[str, Any],
    dovecot: Dovecot,
) -> None:
    password = next(u["password"] for u in demo["logins"] if u["username"] == COORD)
    coord = Api(mdn_server.url, login(mdn_server.url, COORD, password))
    v = new_validated(api_as, demo)
    url = f"/api/ppas/{v.ppa_id}/versions/{v.validated}/transmissions"
    rows = []
    for name in ("recu", "lu", "erreur"):
        created = coord.post(
            url, json={"channel": "mssante", "to": [{"address": f"{name}@{DOMAIN}"}]}
        )
        assert created.status_code == 202, created.text
        rows.append(created.json())

    def statuses() -> dict[str, dict[str, Any]]:
        return {r["id"]: r for r in coord.get(url).json()}

    wait_for(lambda: all(r["status"] == "envoye" for r in statuses().values()))
    received, read, failed = rows
    dovecot.deliver(
        mdn("<not-ours@elsewhere.fr>", "automatic-action/MDN-sent-automatically; displayed", 0)
    )
    dovecot.deliver(
        mdn(received["message_id"], "automatic-action/MDN-sent-automatically; processed", 1)
    )
    dovecot.deliver(mdn(read["message_id"], "manual-action/MDN-sent-manually; displayed", 2))
    dovecot.deliver(
        mdn(
            failed["message_id"],
            "automatic-action/MDN-sent-automatically; processed/Error: 12^Pièce jointe illisible",
            3,
        )
    )
    final = wait_for(
        lambda: (
            (got := statuses())[failed["id"]]["status"] == "erreur"
            and got[read["id"]]["status"] == "lu"
            and got[received["id"]]["status"] == "recu"
            and got
        )
    )
    assert final[read["id"]]["read_at"] is not None
    assert final[received["id"]]["received_at"] is not None
    assert final[failed["id"]]["error_code"] == "12"
    assert final[failed["id"]]["error_label"] == "Pièce jointe illisible"
    assert final[failed["id"]]["status_label"] == "Erreur"
    coord.client.close()


@pytest.fixture
def dovecot_external(pki: Pki) -> Iterator[Dovecot]:
    server = Dovecot(pki, external=True).start()
    yield server
    server.stop()


def test_without_a_password_the_certificate_logs_in_sasl_external(
    pki: Pki, dovecot_external: Dovecot
) -> None:
    """No ``PPA_MSS_IMAP_USER``: the mailbox is opened with SASL EXTERNAL, the structure's
    certificate alone (a server offering only EXTERNAL); the MDNs read are flagged seen."""
    settings = TransmissionSettings(
        mss_imap_host="127.0.0.1",
        mss_imap_port=dovecot_external.port,
        mss_cert=pki.client_cert,
        mss_key=pki.client_key,
        mss_ca_file=pki.ca,
        transmit_timeout_seconds=20,
    )
    dovecot_external.deliver(b"From: x@example.fr\r\nSubject: pas un MDN\r\n\r\nBonjour\r\n")
    dovecot_external.deliver(mdn("<ppa-1@test.mssante.fr>", "automatic-action; processed", 1))
    found = mdn_reader.fetch_mdns(settings)
    assert [mdn_reader.parse_mdn(raw) for _, raw in found] == [
        mdn_reader.Disposition("<ppa-1@test.mssante.fr>", TransmissionStatus.RECU)
    ], dovecot_external.log()
    mdn_reader.mark_seen(settings, [imap_id for imap_id, _ in found])
    assert mdn_reader.fetch_mdns(settings) == []


@pytest.fixture
def mailbox(pki: Pki) -> Iterator[Dovecot]:
    server = Dovecot(pki).start()
    yield server
    server.stop()


def test_a_message_removed_between_reading_and_flagging_hides_no_receipt(
    pki: Pki, mailbox: Dovecot
) -> None:
    """The receipts are read, then flagged seen over another connection: meanwhile someone
    deletes an earlier message and a new receipt arrives. The receipts read are flagged, the new
    one is read next time (message numbers shift under an expunge; UIDs do not)."""
    settings = TransmissionSettings(
        mss_imap_host="127.0.0.1",
        mss_imap_port=mailbox.port,
        mss_imap_user=imap_server.USER,
        mss_imap_password=imap_server.PASSWORD,
        mss_cert=pki.client_cert,
        mss_key=pki.client_key,
        mss_ca_file=pki.ca,
        transmit_timeout_seconds=20,
    )

    def originals() -> list[str]:
        found = [mdn_reader.parse_mdn(raw) for _, raw in mdn_reader.fetch_mdns(settings)]
        return [d.original_message_id for d in found if d is not None]

    mailbox.deliver(b"From: x@example.fr\r\nSubject: autre courrier\r\n\r\nBonjour\r\n")
    assert originals() == []  # the mailbox has seen it: message 1
    mailbox.deliver(mdn("<ppa-a@test.mssante.fr>", "automatic-action; processed", 1))
    read = mdn_reader.fetch_mdns(settings)  # message 2
    assert len(read) == 1
    with mdn_reader._mailbox(settings) as other:  # another client deletes message 1
        _, found = other.search(None, "SUBJECT", "autre")
        other.store(found[0].decode(), "+FLAGS", "\\Deleted")
        other.expunge()
    mailbox.deliver(mdn("<ppa-b@test.mssante.fr>", "automatic-action; processed", 2))
    mdn_reader.mark_seen(settings, [imap_id for imap_id, _ in read])
    assert originals() == ["<ppa-b@test.mssante.fr>"], mailbox.log()
