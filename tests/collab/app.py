"""Helpers for the tests of the real app's collaboration endpoint: fresh PPAs through REST,
tokens, the update log read straight from the database, ``ppa serve`` as a subprocess."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
import uvicorn
from pycrdt import Doc

from editor.crdt import doc_to_content
from editor.schema import PPAContent
from server.app import create_app
from tests.conftest import Api, DatabaseInfo, free_port
from tests.server.helpers import Cercle, build_cercle

REPO = Path(__file__).resolve().parents[2]
PPA = str(Path(sys.executable).parent / "ppa")
SERVE_DEADLINE_SECONDS = 120.0
"""How long ``ppa serve`` may take to answer (a deadline for a loaded machine, not a measure)."""


def fresh_ppa(api_as: Any, demo: dict[str, Any], *, opposed: tuple[str, ...] = ()) -> Cercle:
    """A new person and PPA whose cercle has every role (``tests.server.helpers``)."""
    return build_cercle(api_as, demo, opposed=opposed)


def token_of(api_as: Any, username: str) -> str:
    api: Api = api_as(username)
    assert api.token is not None
    return api.token


@dataclass(frozen=True)
class LogRow:
    seq: int
    data: bytes | None
    author: str
    client_ids: str
    size: int


@contextlib.contextmanager
def sync_engine(database: DatabaseInfo) -> Iterator[sa.Engine]:
    engine = sa.create_engine(database.sync_url)
    try:
        yield engine
    finally:
        engine.dispose()


def update_log(database: DatabaseInfo, ppa_id: str) -> list[LogRow]:
    with sync_engine(database) as engine, engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT seq, data, author, client_ids, size FROM ppa_updates "
                "WHERE ppa_id = :p ORDER BY seq"
            ),
            {"p": ppa_id},
        ).all()
    return [LogRow(r.seq, r.data, r.author, r.client_ids, r.size) for r in rows]


def stored_doc(database: DatabaseInfo, ppa_id: str) -> Doc[Any]:
    """The durable document: ``ppa_documents.state`` + every logged update after it, read in
    one statement (one snapshot: a compaction committing between two reads would fold and clear
    rows the second read expects)."""
    with sync_engine(database) as engine, engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT d.state, u.seq, u.data FROM ppa_documents d LEFT JOIN ppa_updates u "
                "ON u.ppa_id = d.ppa_id AND u.seq > d.compacted_seq "
                "WHERE d.ppa_id = :p ORDER BY u.seq"
            ),
            {"p": ppa_id},
        ).all()
    doc: Doc[Any] = Doc()
    doc.apply_update(rows[0].state)
    for row in rows:
        if row.seq is None:
            continue  # no tail
        assert row.data is not None, f"update {row.seq} after the stored state has no bytes"
        doc.apply_update(row.data)
    return doc


def stored_content(database: DatabaseInfo, ppa_id: str) -> PPAContent:
    return doc_to_content(stored_doc(database, ppa_id))


def audit_actions(database: DatabaseInfo, ppa_id: str) -> list[tuple[str, str, str | None]]:
    """(action, outcome, actor id) of every trace on the PPA, oldest first."""
    with sync_engine(database) as engine, engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT action, outcome, actor_id FROM audit_events "
                "WHERE object_id = :p ORDER BY id"
            ),
            {"p": ppa_id},
        ).all()
    return [(r.action, r.outcome, r.actor_id) for r in rows]


class ServeProcess:
    """``ppa serve`` in a subprocess (a real process, to be killed with SIGKILL)."""

    def __init__(
        self, settings: Any, *, port: int | None = None, env: dict[str, str] | None = None
    ) -> None:
        self.settings = settings
        self.port = port or free_port()
        self.env = {
            **os.environ,
            "PPA_DATA_DIR": str(settings.data_dir),
            "PPA_DATABASE_URL": settings.resolved_database_url(),
            "PPA_SECRET_KEY": settings.resolved_secret_key(),
            "PPA_COLLAB_UNLOAD_AFTER_SECONDS": "0.2",
            **(env or {}),
        }
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = Path(settings.data_dir) / f"serve-{self.port}.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws/ppa"

    def start(self) -> None:
        with self.log_path.open("ab") as out:
            self.process = subprocess.Popen(
                [PPA, "serve", "--no-migrate", "--port", str(self.port)],
                cwd=REPO,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + SERVE_DEADLINE_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"ppa serve exited: {self.log_path.read_text()[-2000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/api/health", timeout=1).status_code == 200:
                    return
            time.sleep(0.05)
        raise RuntimeError("ppa serve did not start")

    def kill(self) -> None:
        """SIGKILL: no shutdown hook runs, nothing is flushed."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


async def eventually(
    check: Callable[[], bool | Awaitable[bool]], within: float = 10.0, interval: float = 0.05
) -> None:
    """Poll ``check`` until it holds (for what no event signals: the database, a log file)."""
    deadline = time.monotonic() + within
    while True:
        result = check()
        if not isinstance(result, bool):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"still false after {within} s")
        await asyncio.sleep(interval)


class AppServer:
    """The real app served by uvicorn in this event loop; ``restart`` is a graceful stop (the
    lifespan flushes) followed by a fresh app on the same port."""

    def __init__(self, settings: Any) -> None:
        self.settings = settings
        self.port = free_port()
        self.app: Any = None
        """The running app (its ``state`` holds the collaboration service and the database)."""
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws/ppa"

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self.app = create_app(self.settings)
        config = uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning")
        self._server = uvicorn.Server(config)
        self._task = asyncio.ensure_future(self._server._serve())
        async with asyncio.timeout(20):
            while not self._server.started:
                if self._task.done():
                    self._task.result()
                await asyncio.sleep(0.01)

    async def stop(self) -> None:
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            await self._task
        self._server = None

    async def restart(self) -> None:
        await self.stop()
        await self.start()
