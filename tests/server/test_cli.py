"""The ``ppa`` command line: ``serve`` as a subprocess like a user runs it, the other commands
in process through Typer's runner (``tests.cli``)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory
from argon2 import PasswordHasher

from editor.terminology import terminology
from server.config import Settings
from server.migrate import alembic_config
from tests.cli import CliResult, invoke
from tests.conftest import DatabaseInfo, LiveServer, free_port, make_database, make_settings

PPA = [sys.executable, "-m", "server.cli"]
SERVE_DEADLINE_SECONDS = 120.0
"""How long ``ppa serve`` may take to answer (a deadline for a slow machine, not a measure)."""


def _environment(env: dict[str, str]) -> dict[str, str]:
    """The caller's environment without any ``PPA_`` setting, plus ``env``: only what the test
    sets configures the command."""
    base = {key: value for key, value in os.environ.items() if not key.startswith("PPA_")}
    return {**base, **env}


def run(args: list[str], env: dict[str, str]) -> CliResult:
    """``ppa <args>`` in process, configured by ``env`` alone (``serve`` stays a process)."""
    return invoke(args, env, inherit=False)


@dataclass
class CliDatabase:
    env: dict[str, str]
    database: DatabaseInfo
    data_dir: Path


@pytest.fixture
def cli_db(tmp_path: Path) -> Iterator[CliDatabase]:
    """A fresh, empty database (no migration applied) of the backend under test."""
    database, drop = make_database(tmp_path)
    data_dir = tmp_path / "data"
    env = {"PPA_DATA_DIR": str(data_dir), "PPA_DATABASE_URL": database.url}
    yield CliDatabase(env, database, data_dir)
    drop()


@pytest.fixture
def cli_env(cli_db: CliDatabase) -> dict[str, str]:
    return cli_db.env


def query_one(database: DatabaseInfo, sql: str, **params: Any) -> Any:
    """The single value a query returns, read straight from the database."""
    engine = sa.create_engine(database.sync_url)
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text(sql), params).scalar_one()
    finally:
        engine.dispose()


def table_names(database: DatabaseInfo) -> set[str]:
    engine = sa.create_engine(database.sync_url)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def alembic_head() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


@dataclass
class Served:
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path


@contextmanager
def serving(env: dict[str, str], log_path: Path, *extra: str) -> Iterator[Served]:
    """``ppa serve --host 127.0.0.1 --port <free port>`` until /api/health answers (polled up to a
    deadline); terminated (SIGTERM) on exit."""
    port = free_port()
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [*PPA, "serve", "--host", "127.0.0.1", "--port", str(port), *extra],
            env=_environment(env),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    served = Served(f"http://127.0.0.1:{port}", process, log_path)
    try:
        deadline = time.monotonic() + SERVE_DEADLINE_SECONDS
        while True:
            if process.poll() is not None:
                tail = log_path.read_text(errors="replace")[-3000:]
                raise AssertionError(f"ppa serve exited with {process.returncode}:\n{tail}")
            try:
                if httpx.get(f"{served.url}/api/health", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError("ppa serve did not answer /api/health before the deadline")
            time.sleep(0.1)
        yield served
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=30)


def login(base_url: str, username: str, password: str) -> httpx.Response:
    return httpx.post(
        f"{base_url}/api/auth/token",
        data={"username": username, "password": password},
        timeout=30,
    )


def ins_key_by_hand(number13: str) -> int:
    """The INS key formula of standards.md, written again here (independent of the server)."""
    digits = number13[:5] + {"2A": "19", "2B": "18"}.get(number13[5:7], number13[5:7])
    return 97 - int(digits + number13[7:]) % 97


def test_demo_json_is_stable_and_complete(cli_env: dict[str, str]) -> None:
    first = run(["demo", "--json"], cli_env)
    assert first.returncode == 0, first.stderr
    data = json.loads(first.stdout)
    for key in ("person_id", "ppa_id"):
        assert isinstance(data[key], str), (key, data[key])
        assert data[key].strip(), key
    assert data["person_id"] != data["ppa_id"]
    roles = {login["role"] for login in data["logins"]}
    assert {"coordinator", "contributor", "reader", "person", "aidant", "auditor"} <= roles
    assert all(login["password"] for login in data["logins"])
    assert data["esms"]["token"].startswith("ppa_")
    assert len(data["structures"]) == 2
    assert len(data["professionals"]) >= 5
    second = json.loads(run(["demo", "--json"], cli_env).stdout)
    assert second["person_id"] == data["person_id"]
    assert second["ppa_id"] == data["ppa_id"]
    assert second["esms"]["token"] == data["esms"]["token"]
    assert (Path(cli_env["PPA_DATA_DIR"]) / "secret.key").stat().st_mode & 0o077 == 0


def test_serve_migrates_a_fresh_database_and_answers(cli_db: CliDatabase, tmp_path: Path) -> None:
    assert "alembic_version" not in table_names(cli_db.database)
    with serving(cli_db.env, tmp_path / "serve.log") as served:
        assert httpx.get(f"{served.url}/api/health", timeout=30).json() == {"status": "ok"}
        docs = httpx.get(f"{served.url}/docs", timeout=30)
        assert docs.status_code == 200
        assert "swagger-ui" in docs.text
        # The tables exist: an unknown login is refused (401), not a server error.
        refused = login(served.url, "personne", "mauvais mot de passe")
        assert refused.status_code == 401, refused.text
        assert refused.json()["error"] == "Unauthenticated"
        assert (
            query_one(cli_db.database, "SELECT version_num FROM alembic_version") == alembic_head()
        )
    # A graceful stop: uvicorn finishes the shutdown, then exits by the signal it received.
    log = served.log_path.read_text(errors="replace")
    assert served.process.returncode in (0, -signal.SIGTERM), log[-3000:]
    assert "Application shutdown complete" in log


def test_demo_then_serve_end_to_end(cli_db: CliDatabase, tmp_path: Path) -> None:
    seeded = run(["demo", "--json"], cli_db.env)
    assert seeded.returncode == 0, seeded.stderr
    data = json.loads(seeded.stdout)
    person_id, ppa_id = data["person_id"], data["ppa_id"]
    for value in (person_id, ppa_id):
        assert isinstance(value, str)
        assert value.strip()
    coordinator = next(x for x in data["logins"] if x["role"] == "coordinator")

    with serving(cli_db.env, tmp_path / "serve.log") as served:
        response = login(served.url, coordinator["username"], coordinator["password"])
        assert response.status_code == 200, response.text
        headers = {"Authorization": f"Bearer {response.json()['access_token']}"}
        with httpx.Client(base_url=served.url, headers=headers, timeout=30) as api:
            ppa = api.get(f"/api/ppas/{ppa_id}")
            assert ppa.status_code == 200, ppa.text
            person = api.get(f"/api/persons/{person_id}")
            assert person.status_code == 200, person.text
            cercle = api.get(f"/api/persons/{person_id}/cercle")
            assert cercle.status_code == 200, cercle.text
            professionals = api.get("/api/professionals")
            assert professionals.status_code == 200, professionals.text

    body = ppa.json()
    assert body["id"] == ppa_id
    assert body["person_id"] == person_id
    assert body["problems"] == []
    content = body["content"]
    assert len(content["objectifs"]) >= 4
    assert len(content["actions"]) >= 6
    # Coded with SERAFIN-PH: every besoin has a besoin code, every action at least one
    # prestation; every objective addresses a besoin and every action an objective.
    besoin_codes = {besoin["code"] for besoin in content["besoins"]}
    prestation_codes = {code for action in content["actions"] for code in action["prestations"]}
    assert all(action["prestations"] for action in content["actions"])
    assert all(objectif["besoin_ids"] for objectif in content["objectifs"])
    assert all(action["objectif_ids"] for action in content["actions"])
    nomenclature = terminology()
    for code in besoin_codes:
        assert nomenclature[code].is_besoin, code
    for code in prestation_codes:
        assert nomenclature[code].is_prestation, code
    # Each code with its official label.
    assert body["serafin"] == {
        code: nomenclature[code].label for code in besoin_codes | prestation_codes
    }

    # The person's INS is valid (key computed here by hand).
    ins = person.json()["ins_matricule"]
    assert len(ins) == 15
    assert int(ins[13:]) == ins_key_by_hand(ins[:13])

    # The cercle: >= 5 professionals from >= 2 structures with >= 2 different roles.
    structure_of = {pro["id"]: pro["structure_id"] for pro in professionals.json()}
    members = [m for m in cercle.json() if m["kind"] == "professional" and m["professional_id"]]
    assert len({m["professional_id"] for m in members}) >= 5
    structures = {structure_of[m["professional_id"]] for m in members}
    assert None not in structures
    assert len(structures) >= 2
    assert len({m["role"] for m in members}) >= 2
    assert set(structures) <= set(data["structures"].values())


def test_db_upgrade_and_user_create(cli_env: dict[str, str]) -> None:
    assert run(["db", "upgrade"], cli_env).returncode == 0
    created = run(
        [
            "user",
            "create",
            "--username",
            "jdoe",
            "--display-name",
            "J. Doe",
            "--password",
            "correct horse battery",
        ],
        cli_env,
    )
    assert created.returncode == 0, created.stderr
    duplicate = run(
        [
            "user",
            "create",
            "--username",
            "jdoe",
            "--display-name",
            "J. Doe",
            "--password",
            "correct horse battery",
        ],
        cli_env,
    )
    assert duplicate.returncode != 0
    assert "existe déjà" in duplicate.stderr
    short = run(
        ["user", "create", "--username", "x", "--display-name", "X", "--password", "short"],
        cli_env,
    )
    assert short.returncode != 0
    assert "8 caractères" in short.stderr


def test_created_user_logs_in_and_only_an_argon2id_hash_is_stored(cli_db: CliDatabase) -> None:
    password = "cheval correct agrafe"
    created = run(
        [
            "user",
            "create",
            "--username",
            "mdupuis",
            "--display-name",
            "M. Dupuis",
            "--password",
            password,
        ],
        cli_db.env,
    )
    assert created.returncode == 0, created.stderr
    user_id = created.stdout.strip()

    stored = query_one(
        cli_db.database, "SELECT password_hash FROM users WHERE username = :u", u="mdupuis"
    )
    assert stored.startswith("$argon2id$")
    assert password not in stored
    assert PasswordHasher().verify(stored, password)

    server = LiveServer(make_settings(cli_db.database, cli_db.data_dir))
    server.start()
    try:
        response = login(server.url, "mdupuis", password)
        assert response.status_code == 200, response.text
        me = httpx.get(
            f"{server.url}/api/auth/me",
            headers={"Authorization": f"Bearer {response.json()['access_token']}"},
            timeout=30,
        )
        assert me.status_code == 200, me.text
        assert me.json()["id"] == user_id
        assert me.json()["display_name"] == "M. Dupuis"
        assert login(server.url, "mdupuis", password + "x").status_code == 401
    finally:
        server.stop()


def admin_traces(database: DatabaseInfo) -> list[tuple[str, str, str, str, str]]:
    """(actor type, role, action, object type, object id) of every trace, oldest first."""
    engine = sa.create_engine(database.sync_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text(
                    "SELECT actor_type, role, action, object_type, object_id FROM audit_events"
                    " ORDER BY id"
                )
            )
            return [tuple(row) for row in rows]
    finally:
        engine.dispose()


def test_user_deactivate_and_activate(cli_db: CliDatabase) -> None:
    env = cli_db.env
    unknown = run(["user", "deactivate", "personne"], env)
    assert unknown.returncode == 1, unknown.stderr
    assert "aucun compte avec l'identifiant personne" in unknown.stderr
    assert run(["user", "activate", "personne"], env).returncode == 1
    created = run(
        ["user", "create", "--username", "lmartin", "--display-name", "L. Martin"],
        {**env, "PPA_NEW_PASSWORD": "cheval correct agrafe"},
    )
    assert created.returncode == 0, created.stderr
    user_id = created.stdout.strip()
    active = "SELECT is_active FROM users WHERE id = :id"

    deactivated = run(["user", "deactivate", "lmartin"], env)
    assert deactivated.returncode == 0, deactivated.stderr
    assert deactivated.stdout.strip() == "Compte lmartin désactivé."
    assert not query_one(cli_db.database, active, id=user_id)
    again = run(["user", "deactivate", "lmartin"], env)
    assert again.returncode == 0, again.stderr
    assert "déjà désactivé" in again.stdout
    assert not query_one(cli_db.database, active, id=user_id)

    activated = run(["user", "activate", "lmartin"], env)
    assert activated.returncode == 0, activated.stderr
    assert activated.stdout.strip() == "Compte lmartin activé."
    assert query_one(cli_db.database, active, id=user_id)
    # One trace per change (the repeated deactivation changed nothing), as the operator.
    assert admin_traces(cli_db.database) == [
        ("cli", "admin", "user.deactivate", "user", user_id),
        ("cli", "admin", "user.activate", "user", user_id),
    ]


def test_client_list_and_revoke(cli_db: CliDatabase) -> None:
    env = cli_db.env
    unknown = run(["client", "revoke", "inconnu"], env)
    assert unknown.returncode == 1, unknown.stderr
    assert "aucun client d'API avec l'identifiant inconnu" in unknown.stderr
    created = run(["client", "create", "--name", "DUI de test"], env)
    assert created.returncode == 0, created.stderr
    token = created.stdout.strip()
    client_id = query_one(cli_db.database, "SELECT id FROM api_clients")
    revoked_at = "SELECT revoked_at FROM api_clients WHERE id = :id"

    listed = run(["client", "list"], env)
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.split() == [client_id, "DUI", "de", "test", "structure", "-", "actif"]
    assert token.split("_")[1] not in listed.stdout

    revoked = run(["client", "revoke", client_id], env)
    assert revoked.returncode == 0, revoked.stderr
    assert revoked.stdout.strip() == f"Client d'API {client_id} révoqué."
    first = query_one(cli_db.database, revoked_at, id=client_id)
    assert first is not None
    again = run(["client", "revoke", client_id], env)
    assert again.returncode == 0, again.stderr
    assert "déjà révoqué" in again.stdout
    assert query_one(cli_db.database, revoked_at, id=client_id) == first
    assert "révoqué le" in run(["client", "list"], env).stdout
    assert admin_traces(cli_db.database) == [
        ("cli", "admin", "api_client.revoke", "api_client", client_id)
    ]


@pytest.mark.parametrize("configured_url", [False, True], ids=["data-dir-default", "database-url"])
def test_db_upgrade_database_location(tmp_path: Path, configured_url: bool) -> None:
    """Without PPA_DATABASE_URL, ``ppa db upgrade`` creates ppa.sqlite3 in PPA_DATA_DIR; with it,
    the configured database (PostgreSQL under PPA_TEST_DB=postgresql) and no file there."""
    data_dir = tmp_path / "data"
    default_file = data_dir / "ppa.sqlite3"
    env = {"PPA_DATA_DIR": str(data_dir)}
    drop = None
    if configured_url:
        (tmp_path / "db").mkdir()
        configured, drop = make_database(tmp_path / "db")
        env["PPA_DATABASE_URL"] = configured.url
        target = configured
    else:
        target = DatabaseInfo(f"sqlite+aiosqlite:///{default_file}", "sqlite")
    try:
        assert not default_file.exists()
        upgraded = run(["db", "upgrade"], env)
        assert upgraded.returncode == 0, upgraded.stderr
        assert default_file.exists() is not configured_url
        assert query_one(target, "SELECT version_num FROM alembic_version") == alembic_head()
        assert {"users", "persons", "ppas"} <= table_names(target)
    finally:
        if drop is not None:
            drop()


def test_settings_defaults_and_prefix(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for key in list(os.environ):
        if key.upper().startswith("PPA_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)  # no .env file here; ./data is tmp_path/data

    defaults = Settings()
    assert defaults.data_dir == Path("./data")
    assert defaults.database_url is None
    url = sa.engine.make_url(defaults.resolved_database_url())
    assert url.drivername == "sqlite+aiosqlite"
    assert url.database is not None
    assert Path(url.database) == (tmp_path / "data" / "ppa.sqlite3").resolve()
    assert defaults.redis_url is None
    assert defaults.secret_key is None
    # The token lifetime the README's configuration table states.
    assert defaults.access_token_minutes == 480
    assert (defaults.host, defaults.port) == ("127.0.0.1", 8000)

    # Only PPA_-prefixed variables configure the service.
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "unprefixed"))
    monkeypatch.setenv("ACCESS_TOKEN_MINUTES", "1")
    assert Settings().data_dir == Path("./data")
    assert Settings().access_token_minutes == 480

    elsewhere = tmp_path / "elsewhere"
    monkeypatch.setenv("PPA_DATA_DIR", str(elsewhere))
    monkeypatch.setenv("PPA_ACCESS_TOKEN_MINUTES", "5")
    configured = Settings()
    assert configured.data_dir == elsewhere
    derived = sa.engine.make_url(configured.resolved_database_url()).database
    assert derived is not None
    assert Path(derived) == (elsewhere / "ppa.sqlite3").resolve()
    assert configured.access_token_minutes == 5

    monkeypatch.setenv("PPA_DATABASE_URL", "postgresql+psycopg://ppa@db.example/ppa")
    assert Settings().resolved_database_url() == "postgresql+psycopg://ppa@db.example/ppa"

    # A .env file in the working directory is read too (README), the environment first.
    (tmp_path / ".env").write_text("PPA_ACCESS_TOKEN_MINUTES=9\n")
    assert Settings().access_token_minutes == 5
    monkeypatch.delenv("PPA_ACCESS_TOKEN_MINUTES")
    assert Settings().access_token_minutes == 9

    # The generated secret key lives in the data directory, private, and stays the same.
    key = configured.resolved_secret_key()
    assert key
    assert (elsewhere / "secret.key").stat().st_mode & 0o077 == 0
    assert Settings().resolved_secret_key() == key
