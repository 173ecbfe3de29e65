"""Files of the data directory, readable by the service's own account only.

The directory is created 0700; the SQLite database (and the -wal/-shm files SQLite creates with
the database's own mode), the secret key and the signing key are 0600 from their creation: each
is created by ``os.open(O_CREAT | O_EXCL, 0o600)``, never written and then restricted.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

from sqlalchemy.engine import make_url

DIR_MODE = 0o700
FILE_MODE = 0o600
SQLITE_SUFFIXES = ("", "-wal", "-shm", "-journal")


def private_data_dir(path: Path) -> Path:
    """Create ``path`` (and its parents) if missing; a directory this call creates is 0700."""
    if not path.is_dir():
        path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileExistsError):
            path.mkdir(mode=DIR_MODE)
    return path


def create_private_file(path: Path, data: bytes = b"") -> bool:
    """Create ``path`` holding ``data``, mode 0600 from the start; False if it already exists."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        return False
    try:
        if data:
            os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    return True


def read_or_create_private_file(path: Path) -> bytes:
    """The content of ``path``, created with a random secret on first use.

    Several processes may start at once: the secret is written to a private temporary file
    and published with a hard link (which fails if another process won); everyone then reads
    the winner's file.
    """
    if not path.exists():
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
        create_private_file(tmp, secrets.token_urlsafe(48).encode())
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink(missing_ok=True)
    return path.read_bytes()


def sqlite_path(url: str) -> Path | None:
    """The database file of a SQLite URL (``None`` for another database or in memory)."""
    parsed = make_url(url)
    if not parsed.drivername.startswith("sqlite") or not parsed.database:
        return None
    if parsed.database == ":memory:" or parsed.database.startswith("file:"):
        return None
    return Path(parsed.database)


def private_sqlite_file(url: str) -> None:
    """Before SQLite opens it: create the database file 0600 (SQLite gives its -wal and -shm
    files the database's mode) and restrict an existing one and its companions."""
    path = sqlite_path(url)
    if path is None:
        return
    private_data_dir(path.parent)
    if not create_private_file(path):
        for suffix in SQLITE_SUFFIXES:
            companion = path.with_name(path.name + suffix)
            try:
                if companion.stat().st_mode & 0o077:
                    companion.chmod(FILE_MODE)
            except FileNotFoundError:
                continue
