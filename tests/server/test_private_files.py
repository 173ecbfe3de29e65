"""The data directory is 0700; the SQLite database and its -wal/-shm, the secret key and the
signing key are 0600, each created with that mode (never written, then restricted)."""

from __future__ import annotations

import json
import os
import stat
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from server.config import Settings
from server.files import private_sqlite_file
from tests.server.test_cli import run, serving
from versions.signing import load_or_create_private_key


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def open_umask() -> Iterator[None]:
    """A permissive umask (022, as on most systems), inherited by the commands run."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def test_a_fresh_data_directory_through_the_cli(tmp_path: Path, open_umask: None) -> None:
    data_dir = tmp_path / "donnees"
    env = {"PPA_DATA_DIR": str(data_dir)}  # SQLite in the data directory (the default)
    seeded = run(["demo", "--json"], env)
    assert seeded.returncode == 0, seeded.stderr
    sealed = run(["audit", "seal"], env)
    assert sealed.returncode == 0, sealed.stderr
    assert mode(data_dir) == 0o700
    for name in ("ppa.sqlite3", "secret.key", "signing-key.pem"):
        assert mode(data_dir / name) == 0o600, name
    coordinator = next(x for x in json.loads(seeded.stdout)["logins"] if x["role"] == "coordinator")
    with serving(env, tmp_path / "serve.log") as served:
        response = httpx.post(
            f"{served.url}/api/auth/token",
            data={"username": coordinator["username"], "password": coordinator["password"]},
            timeout=30,
        )
        assert response.status_code == 200, response.text
        companions = [data_dir / f"ppa.sqlite3{suffix}" for suffix in ("-wal", "-shm")]
        assert all(path.exists() for path in companions)  # WAL mode, a connection open
        for path in companions:
            assert mode(path) == 0o600, path
    leftovers = sorted(p.name for p in data_dir.iterdir() if mode(p) & 0o077)
    assert leftovers == []


@pytest.fixture
def no_chmod(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No chmod allowed, and a umask that restricts nothing: only the creation mode counts."""

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("a private file must be created with its mode, not chmod-ed after")

    monkeypatch.setattr(os, "chmod", refuse)
    monkeypatch.setattr(Path, "chmod", refuse)
    previous = os.umask(0)
    yield
    os.umask(previous)


def test_keys_are_created_with_their_final_mode(tmp_path: Path, no_chmod: None) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path / "d")
    key = settings.resolved_secret_key()
    assert len(key) > 40
    assert settings.resolved_secret_key() == key
    assert mode(tmp_path / "d") == 0o700
    assert mode(tmp_path / "d" / "secret.key") == 0o600
    load_or_create_private_key(tmp_path / "d" / "signing-key.pem")
    assert mode(tmp_path / "d" / "signing-key.pem") == 0o600
    private_sqlite_file(f"sqlite+aiosqlite:///{tmp_path / 'd' / 'ppa.sqlite3'}")
    assert mode(tmp_path / "d" / "ppa.sqlite3") == 0o600
    assert sorted(p.name for p in (tmp_path / "d").iterdir()) == [
        "ppa.sqlite3",
        "secret.key",
        "signing-key.pem",
    ]


def test_processes_starting_together_share_one_secret_key(tmp_path: Path) -> None:
    keys: list[str] = []
    settings = [Settings(_env_file=None, data_dir=tmp_path) for _ in range(8)]
    threads = [
        threading.Thread(target=lambda s=s: keys.append(s.resolved_secret_key())) for s in settings
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(keys)) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["secret.key"]


def test_an_existing_database_is_restricted(tmp_path: Path) -> None:
    database = tmp_path / "ppa.sqlite3"
    for suffix in ("", "-wal", "-shm"):
        path = tmp_path / f"ppa.sqlite3{suffix}"
        path.write_bytes(b"")
        path.chmod(0o644)
    private_sqlite_file(f"sqlite+aiosqlite:///{database}")
    for suffix in ("", "-wal", "-shm"):
        assert mode(tmp_path / f"ppa.sqlite3{suffix}") == 0o600
