"""Real sockets: a test-only Starlette app served by uvicorn on loopback around a RoomManager,
a pycrdt client speaking the protocol over a real WebSocket, and a stock Node Yjs client.

The app stands in for the real server until ``server/collab`` wires the room into ``ppa serve``:
tokens map to (user id, read-only) directly instead of going through auth and cercle roles.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import subprocess
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn
from pycrdt import Doc, Text, TransactionEvent
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from editor.collab.errors import CloseCode, MalformedMessageError, SyncError
from editor.collab.manager import RoomManager
from editor.collab.protocol import (
    AuthMessage,
    AwarenessMessage,
    Notice,
    SyncStep1,
    SyncStep2,
    SyncUpdate,
    decode_messages,
    decode_state_vector,
    encode_sync_step1,
    encode_sync_step2,
    encode_update,
)
from tests.conftest import free_port

JS_DIR = Path(__file__).resolve().parent.parent / "js"


class WebSocketChannel:
    """Starlette adapter: non-blocking ``send``/``close`` queue frames for one writer task."""

    def __init__(
        self, websocket: WebSocket, user_id: str, read_only: bool, max_queue: int = 10_000
    ) -> None:
        self._websocket = websocket
        self._user_id = user_id
        self.read_only = read_only
        self._queue: deque[bytes | tuple[int, str]] = deque()
        self._ready = asyncio.Event()
        self._max_queue = max_queue
        self.closing = False
        self.done = False

    @property
    def user_id(self) -> str:
        return self._user_id

    def send(self, message: bytes) -> None:
        if self.closing:
            return
        if len(self._queue) >= self._max_queue:
            self.close(CloseCode.SLOW_CONSUMER, "Client trop lent")
            return
        self._queue.append(message)
        self._ready.set()

    def close(self, code: int, reason: str) -> None:
        if self.closing:
            return
        self.closing = True
        self._queue.append((code, reason))
        self._ready.set()

    def finish(self) -> None:
        self.done = True
        self._ready.set()

    async def writer(self) -> None:
        try:
            while True:
                await self._ready.wait()
                self._ready.clear()
                while self._queue:
                    item = self._queue.popleft()
                    if isinstance(item, bytes):
                        await self._websocket.send_bytes(item)
                    else:
                        await self._websocket.close(item[0], item[1])
                        return
                if self.done:
                    return
        except Exception:  # the client went away: the reader sees it too
            self.closing = True


@dataclass(frozen=True)
class Identity:
    user_id: str
    read_only: bool = False


def make_app(
    manager: RoomManager, tokens: dict[str, Identity], known: set[str] | None = None
) -> Starlette:
    async def endpoint(websocket: WebSocket) -> None:
        ppa_id = websocket.path_params["ppa_id"]
        identity = tokens.get(websocket.query_params.get("token", ""))
        await websocket.accept()
        if identity is None:
            await websocket.close(CloseCode.UNAUTHENTICATED, "Authentification requise")
            return
        if known is not None and ppa_id not in known:
            await websocket.close(CloseCode.UNKNOWN_DOCUMENT, "PPA inconnu")
            return
        channel = WebSocketChannel(websocket, identity.user_id, identity.read_only)
        writer = asyncio.ensure_future(channel.writer())
        try:
            try:
                peer = await manager.join(ppa_id, channel)
            except SyncError as error:
                channel.close(error.code, error.reason)
                return
            try:
                while True:
                    message = await websocket.receive()
                    if message["type"] == "websocket.disconnect":
                        break
                    data = message.get("bytes")
                    if data is None:
                        raise MalformedMessageError("Message texte inattendu")
                    peer.receive(data)
            except SyncError as error:
                channel.close(error.code, error.reason)
            finally:
                manager.leave(peer)
        finally:
            channel.finish()
            await writer

    return Starlette(routes=[WebSocketRoute("/ws/ppa/{ppa_id}", endpoint)])


class LiveCollab:
    """uvicorn serving :func:`make_app` in the test's own event loop."""

    def __init__(self, app: Starlette, manager: RoomManager) -> None:
        self.port = free_port()
        self.manager = manager
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            lifespan="off",
            ws_max_size=16 * 1024 * 1024,
        )
        self.server = uvicorn.Server(config)
        self._task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws/ppa"

    async def start(self) -> None:
        self._task = asyncio.ensure_future(self.server._serve())
        async with asyncio.timeout(20):
            while not self.server.started:
                if self._task.done():
                    self._task.result()
                await asyncio.sleep(0.01)

    async def stop(self) -> None:
        self.server.should_exit = True
        if self._task is not None:
            await self._task


@contextlib.asynccontextmanager
async def live_collab(
    manager: RoomManager, tokens: dict[str, Identity], known: set[str] | None = None
) -> AsyncIterator[LiveCollab]:
    server = LiveCollab(make_app(manager, tokens, known), manager)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


class WsClient:
    """A pycrdt replica over a real WebSocket, behaving like a stock y-websocket client."""

    def __init__(
        self, url: str, ppa_id: str, token: str, *, headers: dict[str, str] | None = None
    ) -> None:
        self.url = f"{url}/{ppa_id}?token={token}" if token else f"{url}/{ppa_id}"
        self.headers = headers or {}
        """Sent with the handshake (a browser's ``Cookie`` and ``Origin``)."""
        self.doc: Doc[Any] = Doc()
        self.text = self.doc.get("t", type=Text)
        self.durable_sv: bytes | None = None
        self.denied: list[Notice] = []
        self.awareness: list[bytes] = []
        self.received_updates: list[bytes] = []
        self.close_code: int | None = None
        self.close_reason: str | None = None
        self.synced = asyncio.Event()
        self.changed = asyncio.Event()
        self._ws: ClientConnection | None = None
        self._reader: asyncio.Task[None] | None = None
        self._remote = False
        self._sending: set[asyncio.Task[None]] = set()
        self.doc.observe(self._on_change)

    def _on_change(self, event: TransactionEvent) -> None:
        if not self._remote and self._ws is not None:
            self.send_nowait(encode_update(event.update))

    def send_nowait(self, frame: bytes) -> None:
        if self._ws is None:
            return  # closed by :meth:`close` while a frame was being handled
        task = asyncio.ensure_future(self._send(frame))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _send(self, frame: bytes) -> None:
        if self._ws is not None:
            with contextlib.suppress(ConnectionClosed, TimeoutError):
                await self._ws.send(frame)

    async def drain(self) -> None:
        """Wait until every frame queued by ``send_nowait`` (local edits) went out."""
        while self._sending:
            await asyncio.gather(*list(self._sending), return_exceptions=True)

    async def send(self, frame: bytes) -> None:
        assert self._ws is not None
        await self._ws.send(frame)

    async def connect(self) -> None:
        self.synced = asyncio.Event()
        self.close_code = None
        self._ws = await connect(
            self.url, max_size=None, compression=None, additional_headers=self.headers
        )
        self._reader = asyncio.ensure_future(self._read())
        self.send_nowait(encode_sync_step1(self.doc.get_state()))

    async def _read(self) -> None:
        assert self._ws is not None
        ws = self._ws
        try:
            async for frame in ws:
                assert isinstance(frame, bytes)
                self.handle(frame)
        except ConnectionClosed:
            pass
        finally:
            if ws.close_code is not None:
                self.close_code = ws.close_code
                self.close_reason = ws.close_reason
            self.changed.set()

    def handle(self, frame: bytes) -> None:
        for message in decode_messages(frame):
            if isinstance(message, SyncStep1):
                self.durable_sv = message.state_vector
                self.send_nowait(encode_sync_step2(self.doc.get_update(message.state_vector)))
            elif isinstance(message, SyncStep2 | SyncUpdate):
                self.received_updates.append(message.update)
                self._remote = True
                try:
                    self.doc.apply_update(message.update)
                finally:
                    self._remote = False
                if isinstance(message, SyncStep2):
                    self.synced.set()
            elif isinstance(message, AuthMessage) and message.reason is not None:
                self.denied.append(Notice.parse(message.reason))
            elif isinstance(message, AwarenessMessage):
                self.awareness.append(message.payload)
        self.changed.set()

    def saved(self) -> bool:
        if self.durable_sv is None:
            return False
        mine = decode_state_vector(self.doc.get_state()).get(self.doc.client_id, 0)
        return decode_state_vector(self.durable_sv).get(self.doc.client_id, 0) >= mine

    async def wait_for(self, predicate: Any, within: float = 10.0) -> None:
        async with asyncio.timeout(within):
            while not predicate():
                self.changed.clear()
                await self.changed.wait()

    async def wait_closed(self, within: float = 10.0) -> int | None:
        if self._reader is not None:
            async with asyncio.timeout(within):
                await self._reader
        return self.close_code

    async def close(self) -> None:
        ws, self._ws = self._ws, None
        if ws is not None:
            await ws.close()
        if self._reader is not None:
            await self._reader


def node_available() -> bool:
    return shutil.which("node") is not None


def ensure_node_modules() -> None:
    """Install the pinned Yjs clients from tests/js/package-lock.json (once)."""
    if (JS_DIR / "node_modules" / "y-websocket").is_dir():
        return
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("npm is required for the Node interop tests")
    subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=JS_DIR, check=True)


class NodeClient:
    """A stock Yjs + y-websocket client in a Node process (tests/js/client.mjs)."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.events: list[dict[str, Any]] = []
        self._next = 0
        self._waiting: dict[int, asyncio.Future[Any]] = {}
        self._reader = asyncio.ensure_future(self._read())
        self.event_seen = asyncio.Event()

    @classmethod
    async def start(cls) -> NodeClient:
        ensure_node_modules()
        process = await asyncio.create_subprocess_exec(
            "node",
            str(JS_DIR / "client.mjs"),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            cwd=JS_DIR,
            env={**os.environ, "NODE_NO_WARNINGS": "1"},
        )
        return cls(process)

    async def _read(self) -> None:
        assert self.process.stdout is not None
        async for line in self.process.stdout:
            message = json.loads(line)
            if "id" in message:
                future = self._waiting.pop(message["id"], None)
                if future is not None and not future.done():
                    if message["ok"]:
                        future.set_result(message["result"])
                    else:
                        future.set_exception(RuntimeError(message["error"]))
            else:
                self.events.append(message)
                self.event_seen.set()
        for future in self._waiting.values():
            if not future.done():
                future.set_exception(RuntimeError("node client exited"))

    async def call(self, op: str, within: float = 20.0, **args: Any) -> Any:
        assert self.process.stdin is not None
        self._next += 1
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._waiting[self._next] = future
        self.process.stdin.write((json.dumps({"id": self._next, "op": op, **args}) + "\n").encode())
        await self.process.stdin.drain()
        async with asyncio.timeout(within):
            return await future

    def closes(self) -> list[dict[str, Any]]:
        return [e for e in self.events if e.get("event") == "close"]

    async def wait_event(self, predicate: Any, within: float = 10.0) -> dict[str, Any]:
        async with asyncio.timeout(within):
            while True:
                for event in self.events:
                    if predicate(event):
                        return event
                self.event_seen.clear()
                await self.event_seen.wait()

    async def stop(self) -> None:
        if self.process.returncode is None:
            with contextlib.suppress(Exception):
                await self.call("exit", within=5)
            try:
                async with asyncio.timeout(5):
                    await self.process.wait()
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
        await self._reader
