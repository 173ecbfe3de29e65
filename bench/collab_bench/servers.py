"""The servers under load (ours, one process or several sharing Redis; pycrdt-websocket; node
y-websocket 1.5.4) and their process figures."""

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
    """A server under load (its processes, pinned to core 1) and how to reach a document on it."""

    name = ""
    host = "127.0.0.1"

    def __init__(self, port: int) -> None:
        self.port = port
        self.process: subprocess.Popen[bytes] | None = None
        self.others: list[tuple[int, subprocess.Popen[bytes]]] = []
        """Further processes of the same server (ours with Redis): (port, process)."""

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    @property
    def pids(self) -> list[int]:
        return [self.pid, *(process.pid for _, process in self.others)]

    def running(self) -> bool:
        processes = [self.process, *(process for _, process in self.others)]
        return all(p is not None and p.poll() is None for p in processes)

    def cpu(self) -> float:
        """CPU seconds of every process of the server."""
        return sum(cpu_seconds(pid) for pid in self.pids)

    def rss(self) -> float:
        """MiB resident, every process of the server."""
        return sum(rss_mib(pid) for pid in self.pids)

    def endpoint(self, document: str, index: int) -> tuple[str, int, str]:
        """Where the ``index``-th client of ``document`` connects: host, port, path."""
        return self.host, self.port, self.path(document)

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
        for process in [self.process, *(process for _, process in self.others)]:
            if process is not None and process.poll() is None:
                process.terminate()
                try:
                    process.wait(30)
                except subprocess.TimeoutExpired:
                    process.kill()


class Ours(Server):
    """``ppa serve`` on a fresh demo database, with the collaboration limits lifted; with
    ``processes`` > 1, that many ``ppa serve`` sharing the database and Redis (``redis_url``),
    pinned in turn to ``cpus``, and the clients of each document spread over them (``spread``:
    ``clients``, each client of a document on the next process, so every update crosses Redis;
    ``rooms``, every client of a document on the same process, as behind a router that keeps a
    PPA on one process)."""

    name = "ppa-collab"

    def __init__(
        self,
        port: int,
        data_dir: Path,
        log: Path,
        *,
        processes: int = 1,
        redis_url: str = "",
        cpus: str = "1",
        spread: str = "clients",
    ) -> None:
        super().__init__(port)
        if processes > 1 and not redis_url:
            raise ValueError("several processes need Redis (--redis-url)")
        self.spread = spread
        if redis_url:
            self.name = f"ppa-collab x{processes} (Redis)"
        self.env = {
            **os.environ,
            "PPA_DATA_DIR": str(data_dir),
            "PPA_SECRET_KEY": uuid.uuid4().hex * 2,
            "PPA_COLLAB_MAX_CONNECTIONS_PER_USER": "100000",
            "PPA_COLLAB_MAX_CONNECTIONS_PER_PPA": "100000",
            "PPA_COLLAB_UPDATES_PER_SECOND": "1000000",
            "PPA_COLLAB_UPDATE_BURST": "1000000",
            "PPA_COLLAB_UNLOAD_AFTER_SECONDS": "2",
            **(
                {
                    "PPA_REDIS_URL": redis_url,
                    "PPA_REDIS_CHANNEL_PREFIX": f"bench-{uuid.uuid4().hex}",
                }
                if redis_url
                else {}
            ),
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
        self.logs = [log] + [log.with_suffix(f".{n}.log") for n in range(1, processes)]
        cores = cpus.split(",")
        ports = [port] + [free_port() for _ in range(1, processes)]
        for n, (each, out_path) in enumerate(zip(ports, self.logs, strict=True)):
            command = ["taskset", "-c", cores[n % len(cores)], ppa, "serve", "--no-migrate"]
            with out_path.open("wb") as out:
                process = subprocess.Popen(
                    [*command, "--port", str(each)],
                    env=self.env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
            if n == 0:
                self.process = process
            else:
                self.others.append((each, process))
        for each in ports:
            with httpx.Client(base_url=f"http://{self.host}:{each}", timeout=30) as client:

                def healthy(client: httpx.Client = client) -> bool:
                    return client.get("/api/health").status_code == 200

                self.wait_ready(healthy)
        self.http = httpx.Client(base_url=f"http://{self.host}:{port}", timeout=30)
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

    def endpoint(self, document: str, index: int) -> tuple[str, int, str]:
        if not self.others:
            return super().endpoint(document, index)
        ports = [self.port] + [port for port, _ in self.others]
        turn = int(uuid.UUID(document)) % len(ports)
        if self.spread == "clients":
            turn += index
        return self.host, ports[turn % len(ports)], self.path(document)

    async def unloaded(self, document: str) -> None:
        # The room unloads PPA_COLLAB_UNLOAD_AFTER_SECONDS after its last client left, then its
        # editing session ends with a version checkpoint (the version's work is in the figure).
        line = f"collab.room.unloaded ppa={document}".encode()
        deadline = time.monotonic() + 120
        while not any(line in log.read_bytes() for log in self.logs):
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


NODE_DIR = Path(__file__).resolve().parent.parent / "node"
"""bench/node: the pinned node y-websocket 1.5.4 (package.json and its lockfile)."""


def node_server() -> Path:
    """The stock server of y-websocket 1.5.4, installed from the npm registry on first use
    (``npm ci`` with the lockfile; its optional LevelDB persistence left out)."""
    script = NODE_DIR / "node_modules" / "y-websocket" / "bin" / "server.js"
    if not script.exists():
        subprocess.run(
            ["npm", "ci", "--omit=optional", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=NODE_DIR,
            check=True,
        )
    return script


class NodeYWebsocket(Server):
    """The stock node y-websocket 1.5.4 server (``bin/server.js``), memory only (no
    ``YPERSISTENCE``), what the issue's baseline figures were measured on."""

    name = "node y-websocket 1.5.4"

    def __init__(self, port: int, script: Path, log: Path) -> None:
        super().__init__(port)
        env = {**os.environ, "HOST": self.host, "PORT": str(port)}
        env.pop("YPERSISTENCE", None)
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                ["taskset", "-c", "1", "node", str(script)],
                env=env,
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
