"""The demo served for a bench: a fresh SQLite database with the demo in a temporary directory,
the app on a free loopback port (uvicorn in a thread)."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import uvicorn


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def demo_server(extra_env: dict[str, str] | None = None) -> Iterator[tuple[str, dict[str, Any]]]:
    """Yields the server's base URL and ``ppa demo --json`` (logins, ids, the ESMS token);
    ``extra_env``: more ``PPA_`` settings. The process's environment keeps the settings."""
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            "PPA_DATA_DIR": str(Path(tmp) / "data"),
            "PPA_DATABASE_URL": f"sqlite+aiosqlite:///{Path(tmp) / 'bench.sqlite3'}",
            "PPA_WEBHOOK_ENABLED": "false",
            **(extra_env or {}),
        }
        done = subprocess.run(
            [sys.executable, "-m", "server.cli", "demo", "--json"],
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            check=True,
        )
        demo = json.loads(done.stdout)
        os.environ.update(env)
        from server.app import create_app
        from server.config import Settings
        from server.logging import configure_logging

        configure_logging(level=logging.WARNING)
        port = free_port()
        settings = Settings(host="127.0.0.1", port=port)
        server = uvicorn.Server(
            uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="error")
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.02)
        try:
            yield f"http://127.0.0.1:{port}", demo
        finally:
            server.should_exit = True
            thread.join(timeout=15)
