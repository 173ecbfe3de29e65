"""A database lock race is answered 503 + Retry-After with a French reason, not a crash."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from sqlalchemy.exc import OperationalError

from server.errors import install_error_handlers


def _app(database: Path) -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)
    engine = sa.create_engine(f"sqlite:///{database}", connect_args={"timeout": 0.05})

    @app.post("/write")
    def write() -> dict[str, str]:
        with engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO t VALUES (1)"))
        return {"ok": "yes"}

    @app.get("/broken")
    def broken() -> None:
        raise OperationalError("SELECT 1", {}, sqlite3.OperationalError("disk I/O error"))

    return app


@pytest.fixture
def locked(tmp_path: Path) -> Path:
    path = tmp_path / "busy.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE t (x INTEGER)")
    return path


async def test_a_lock_held_past_the_busy_timeout_is_a_503_to_retry(locked: Path) -> None:
    holder = sqlite3.connect(locked, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another writer holds the database
    transport = httpx.ASGITransport(app=_app(locked), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        refused = await client.post("/write")
        holder.rollback()
        holder.close()
        accepted = await client.post("/write")
        other = await client.get("/broken")
    assert refused.status_code == 503
    assert refused.headers["Retry-After"] == "2"
    assert refused.json()["error"] == "Busy"
    assert "Réessayez" in refused.json()["detail"]
    assert accepted.status_code == 200
    # any other operational failure stays an internal error (no false promise of a retry)
    assert other.status_code == 500
    with sqlite3.connect(locked) as conn:
        assert conn.execute("SELECT count(*) FROM t").fetchone() == (1,)
