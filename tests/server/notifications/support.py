"""A real SMTP server on loopback (aiosmtpd) collecting what it accepts, an HTTP SMS gateway on
loopback, and a module server."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from tests.conftest import Api, LiveServer, free_port, login, make_database, make_settings
from tests.server import helpers


@dataclass
class Received:
    rcpt: list[str]
    raw: bytes

    @property
    def message(self) -> EmailMessage:
        parsed = BytesParser(policy=policy.default).parsebytes(self.raw)
        assert isinstance(parsed, EmailMessage)
        return parsed


@dataclass
class SmtpSink:
    """Accepts every message (or answers ``451`` while ``refuse`` > 0, counting down); answers
    ``550`` to the addresses in ``unknown`` (a final refusal), counting them in ``rejected``."""

    received: list[Received] = field(default_factory=list)
    refuse: int = 0
    refused: int = 0
    delay: float = 0.0
    """Seconds each message takes to be accepted (a slow server: work spread over time)."""
    unknown: set[str] = field(default_factory=set)
    rejected: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(  # noqa: N802 - aiosmtpd hook name
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        with self.lock:
            if address in self.unknown:
                self.rejected.append(address)
                return "550 5.1.1 Adresse inconnue"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        if self.delay:
            await asyncio.sleep(self.delay)
        with self.lock:
            if self.refuse > 0:
                self.refuse -= 1
                self.refused += 1
                return "451 4.3.0 Réessayez plus tard"
            raw = envelope.original_content or b""
            self.received.append(Received([str(r) for r in envelope.rcpt_tos], bytes(raw)))
        return "250 OK"

    def to(self, address: str) -> list[Received]:
        with self.lock:
            return [r for r in self.received if address in r.rcpt]


@contextmanager
def smtp_server() -> Iterator[tuple[SmtpSink, int]]:
    sink = SmtpSink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield sink, port
    finally:
        controller.stop()


@dataclass
class ModuleServer:
    server: LiveServer
    settings: Any
    database: Any
    demo: dict[str, Any]
    api_as: Callable[[str], Api]


@contextmanager
def module_server(tmp: Path, **notification: Any) -> Iterator[ModuleServer]:
    """A live server of its own (fresh database, the demo) whose notification settings are
    ``notification`` (``PPA_SMTP_*``...): the session's server does not send email."""
    from server.demo import seed_demo_database
    from server.migrate import upgrade
    from server.notifications.settings import NotificationSettings

    database, drop = make_database(tmp)
    upgrade(database.url)
    settings = make_settings(
        database,
        tmp / "data",
        webhook_allow_private_networks=True,
        public_url="https://ppa.example.test",
    )
    server = LiveServer(settings)
    server.app.state.notification_settings = NotificationSettings(**notification)
    settings.public_url = "https://ppa.example.test"  # LiveServer keeps host/port for itself
    server.start()
    apis: dict[str, Api] = {}
    # build_cercle caches the session database's ids: this server has its own.
    saved = dict(helpers._cache)
    helpers._cache.clear()
    try:
        demo: dict[str, Any] = asyncio.run(seed_demo_database(settings)).as_dict()
        passwords = {row["username"]: row["password"] for row in demo["logins"]}

        def api_as(username: str) -> Api:
            if username not in apis:
                if username == "esms":
                    apis[username] = Api(server, demo["esms"]["token"])
                else:
                    apis[username] = Api(server, login(server.url, username, passwords[username]))
            return apis[username]

        yield ModuleServer(server, settings, database, demo, api_as)
    finally:
        for api in apis.values():
            api.client.close()
        server.stop()
        drop()
        helpers._cache.clear()
        helpers._cache.update(saved)


class Gateway:
    """A real HTTP SMS gateway on loopback: keeps each request's Authorization and JSON body."""

    def __init__(self) -> None:
        self.received: list[tuple[str, dict[str, Any]]] = []
        self.answer = 200
        """The status the gateway answers (422: a number it will never take)."""
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                gateway.received.append((self.headers.get("Authorization", ""), json.loads(body)))
                self.send_response(gateway.answer)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.port = free_port()
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/sms"
