"""Login abuse: after 5 failures of one login name or from one address, each next attempt waits
(exponential backoff, 429 with ``Retry-After``); attempts leave audit traces without the
password; an unknown login costs the same argon2 work and gets the same answers as a real one.

The servers trust 127.0.0.1 as a proxy (``PPA_FORWARDED_ALLOW_IPS``), so each test picks its
client addresses with X-Forwarded-For.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from server.auth import security
from server.auth.throttle import account_key, address_key
from server.models import AuditEvent, LoginThrottle
from tests.conftest import DatabaseInfo, LiveServer, make_settings
from tests.server.helpers import sql_login

PASSWORD = "mot de passe correct"
BACKOFF = 30.0


def new_server(database: DatabaseInfo, data_dir: Path) -> LiveServer:
    settings = make_settings(
        database,
        data_dir,
        login_free_failures=5,
        login_backoff_seconds=BACKOFF,
        forwarded_allow_ips="127.0.0.1",
    )
    server = LiveServer(settings)
    server.start()
    # Warm-up: the first request to a route builds its form schema, and pydantic warns (an error
    # under pytest's filterwarnings) when two threads build it at once (the bursts below).
    attempt(server, f"echauffement-{uuid.uuid4().hex[:8]}", "x", addr())
    return server


@pytest.fixture(scope="module")
def server(
    database: DatabaseInfo, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    live = new_server(database, tmp_path_factory.mktemp("throttle"))
    yield live
    live.stop()


@pytest.fixture(scope="module")
def other(database: DatabaseInfo, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A second server process on the same database."""
    live = new_server(database, tmp_path_factory.mktemp("throttle-other"))
    yield live
    live.stop()


@pytest.fixture(scope="module")
def engine(database: DatabaseInfo) -> Iterator[sa.Engine]:
    engine = sa.create_engine(database.sync_url)
    yield engine
    engine.dispose()


def addr() -> str:
    """A fresh documentation address (2001:db8::/32) per call."""
    return f"2001:db8::{uuid.uuid4().hex[:4]}:{uuid.uuid4().hex[:4]}"


def attempt(server: LiveServer, login: str, password: str, address: str) -> httpx.Response:
    return httpx.post(
        f"{server.url}/api/auth/token",
        data={"username": login, "password": password},
        headers={"X-Forwarded-For": address},
        timeout=30,
    )


def age(engine: sa.Engine, key: str, seconds: float) -> None:
    """Move a counter's last failure ``seconds`` into the past (time passing, without a sleep)."""
    with Session(engine) as session, session.begin():
        row = session.get(LoginThrottle, key)
        assert row is not None
        row.last_failure_at = row.last_failure_at - timedelta(seconds=seconds)


def counter(engine: sa.Engine, key: str) -> tuple[int, Any]:
    with Session(engine) as session:
        row = session.get(LoginThrottle, key)
        assert row is not None
        return row.failures, row.last_failure_at


def assert_throttled(response: httpx.Response, at_most: float) -> int:
    assert response.status_code == 429, response.text
    body = response.json()
    assert body["error"] == "TooManyRequests"
    assert "réessayez dans" in body["detail"]
    wait = int(response.headers["Retry-After"])
    assert 0 < wait <= at_most
    return wait


def test_account_waits_after_five_failures_and_the_wait_doubles(
    server: LiveServer, engine: sa.Engine
) -> None:
    _, login = sql_login(engine, PASSWORD, "Compte visé")
    for _ in range(5):  # each from another address: only the account's counter grows
        assert attempt(server, login, "mauvais", addr()).status_code == 401
    # Even the right password waits: the attacker learns nothing during the wait.
    first = assert_throttled(attempt(server, login, PASSWORD, addr()), BACKOFF)
    assert first > BACKOFF / 2
    age(engine, account_key(login), BACKOFF + 1)
    assert attempt(server, login, "mauvais", addr()).status_code == 401
    second = assert_throttled(attempt(server, login, "mauvais", addr()), 2 * BACKOFF)
    assert second > BACKOFF  # doubled
    age(engine, account_key(login), 2 * BACKOFF + 1)
    assert attempt(server, login, PASSWORD, addr()).status_code == 200
    # A success clears the account's counter: five free failures again.
    for _ in range(5):
        assert attempt(server, login, "mauvais", addr()).status_code == 401


def test_address_waits_after_five_failures_whatever_the_logins(
    server: LiveServer, engine: sa.Engine
) -> None:
    address = addr()
    _, login = sql_login(engine, PASSWORD, "Compte d'une adresse")
    for n in range(4):
        assert (
            attempt(server, f"inconnu-{n}-{uuid.uuid4().hex[:6]}", "x", address).status_code == 401
        )
    # A success between failures does not count against the address, nor moves its last failure.
    before = counter(engine, address_key(address))
    assert attempt(server, login, PASSWORD, address).status_code == 200
    assert counter(engine, address_key(address)) == before
    assert attempt(server, f"inconnu-4-{uuid.uuid4().hex[:6]}", "x", address).status_code == 401
    assert_throttled(attempt(server, login, PASSWORD, address), BACKOFF)
    # Another address is not concerned.
    assert attempt(server, login, PASSWORD, addr()).status_code == 200
    # A success from the address does not clear the address's counter.
    assert_throttled(attempt(server, login, PASSWORD, address), BACKOFF)


class CountingHasher:
    """The real argon2 hasher, recording the hash each verify ran against."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.verified: list[str] = []

    def verify(self, hash: str, password: str) -> bool:
        self.verified.append(hash)
        result: bool = self.real.verify(hash, password)
        return result

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


def argon2_parameters(encoded: str) -> str:
    """``argon2id$v=19$m=...,t=...,p=...``: what decides the work of a verification."""
    return "$".join(encoded.split("$")[1:4])


def test_unknown_login_gets_the_same_answers_and_the_same_work(
    server: LiveServer, engine: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, login = sql_login(engine, PASSWORD, "Compte existant")
    unknown = f"compte-{uuid.uuid4().hex[:8]}"
    hasher = CountingHasher(security._hasher)
    monkeypatch.setattr(security, "_hasher", hasher)
    answers: dict[str, list[tuple[int, Any]]] = {}
    work: dict[str, list[str]] = {}
    for name in (login, unknown):
        hasher.verified.clear()
        answers[name] = []
        for _ in range(6):
            response = attempt(server, name, "mauvais", addr())
            body = response.json()
            # A 429's detail names the seconds left, which may differ by one between the two.
            answers[name].append(
                (response.status_code, body if response.status_code == 401 else body["error"])
            )
        work[name] = list(hasher.verified)
    assert answers[login] == answers[unknown]
    assert [status for status, _ in answers[login]] == [401] * 5 + [429]
    # Five argon2 verifications each (none once throttled), with the same parameters.
    assert len(work[login]) == len(work[unknown]) == 5
    real_hash = work[login][0]
    assert {argon2_parameters(h) for h in work[login] + work[unknown]} == {
        argon2_parameters(real_hash)
    }
    assert real_hash.startswith("$argon2id$")


class SlowHasher:
    """The real argon2 hasher, whose verify takes seconds (a loaded machine, a costlier hash)."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.started = threading.Event()
        self.done = threading.Event()

    def verify(self, hash: str, password: str) -> bool:
        self.started.set()
        try:
            threading.Event().wait(3)
            result: bool = self.real.verify(hash, password)
            return result
        finally:
            self.done.set()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


def test_a_password_check_does_not_stall_the_server(
    server: LiveServer, engine: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """argon2 runs off the event loop: other requests (and other logins' counting, whose
    SQLite transaction would otherwise stay open) go on meanwhile."""
    hasher = SlowHasher(security._hasher)
    monkeypatch.setattr(security, "_hasher", hasher)
    _, login = sql_login(engine, PASSWORD, "Compte lent")
    with ThreadPoolExecutor(max_workers=1) as pool:
        slow = pool.submit(attempt, server, login, PASSWORD, addr())
        assert hasher.started.wait(30)
        assert httpx.get(f"{server.url}/api/health", timeout=30).status_code == 200
        assert not hasher.done.is_set()
        assert slow.result().status_code == 200


def test_failed_and_throttled_logins_are_traced_without_the_password(
    server: LiveServer, engine: sa.Engine
) -> None:
    _, login = sql_login(engine, PASSWORD, "Compte audité")
    address = addr()
    secret = f"secret-{uuid.uuid4().hex}"
    for _ in range(5):
        assert attempt(server, login, secret, address).status_code == 401
    assert attempt(server, login, secret, address).status_code == 429
    with Session(engine) as session:
        rows = session.scalars(
            sa.select(AuditEvent)
            .where(AuditEvent.action == "auth.login", AuditEvent.object_id == login)
            .order_by(AuditEvent.id)
        ).all()
        assert [(r.outcome, r.client_addr, r.object_type) for r in rows] == [
            ("failed", address, "login")
        ] * 5 + [("throttled", address, "login")]
        assert all(r.actor_type == "anonymous" and r.person_id is None for r in rows)
        # The password appears in no column of any trace, nor in the counters.
        traces = repr(session.execute(sa.text("SELECT * FROM audit_events")).all())
        counters = repr(session.execute(sa.text("SELECT * FROM login_throttles")).all())
        assert secret not in traces
        assert secret not in counters
        assert login not in counters  # hashed keys only
    age(engine, account_key(login), BACKOFF + 1)
    age(engine, address_key(address), BACKOFF + 1)
    assert attempt(server, login, PASSWORD, address).status_code == 200
    with Session(engine) as session:
        last = session.scalars(
            sa.select(AuditEvent)
            .where(AuditEvent.action == "auth.login", AuditEvent.object_id == login)
            .order_by(AuditEvent.id.desc())
        ).first()
        assert last is not None
        assert last.outcome == "ok"
        assert last.actor_type == "user"


def test_counters_are_shared_by_every_server_process(
    server: LiveServer, other: LiveServer, engine: sa.Engine
) -> None:
    """Failures counted by one server throttle the next attempt on another (same database)."""
    _, login = sql_login(engine, PASSWORD, "Compte partagé")
    for _ in range(5):
        assert attempt(server, login, "mauvais", addr()).status_code == 401
    assert_throttled(attempt(other, login, PASSWORD, addr()), BACKOFF)


BURST = 30


def burst(servers: list[LiveServer], attempts: list[tuple[str, str]]) -> list[int]:
    """Statuses of ``(login, address)`` wrong-password attempts sent all at once, spread over
    the servers."""
    start = threading.Barrier(len(attempts))

    def one(n: int) -> int:
        login, address = attempts[n]
        start.wait()
        return attempt(servers[n % len(servers)], login, "mauvais", address).status_code

    with ThreadPoolExecutor(max_workers=len(attempts)) as pool:
        return list(pool.map(one, range(len(attempts))))


def login_outcomes(engine: sa.Engine, where: sa.ColumnElement[bool]) -> list[str]:
    with Session(engine) as session:
        return sorted(
            session.scalars(
                sa.select(AuditEvent.outcome).where(AuditEvent.action == "auth.login", where)
            ).all()
        )


def test_a_burst_on_one_account_verifies_only_the_free_failures(
    server: LiveServer, other: LiveServer, engine: sa.Engine
) -> None:
    """Concurrent attempts are counted before their password is checked: of a burst of wrong
    passwords for one account, on two servers, only the first five are verified."""
    _, login = sql_login(engine, PASSWORD, "Compte assailli")
    statuses = burst([server, other], [(login, addr()) for _ in range(BURST)])
    assert sorted(statuses) == [401] * 5 + [429] * (BURST - 5)
    assert counter(engine, account_key(login))[0] == 5
    assert login_outcomes(engine, AuditEvent.object_id == login) == ["failed"] * 5 + [
        "throttled"
    ] * (BURST - 5)


def test_a_burst_from_one_address_verifies_only_the_free_failures(
    server: LiveServer, other: LiveServer, engine: sa.Engine
) -> None:
    address = addr()
    logins = [f"inconnu-{uuid.uuid4().hex[:8]}" for _ in range(BURST)]
    statuses = burst([server, other], [(login, address) for login in logins])
    assert sorted(statuses) == [401] * 5 + [429] * (BURST - 5)
    assert counter(engine, address_key(address))[0] == 5
    assert login_outcomes(engine, AuditEvent.client_addr == address) == ["failed"] * 5 + [
        "throttled"
    ] * (BURST - 5)
