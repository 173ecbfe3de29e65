"""A real SMTP submission server on loopback (aiosmtpd): STARTTLS required, and the TLS handshake
requires a client certificate signed by the test CA. It keeps every message it accepted, with
the client certificate's subject; ``fail_first`` answers 451 (try again later) to that many
DATA commands first; ``fail_always`` answers 451 to every DATA; the addresses in ``refuse`` are
refused at RCPT (550, unknown mailbox)."""

from __future__ import annotations

import email
import email.policy
import socket
import ssl
import threading
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from tests.conftest import free_port
from tests.server.transmissions.pki import Pki


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    client_subject: str


@dataclass
class Handler:
    fail_first: int = 0
    fail_always: bool = False
    refuse: set[str] = field(default_factory=set)
    received: list[Received] = field(default_factory=list)
    data_commands: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(  # noqa: N802 - aiosmtpd hook name
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if address in self.refuse:
            return "550 5.1.1 Mailbox unknown"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802 - aiosmtpd hook name
        with self.lock:
            self.data_commands += 1
            if self.fail_always or self.data_commands <= self.fail_first:
                return "451 4.3.0 Service momentanément indisponible"
        transport: Any = server.transport
        cert = transport.get_extra_info("peercert") if transport else None
        subject = dict(x[0] for x in cert["subject"]).get("commonName", "") if cert else ""
        assert envelope.content is not None
        raw = envelope.content if isinstance(envelope.content, bytes) else envelope.content.encode()
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        with self.lock:
            self.received.append(
                Received(
                    str(envelope.mail_from),
                    list(envelope.rcpt_tos),
                    msg,
                    subject,
                )
            )
        return "250 2.0.0 Message accepté"


def server_context(pki: Pki) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(pki.ca))
    context.load_cert_chain(str(pki.server_cert), str(pki.server_key))
    context.verify_mode = ssl.CERT_REQUIRED
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


class ImplicitTlsController(Controller):
    """SMTPS (TLS from the first byte): aiosmtpd's start-up probe connects with the server's own
    context, which a server requiring client certificates refuses; probe with the client's."""

    def __init__(self, *args: Any, client: ssl.SSLContext, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.client = client

    def _trigger_server(self) -> None:
        with (
            socket.create_connection((self.hostname, self.port), 5.0) as raw,
            self.client.wrap_socket(raw, server_hostname="localhost") as tls,
        ):
            tls.recv(1024)


class SmtpServer:
    def __init__(
        self,
        pki: Pki | None,
        *,
        fail_first: int = 0,
        port: int | None = None,
        implicit: bool = False,
    ) -> None:
        """``pki`` None: a clear-text server offering no STARTTLS."""
        self.handler = Handler(fail_first=fail_first)
        self.port = port or free_port()
        self.controller: Controller
        if pki is None:
            self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)
        elif implicit:
            client = ssl.create_default_context(cafile=str(pki.ca))
            client.load_cert_chain(str(pki.client_cert), str(pki.client_key))
            self.controller = ImplicitTlsController(
                self.handler,
                hostname="127.0.0.1",
                port=self.port,
                ssl_context=server_context(pki),
                client=client,
            )
        else:
            self.controller = Controller(
                self.handler,
                hostname="127.0.0.1",
                port=self.port,
                tls_context=server_context(pki),
                require_starttls=True,
                auth_require_tls=True,
            )

    def start(self) -> SmtpServer:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    @property
    def received(self) -> list[Received]:
        with self.handler.lock:
            return list(self.handler.received)
