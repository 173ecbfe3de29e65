"""Shared fixtures: a real database (SQLite or PostgreSQL) migrated with Alembic, a real uvicorn
server on loopback, the seeded demo, and logged-in HTTP clients.

``PPA_TEST_DB=sqlite`` (default) or ``PPA_TEST_DB=postgresql`` selects the database; with
PostgreSQL a fresh database is created for the run on 127.0.0.1:5432 (trust auth).
"""

from __future__ import annotations

import asyncio
import os
import re
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

IN_PROCESS = os.environ.get("PPA_TEST_REST_SOCKET", "") != "1"
"""REST tests go through the ASGI app in process unless ``PPA_TEST_REST_SOCKET=1``."""

PG_ADMIN_URL = os.environ.get("PPA_TEST_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _create_pg_database() -> tuple[str, Callable[[], None]]:
    import psycopg

    name = f"ppa_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
        # A commit returns before the server's WAL flush (fsync) on the test databases only:
        # what the tests observe is unchanged (a committed row is visible at once, and stays
        # through any crash of *our* processes the tests cause); only a crash of PostgreSQL or
        # of the machine could lose the last commits, which no test causes. Production keeps
        # the server's own setting.
        conn.execute(f'ALTER DATABASE "{name}" SET synchronous_commit = off')

    def drop() -> None:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    base = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
    return f"{base}/{name}", drop


@dataclass
class DatabaseInfo:
    url: str
    backend: str

    @property
    def sync_url(self) -> str:
        return self.url.replace("+aiosqlite", "").replace("+psycopg", "+psycopg")


def make_database(tmp: Path) -> tuple[DatabaseInfo, Callable[[], None]]:
    backend = os.environ.get("PPA_TEST_DB", "sqlite")
    if backend == "postgresql":
        url, drop = _create_pg_database()
        return DatabaseInfo(url, backend), drop
    if backend != "sqlite":
        raise pytest.UsageError(f"PPA_TEST_DB must be sqlite or postgresql, not {backend!r}")
    path = tmp / f"ppa-{uuid.uuid4().hex[:8]}.sqlite3"
    return DatabaseInfo(f"sqlite+aiosqlite:///{path}", backend), lambda: None


@pytest.fixture(scope="session")
def database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DatabaseInfo]:
    from server.migrate import upgrade

    db, drop = make_database(tmp_path_factory.mktemp("db"))
    upgrade(db.url)
    yield db
    drop()


class LiveServer:
    """A real uvicorn server running the app in a background thread."""

    def __init__(self, settings: Any, port: int | None = None) -> None:
        import uvicorn

        from server.app import create_app
        from server.web.proxy import uvicorn_options

        self.settings = settings
        self.port = port or free_port()
        # Like `ppa serve --port`: the app derives its public URL (agenda feeds) from the
        # address it listens on, unless PPA_PUBLIC_URL is set.
        settings.host, settings.port = "127.0.0.1", self.port
        self.app = create_app(settings)
        config = uvicorn.Config(
            self.app,
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            lifespan="on",
            ws_max_size=16 * 1024 * 1024,
            **uvicorn_options(),  # as `ppa serve`: the app's PPA_FORWARDED_ALLOW_IPS decides
        )
        self.server = uvicorn.Server(config)
        self.loop: asyncio.AbstractEventLoop | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        async def serve() -> None:
            self.loop = asyncio.get_running_loop()
            await self.server.serve()

        with asyncio.Runner(loop_factory=self.server.config.get_loop_factory()) as runner:
            runner.run(serve())

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("test server did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)


def make_settings(database: DatabaseInfo, data_dir: Path, **overrides: Any) -> Any:
    from server.config import Settings

    # Every test logs in from 127.0.0.1 and many fail a login on purpose: one address, whose
    # failures would throttle the rest of the run. Throttling has its own servers in
    # tests/server/test_login_throttle.py.
    overrides.setdefault("login_free_failures", 1_000_000)
    return Settings(
        data_dir=data_dir,
        database_url=database.url,
        secret_key="test-secret-key-not-for-production-0123456789",
        **overrides,
    )


@pytest.fixture(scope="session")
def settings(database: DatabaseInfo, tmp_path_factory: pytest.TempPathFactory) -> Any:
    # The webhook tests' receivers listen on loopback (tests/server/exports_api/
    # test_webhook_addresses.py tests the default, which refuses them).
    return make_settings(
        database, tmp_path_factory.mktemp("data"), webhook_allow_private_networks=True
    )


@pytest.fixture(scope="session")
def live_server(settings: Any) -> Iterator[LiveServer]:
    server = LiveServer(settings)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def demo(live_server: LiveServer, settings: Any) -> dict[str, Any]:
    """Seed the demo in the test database (through the same code as ``ppa demo``)."""
    import asyncio

    from server.demo import seed_demo_database

    return asyncio.run(seed_demo_database(settings)).as_dict()


class InProcessTransport(httpx.BaseTransport):
    """Sends each request through the live server's ASGI app on the server's own event loop.

    No socket and no HTTP parsing, but the very app, rooms and database pools that the
    WebSocket clients of the same test reach through uvicorn. What only uvicorn does (proxy
    headers, streaming bodies on the wire, keep-alive) is tested with real sockets elsewhere.
    """

    def __init__(self, server: LiveServer) -> None:
        if server.loop is None:
            raise RuntimeError("the live server is not running")
        self._loop = server.loop
        self._asgi = httpx.ASGITransport(
            app=server.app, raise_app_exceptions=False, client=("127.0.0.1", 50000)
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()

        async def send() -> tuple[int, list[tuple[bytes, bytes]], bytes]:
            response = await self._asgi.handle_async_request(request)
            body = await response.aread()
            return response.status_code, response.headers.raw, body

        future = asyncio.run_coroutine_threadsafe(send(), self._loop)
        status, headers, body = future.result(timeout=120)
        return httpx.Response(status, headers=headers, content=body, request=request)


class Api:
    """A small HTTP client bound to the live server, optionally authenticated.

    Given the :class:`LiveServer` itself, requests go through its ASGI app in process
    (:class:`InProcessTransport`); given only a URL, through a real socket.
    """

    def __init__(self, server: str | LiveServer, token: str | None = None) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.token = token
        if isinstance(server, str):
            # Idle connections are dropped before uvicorn's 5 s keep-alive timeout: with httpx's
            # default (5 s too) a request could leave on a connection the server was closing
            # ("Server disconnected without sending a response", seen once on a loaded machine).
            limits = httpx.Limits(keepalive_expiry=2.0)
            self.client = httpx.Client(base_url=server, headers=headers, timeout=30, limits=limits)
        else:
            self.client = httpx.Client(
                base_url=server.url,
                headers=headers,
                timeout=30,
                transport=InProcessTransport(server),
            )

    def get(self, url: str, **kw: Any) -> httpx.Response:
        return self.client.get(url, **kw)

    def post(self, url: str, **kw: Any) -> httpx.Response:
        return self.client.post(url, **kw)

    def put(self, url: str, **kw: Any) -> httpx.Response:
        return self.client.put(url, **kw)

    def patch(self, url: str, **kw: Any) -> httpx.Response:
        return self.client.patch(url, **kw)

    def delete(self, url: str, **kw: Any) -> httpx.Response:
        return self.client.delete(url, **kw)


def browser_login(api: Api, username: str, password: str) -> str:
    """Log ``api`` in as a browser does (session cookie in its jar); send the session's CSRF
    token with each of its requests from now on, and return it."""
    response = api.post("/api/auth/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    csrf: str = response.json()["csrf_token"]
    api.client.headers["X-CSRF-Token"] = csrf
    return csrf


def login(base_url: str, username: str, password: str) -> str:
    response = httpx.post(
        f"{base_url}/api/auth/token",
        data={"username": username, "password": password},
        timeout=30,  # argon2 takes seconds on a loaded machine (httpx's default is 5 s)
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


@pytest.fixture(scope="session")
def api_as(live_server: LiveServer, demo: dict[str, Any]) -> Iterator[Callable[[str], Api]]:
    """``api_as("coordinatrice")`` -> an Api logged in as that demo user; ``api_as("esms")``
    uses the demo ESMS API token; ``api_as("anonymous")`` sends no token."""
    cache: dict[str, Api] = {}
    passwords = {login_["username"]: login_["password"] for login_ in demo["logins"]}

    def factory(username: str) -> Api:
        if username not in cache:
            target = live_server if IN_PROCESS else live_server.url
            if username == "anonymous":
                cache[username] = Api(target)
            elif username == "esms":
                cache[username] = Api(target, demo["esms"]["token"])
            else:
                token = login(live_server.url, username, passwords[username])
                cache[username] = Api(target, token)
        return cache[username]

    yield factory
    for api in cache.values():
        api.client.close()


@pytest.fixture(scope="session")
def session_as(
    live_server: LiveServer, demo: dict[str, Any], api_as: Callable[[str], Api]
) -> Iterator[Callable[[str], Api]]:
    """Like ``api_as``, but a user is logged in as the browser is: a session cookie and its CSRF
    token, no bearer token (``esms`` and ``anonymous`` are ``api_as``'s: an API client keeps its
    bearer token)."""
    cache: dict[str, Api] = {}
    passwords = {login_["username"]: login_["password"] for login_ in demo["logins"]}

    def factory(username: str) -> Api:
        if username in ("anonymous", "esms"):
            return api_as(username)
        if username not in cache:
            api = Api(live_server if IN_PROCESS else live_server.url)
            browser_login(api, username, passwords[username])
            cache[username] = api
        return cache[username]

    yield factory
    for api in cache.values():
        api.client.close()


# A test that reaches no database (directly or through a fixture, a server it starts or a
# helper module) gives the same result on every backend: ``./test.sh`` runs it with the first
# backend only (``PPA_TEST_DB_DEPENDENT_ONLY=1`` on the next ones), as a case marked
# ``first_backend`` (whose backend-dependent part a sibling case covers on every backend).
_DB_FIXTURES = frozenset({"database", "settings", "live_server", "demo", "api_as", "session_as"})
_DB_MARKERS = (
    "make_database",
    "make_settings",
    "PPA_TEST_DB",
    "database_url",
    "LiveServer",
    "module_server",
    "live_server",
    "sqlite",
    "postgres",
)
E2E_EVERY_BACKEND = frozenset({"test_collab.py", "test_versions.py"})
"""The browser tests that run on every backend: live editing, versions, validation and avenant
through the page. The other browser tests check the page (its controls, texts, accessibility)
over a server whose database behaviour the REST and WebSocket tests check on every backend;
they run with the first backend only (a browser costs more CPU than anything else here)."""
_source_cache: dict[Path, bool] = {}
_IMPORTED_TEST_MODULE = re.compile(r"^\s*(?:from|import) (tests(?:\.\w+)+)", re.MULTILINE)


def _mentions_database(path: Path) -> bool:
    if path not in _source_cache:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError:
            text = ""
        _source_cache[path] = any(marker in text for marker in _DB_MARKERS)
    return _source_cache[path]


def _reaches_database(item: pytest.Item, root: Path) -> bool:
    if _DB_FIXTURES.intersection(getattr(item, "fixturenames", ())):
        return True
    path = Path(item.path)
    if _mentions_database(path):
        return True
    # the conftest files between the test and tests/ (whose own fixtures are listed above)
    for folder in path.parents:
        if folder == root:
            break
        if _mentions_database(folder / "conftest.py"):
            return True
    # the test helpers it imports (``from tests.x.y import ...``)
    for module in _IMPORTED_TEST_MODULE.findall(path.read_text(encoding="utf-8")):
        helper = root.parent.joinpath(*module.split(".")).with_suffix(".py")
        if _mentions_database(helper):
            return True
    return False


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # The long tests (``slow``: fuzzing, crashes, sweeps) first: pytest-xdist hands the first
    # items out to every worker at once, so they run side by side instead of one of them
    # starting last and keeping one worker busy alone at the end of the run.
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)
    if os.environ.get("PPA_TEST_DB_DEPENDENT_ONLY") != "1":
        return
    root = Path(__file__).parent

    def again(item: pytest.Item) -> bool:
        if item.get_closest_marker("first_backend") is not None:
            return False
        path = Path(item.path)
        if path.parent == root / "e2e" and path.name not in E2E_EVERY_BACKEND:
            return False
        return _reaches_database(item, root)

    keep: list[pytest.Item] = []
    dropped: list[pytest.Item] = []
    for item in items:
        (keep if again(item) else dropped).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep
