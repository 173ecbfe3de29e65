"""The servers under load (ours and pycrdt-websocket) and their process figures."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx

PEER_SERVER = """
import sys
import uvicorn, uvloop
from pycrdt.websocket import ASGIServer, WebsocketServer

async def main() -> None:
    server = WebsocketServer()
    config = uvicorn.Config(ASGIServer(server), host="127.0.0.1", port=int(sys.argv[1]),
                            log_level="warning", ws_max_size=64 * 1024 * 1024)
    async with server:
        await uvicorn.Server(config).serve()

uvloop.run(main())  # the event loop of ours too (uvicorn's default when installed)
"""
CLK_TCK = os.sysconf("SC_CLK_TCK")


# --------------------------------------------------------------------------------------------
# Process figures


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def rss_mib(pid: int, key: str = "VmRSS") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def free_port() -> int:

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


# --------------------------------------------------------------------------------------------
# Servers


class Server:
    """A server under load (its process, pinned to core 1) and how to reach a document on it."""

    name = ""
    host = "127.0.0.1"

    def __init__(self, port: int) -> None:
        self.port = port
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def path(self, document: str) -> str:
        raise NotImplementedError

    def new_document(self) -> str:
        raise NotImplementedError

    async def unloaded(self, document: str) -> None:
        """Return once the room of ``document`` is unloaded (no client left)."""
        await asyncio.sleep(1.0)

    def wait_ready(self, probe: Callable[[], bool]) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited")
            with contextlib.suppress(Exception):
                if probe():
                    return
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} did not start")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()


class Ours(Server):
    """``ppa serve`` on a fresh demo database, with the collaboration limits lifted."""

    name = "ppa-collab"

    def __init__(self, port: int, data_dir: Path, log: Path) -> None:
        super().__init__(port)
        self.env = {
            **os.environ,
            "PPA_DATA_DIR": str(data_dir),
            "PPA_SECRET_KEY": uuid.uuid4().hex * 2,
            "PPA_COLLAB_MAX_CONNECTIONS_PER_USER": "100000",
            "PPA_COLLAB_MAX_CONNECTIONS_PER_PPA": "100000",
            "PPA_COLLAB_UPDATES_PER_SECOND": "1000000",
            "PPA_COLLAB_UPDATE_BURST": "1000000",
            "PPA_COLLAB_UNLOAD_AFTER_SECONDS": "2",
            **dict(e.split("=", 1) for e in os.environ.get("BENCH_OURS_ENV", "").split() if e),
        }
        ppa = str(Path(sys.executable).parent / "ppa")
        demo = subprocess.run(
            [ppa, "demo", "--json"], env=self.env, check=True, capture_output=True
        )
        printed = demo.stdout.decode()
        info = json.loads(printed[printed.index("{") :])
        self.person_id = info["person_id"]
        self.log = log
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                ["taskset", "-c", "1", ppa, "serve", "--no-migrate", "--port", str(port)],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        self.http = httpx.Client(base_url=f"http://{self.host}:{port}", timeout=30)
        self.wait_ready(lambda: self.http.get("/api/health").status_code == 200)
        response = self.http.post(
            "/api/auth/token",
            data={"username": "coordinatrice", "password": "demo-coordinatrice-2026"},
        )
        response.raise_for_status()
        self.token = response.json()["access_token"]
        self.http.headers["Authorization"] = f"Bearer {self.token}"

    def new_document(self) -> str:
        response = self.http.post(f"/api/persons/{self.person_id}/ppas", json={"title": "Bench"})
        response.raise_for_status()
        ppa_id: str = response.json()["id"]
        return ppa_id

    def path(self, document: str) -> str:
        return f"/ws/ppa/{document}?token={self.token}"

    async def unloaded(self, document: str) -> None:
        # The room unloads PPA_COLLAB_UNLOAD_AFTER_SECONDS after its last client left, then its
        # editing session ends with a version checkpoint (the version's work is in the figure).
        line = f"collab.room.unloaded ppa={document}".encode()
        deadline = time.monotonic() + 120
        while line not in self.log.read_bytes():
            if time.monotonic() > deadline:
                raise RuntimeError("the room did not unload")
            await asyncio.sleep(0.2)
        await asyncio.sleep(2.0)

    def stop(self) -> None:
        self.http.close()
        super().stop()


class Peer(Server):
    """pycrdt-websocket 0.16.5 from its own venv, with no store."""

    name = "pycrdt-websocket 0.16.5"

    def __init__(self, port: int, python: Path, script: Path, log: Path) -> None:
        super().__init__(port)
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                ["taskset", "-c", "1", str(python), str(script), str(port)],
                stdout=out,
                stderr=subprocess.STDOUT,
            )

        def probe() -> bool:
            with socket.create_connection((self.host, port), timeout=1):
                return True

        self.wait_ready(probe)

    def new_document(self) -> str:
        return f"bench-{uuid.uuid4().hex[:12]}"

    def path(self, document: str) -> str:
        return f"/{document}"


def peer_python(venv: Path) -> Path:
    python = venv / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run(
            [
                str(python),
                "-m",
                "pip",
                "install",
                "--quiet",
                "pycrdt-websocket==0.16.5",
                "pycrdt==0.14.13",
                "uvicorn[standard]==0.54.0",
            ],
            check=True,
        )
    return python
