"""The ``ppa`` command line, run as a subprocess like a user would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import make_database

PPA = [sys.executable, "-m", "server.cli"]


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*PPA, *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def cli_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    database, drop = make_database(tmp_path)
    yield {"PPA_DATA_DIR": str(tmp_path / "data"), "PPA_DATABASE_URL": database.url}
    drop()


def test_demo_json_is_stable_and_complete(cli_env: dict[str, str]) -> None:
    first = run(["demo", "--json"], cli_env)
    assert first.returncode == 0, first.stderr
    data = json.loads(first.stdout)
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
