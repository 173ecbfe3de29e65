"""PATCH /api/ppas/{id}/content latency to the live editors (issue 13).

Run: ``.venv/bin/python bench/bench_dui_patch.py [--editors 50] [--patches 40]``. Seeds the demo
in a temporary SQLite database, serves the app with uvicorn on loopback, opens ``editors``
WebSocket clients (pycrdt, the y-websocket protocol) on the demo's draft PPA, then sends
``patches`` merge patches one after the other (each changes one action's description, with the
ETag of the previous answer as If-Match). Measured per patch: the HTTP round trip of the PATCH
(validation, Yjs write through the room, checkpoint version, audit), and, at every editor, the time
from just before the PATCH is sent to the relayed update received (ms).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from typing import Any

import httpx
import websockets
from demo_server import demo_server
from pycrdt import Doc, YMessageType, create_sync_message, handle_sync_message


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


class Editor:
    """One live editor: syncs, then timestamps every update message it receives."""

    def __init__(self) -> None:
        self.doc: Doc[Any] = Doc()
        self.received: list[float] = []
        self.synced = asyncio.Event()

    async def run(self, url: str, ready: asyncio.Event, stop: asyncio.Event) -> None:
        async with websockets.connect(url, max_size=None) as ws:
            await ws.send(create_sync_message(self.doc))
            ready.set()
            while not stop.is_set():
                try:
                    message = await asyncio.wait_for(ws.recv(), 0.5)
                except TimeoutError:
                    continue
                now = time.perf_counter()
                data = bytes(message) if not isinstance(message, str) else message.encode()
                if data[0] != YMessageType.SYNC:
                    continue
                if data[1] == 2 and self.synced.is_set():  # an update after the sync
                    self.received.append(now)
                reply = handle_sync_message(data[1:], self.doc)
                if data[1] == 1 and reply is not None:
                    await ws.send(reply)
                if data[1] == 1 or data[1] == 2:
                    self.synced.set()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--editors", type=int, default=50)
    parser.add_argument("--patches", type=int, default=40)
    args = parser.parse_args()
    with demo_server({"PPA_COLLAB_MAX_CONNECTIONS_PER_USER": "1000"}) as (base, demo):
        asyncio.run(_run(int(base.rsplit(":", 1)[1]), demo, args.editors, args.patches))


async def _all_received(clients: list[Editor], marks: list[int], within: float) -> None:
    """Wait (polling, at most ``within`` s) until every editor received one more update."""
    deadline = time.perf_counter() + within
    for c, mark in zip(clients, marks, strict=True):
        while len(c.received) <= mark and time.perf_counter() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.005)


async def _run(port: int, demo: dict[str, Any], editors: int, patches: int) -> None:
    base = f"http://127.0.0.1:{port}"
    password = next(x["password"] for x in demo["logins"] if x["username"] == "coordinatrice")
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        token = (
            await client.post(
                "/api/auth/token", data={"username": "coordinatrice", "password": password}
            )
        ).json()["access_token"]
        client.headers["Authorization"] = f"Bearer {token}"
        ppa_id = demo["ppa_id"]
        read = await client.get(f"/api/ppas/{ppa_id}")
        read.raise_for_status()
        action = read.json()["content"]["actions"][0]["id"]
        etag = read.headers["etag"]
        stop = asyncio.Event()
        clients = [Editor() for _ in range(editors)]
        ready = [asyncio.Event() for _ in clients]
        url = f"ws://127.0.0.1:{port}/ws/ppa/{ppa_id}?token={token}"
        tasks = [
            asyncio.create_task(c.run(url, r, stop)) for c, r in zip(clients, ready, strict=True)
        ]
        await asyncio.gather(*(c.synced.wait() for c in clients))
        await asyncio.sleep(1.0)
        for c in clients:
            c.received.clear()
        http_ms: list[float] = []
        relay_ms: list[float] = []
        missing = 0
        for k in range(patches):
            marks = [len(c.received) for c in clients]
            body = {"actions": {action: {"description": f"Écrit par le DUI, passage {k}."}}}
            t0 = time.perf_counter()
            answer = await client.patch(
                f"/api/ppas/{ppa_id}/content",
                json=body,
                headers={"If-Match": etag, "Content-Type": "application/merge-patch+json"},
            )
            http_ms.append((time.perf_counter() - t0) * 1000)
            answer.raise_for_status()
            etag = answer.headers["etag"]
            await _all_received(clients, marks, within=5.0)
            for c, m in zip(clients, marks, strict=True):
                if len(c.received) > m:
                    relay_ms.append((c.received[m] - t0) * 1000)
                else:
                    missing += 1
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
    print(f"editors={editors} patches={patches} deliveries={len(relay_ms)} missing={missing}")
    for name, values in (("PATCH round trip", http_ms), ("to live editors", relay_ms)):
        print(
            f"{name:<17} p50 {statistics.median(values):7.1f} ms  p95 {_pct(values, 0.95):7.1f}"
            f"  p99 {_pct(values, 0.99):7.1f}  max {max(values):7.1f}"
        )


if __name__ == "__main__":
    main()
