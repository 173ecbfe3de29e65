"""A real HTTP webhook receiver for the tests: a tiny Starlette app served by uvicorn on loopback.

It records every request; per delivery (``X-PPA-Delivery``) it can fail the first attempts
(503), and it can hang (never answer until released) to stand for a slow or dead receiver.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from dataclasses import dataclass
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.conftest import free_port


@dataclass(frozen=True)
class Received:
    headers: dict[str, str]
    body: bytes
    answered: int

    @property
    def json(self) -> Any:
        return json.loads(self.body)


class Receiver:
    def __init__(self, fail_attempts: int = 0, hang: bool = False, port: int | None = None) -> None:
        self.fail_attempts = fail_attempts
        self.hang = hang
        self.released = threading.Event()
        self.received: list[Received] = []
        self.arrived = 0
        """Requests that reached the handler (answered or still hanging)."""
        self._attempts: dict[str, int] = {}
        self._lock = threading.Lock()
        self.port = port or free_port()
        app = Starlette(routes=[Route("/hook", self._hook, methods=["POST"])])
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def _hook(self, request: Request) -> Response:
        body = await request.body()
        delivery = request.headers.get("x-ppa-delivery", "")
        with self._lock:
            self.arrived += 1
            self._attempts[delivery] = self._attempts.get(delivery, 0) + 1
            failing = self._attempts[delivery] <= self.fail_attempts
        if self.hang:
            await asyncio.to_thread(self.released.wait)
            return Response(status_code=503)  # too late: the caller is gone
        status = 503 if failing else 204
        with self._lock:
            self.received.append(Received(dict(request.headers), body, status))
        return Response(status_code=status)

    def for_ppa(self, ppa_id: str) -> list[Received]:
        with self._lock:
            return [r for r in self.received if r.json["data"]["ppa_id"] == ppa_id]

    def start(self) -> Receiver:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("receiver did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.released.set()
        self.server.should_exit = True
        self.thread.join(timeout=15)
