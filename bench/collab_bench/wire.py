"""A minimal y-websocket client for the benchmark: socket, replicas, shared latency record."""

from __future__ import annotations

import asyncio
import base64
import os
import random
import socket
import struct
import time
from dataclasses import dataclass, field
from typing import Any

from pycrdt import Doc, Text

from editor.collab.protocol import (
    MessageType,
    SyncMessageType,
    decode_state_vector,
    encode_sync_step1,
    encode_sync_step2,
    encode_update,
)
from editor.collab.updates import merge_many, update_ranges

EDIT = "abcd"


# --------------------------------------------------------------------------------------------
# A minimal WebSocket client (RFC 6455): enough to speak y-websocket cheaply


SO_TIMESTAMPNS = 35
"""Linux (``SO_TIMESTAMPNS_OLD``, also the control message type): the kernel stamps each received
segment with the time it arrived (CLOCK_REALTIME); ``recvmsg`` returns the stamp of the last one
read."""
_TIMESPEC = struct.Struct("qq")
_READ_VIEW = memoryview(bytearray(1 << 18))
"""The buffer every socket is read into (one loop, one read at a time)."""


class WsProtocol:
    """One client socket, read with ``recvmsg``: the arrival time of a message is the kernel's
    receive time of its bytes, not the moment this (busy, one-core) generator got round to reading
    them, so that the figures measure the server and the network, not the generator."""

    def __init__(self, host: str, path: str, client: BenchClient) -> None:
        self.host = host
        self.path = path
        self.client = client
        client.protocol = self
        self.sock: socket.socket | None = None
        self.loop = asyncio.get_running_loop()
        self.buffer = bytearray()
        self.need = 0
        """Bytes the partial frame in ``buffer`` needs (0: unknown)."""
        self.open = False
        self.opened: asyncio.Future[None] = self.loop.create_future()
        self.closed: asyncio.Future[int] = self.loop.create_future()
        self.writable = asyncio.Event()
        self.writable.set()
        self.out = bytearray()
        self.rng = random.Random()

    async def connect(self, host: str, port: int) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        await self.loop.sock_connect(sock, (host, port))
        self.sock = sock
        self.loop.add_reader(sock.fileno(), self._readable)
        key = base64.b64encode(os.urandom(16)).decode()
        self._send_raw(
            (
                f"GET {self.path} HTTP/1.1\r\nHost: {self.host}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                "Sec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        await self.opened

    def _readable(self) -> None:
        assert self.sock is not None
        try:
            size, ancillary, _flags, _addr = self.sock.recvmsg_into([_READ_VIEW], 64)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            size, ancillary = 0, []
        data = bytes(_READ_VIEW[:size])  # recvmsg(n) would allocate n bytes at every read
        if not data:
            self._lost()
            return
        now = time.perf_counter()
        for level, kind, value in ancillary:
            if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
                seconds, nanoseconds = _TIMESPEC.unpack_from(value)
                arrived = seconds + nanoseconds * 1e-9
                now = min(now, arrived - (time.time() - time.perf_counter()))
        self.data_received(data, now)

    def _lost(self) -> None:
        if self.sock is not None:
            self.loop.remove_reader(self.sock.fileno())
            self.loop.remove_writer(self.sock.fileno())
            self.sock.close()
            self.sock = None
        self.writable.set()
        if not self.closed.done():
            self.closed.set_result(1006)
        if not self.opened.done():
            self.opened.set_exception(ConnectionError("closed during the handshake"))

    def _send_raw(self, data: bytes) -> None:
        sock = self.sock
        if sock is None:
            return
        if not self.out:
            try:
                sent = sock.send(data)
            except (BlockingIOError, InterruptedError):
                sent = 0
            except OSError:
                self._lost()
                return
            if sent == len(data):
                return
            data = data[sent:]
            self.loop.add_writer(sock.fileno(), self._flush)
        self.out += data
        if len(self.out) > 1 << 16:
            self.writable.clear()

    def _flush(self) -> None:
        sock = self.sock
        if sock is None:
            return
        try:
            sent = sock.send(self.out)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self._lost()
            return
        del self.out[:sent]
        if not self.out:
            self.loop.remove_writer(sock.fileno())
            self.writable.set()

    # A WebSocket client decoder: handshake, frame header, opcode and sync-message cases.
    def data_received(self, data: bytes, now: float) -> None:  # noqa: C901, PLR0915
        buffer = self.buffer
        if not self.open:
            buffer += data
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            if not buffer.startswith(b"HTTP/1.1 101"):
                self.opened.set_exception(ConnectionError(bytes(buffer[:end]).decode()))
                return
            data = bytes(buffer[end + 4 :])
            buffer.clear()
            self.open = True
            self.opened.set_result(None)
        elif buffer:
            buffer += data
            if len(buffer) < self.need:
                return  # a large frame still arriving: do not copy it again
            data = bytes(buffer)
            buffer.clear()
        pos = 0
        size = len(data)
        on_message = self.client.on_message
        while size - pos >= 2:
            b0 = data[pos]
            length = data[pos + 1] & 0x7F
            head = 2
            if length == 126:
                if size - pos < 4:
                    break
                length = int.from_bytes(data[pos + 2 : pos + 4], "big")
                head = 4
            elif length == 127:
                if size - pos < 10:
                    break
                length = int.from_bytes(data[pos + 2 : pos + 10], "big")
                head = 10
            if size - pos < head + length:
                break
            payload = data[pos + head : pos + head + length]
            pos += head + length
            opcode = b0 & 0x0F
            if opcode == 2:
                on_message(payload, now)
            elif opcode == 8:
                code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else 1005
                if not self.closed.done():
                    self.closed.set_result(code)
                self._lost()
                return
            elif opcode == 9:
                self._write(0x8A, payload)
        self.need = 0
        if pos < size:
            buffer += data[pos:]
            if size - pos >= 10 or (size - pos >= 2 and data[pos + 1] & 0x7F < 127):
                length = data[pos + 1] & 0x7F
                if length == 126 and size - pos >= 4:
                    self.need = 4 + int.from_bytes(data[pos + 2 : pos + 4], "big")
                elif length == 127:
                    self.need = 10 + int.from_bytes(data[pos + 2 : pos + 10], "big")

    def _write(self, first: int, payload: bytes) -> None:
        size = len(payload)
        if size < 126:
            header = bytes((first, 0x80 | size))
        elif size < 65536:
            header = bytes((first, 0xFE)) + size.to_bytes(2, "big")
        else:
            header = bytes((first, 0xFF)) + size.to_bytes(8, "big")
        mask = self.rng.getrandbits(32).to_bytes(4, "big")
        if size:
            repeated = (mask * (size // 4 + 1))[:size]
            payload = (int.from_bytes(payload, "big") ^ int.from_bytes(repeated, "big")).to_bytes(
                size, "big"
            )
        self._send_raw(header + mask + payload)

    def send(self, payload: bytes) -> None:
        if self.sock is not None:
            self._write(0x82, payload)

    def close(self) -> None:
        if self.sock is not None:
            self._write(0x88, (1000).to_bytes(2, "big"))
            self._lost()


# --------------------------------------------------------------------------------------------
# Clients and the shared latency record


@dataclass
class Run:
    """What one scenario records, shared by its clients."""

    sent: dict[int, list[tuple[int, float]]] = field(default_factory=dict)
    """Per sender client id: (clock after the edit, time written), in order."""
    window: tuple[float, float] = (float("inf"), float("inf"))
    latencies: list[float] = field(default_factory=list)
    relayed: int = 0
    """Update messages read by all clients during the window."""


def read_var_uint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, pos
        shift += 7


class BenchClient:
    """One pycrdt replica editing over a :class:`WsProtocol` socket, like a stock client."""

    def __init__(self, run: Run, seed: int) -> None:
        self.run = run
        self.doc: Doc[Any] = Doc()
        self.id = self.doc.client_id
        self.text = self.doc.get("projet_de_vie", type=Text)
        self.rng = random.Random(seed)
        self.received: list[tuple[float, bytes]] = []
        """Update messages as read (time, y-websocket message), parsed by :meth:`scan`."""
        self.applied = 0
        self.scanned = 0
        self.cursor: dict[int, int] = {}
        """Per sender: how many of its edits this client has received."""
        self.seen: dict[int, int] = {}
        """Per client id: highest clock received."""
        self.synced = asyncio.Event()
        self.ready = asyncio.Event()
        """Set when the server's sync step 1 arrived: it authorised the connection and joined it
        to the room."""
        self.step2_at = 0.0
        self.step2_size = 0
        self.acks = 0
        self.protocol: WsProtocol | None = None

    async def connect(self, host: str, port: int, path: str, *, step1: bool = True) -> float:
        """Open the socket; returns the time the WebSocket opened (after the handshake). Like a
        stock client, sends sync step 1 at once, unless ``step1`` is false (then the caller
        sends it with :meth:`request_document`)."""
        protocol = WsProtocol(f"{host}:{port}", path, self)
        await protocol.connect(host, port)
        opened = time.perf_counter()
        if step1:
            self.request_document()
        return opened

    def request_document(self) -> float:
        """Send sync step 1 (this replica's state vector); returns when it was written."""
        assert self.protocol is not None
        sent = time.perf_counter()
        self.protocol.send(encode_sync_step1(self.doc.get_state()))
        return sent

    def close(self) -> None:
        if self.protocol is not None:
            self.protocol.close()

    def apply_pending(self, limit: int | None = None) -> int:
        """Apply what was received and not yet applied (at most ``limit`` messages); returns
        how many messages were applied."""
        received = self.received
        start = self.applied
        stop = len(received) if limit is None else min(len(received), start + limit)
        if start >= stop:
            return 0
        bodies = []
        for _now, payload in received[start:stop]:
            size, pos = read_var_uint(payload, 2)
            bodies.append(payload[pos : pos + size])
        self.applied = stop
        self.doc.apply_update(merge_many(bodies))
        return stop - start

    def edit(self) -> None:
        """Insert 4 characters at a random place of this replica."""
        # The update is the difference from the state before the edit: observing the document
        # would encode an update for every transaction, the many remote ones included.
        before = self.doc.get_state()
        self.text.insert(self.rng.randint(0, len(self.text)), EDIT)
        update = self.doc.get_update(before)
        log = self.run.sent.setdefault(self.id, [])
        clock = (log[-1][0] if log else 0) + len(EDIT)
        assert self.protocol is not None
        now = time.perf_counter()
        self.protocol.send(encode_update(update))
        log.append((clock, now))

    def on_message(self, payload: bytes, now: float) -> None:
        # The hot path of the generator: keep it to a test and an append (parsed later).
        if not payload or payload[0] != MessageType.SYNC:
            return
        kind = payload[1]
        if kind == SyncMessageType.UPDATE or (kind == SyncMessageType.STEP2 and self.step2_at):
            self.received.append((now, payload))
            return
        size, pos = read_var_uint(payload, 2)
        body = payload[pos : pos + size]
        if kind == SyncMessageType.STEP1:
            self.ready.set()
            self.acks += 1
            assert self.protocol is not None
            self.protocol.send(encode_sync_step2(self.doc.get_update(body)))
        elif kind == SyncMessageType.STEP2:
            self.step2_at = now
            self.step2_size = len(body)
            self.doc.apply_update(body)
            for client, clock in decode_state_vector(self.doc.get_state()).items():
                self.seen[client] = clock
            self.synced.set()

    def scan(self) -> None:
        """Parse what was received since the last scan: clocks seen, and the latency of every
        edit sent during the window (from the time its bytes were read)."""
        run = self.run
        window_start, window_end = run.window
        for now, payload in self.received[self.scanned :]:
            size, pos = read_var_uint(payload, 2)
            if window_start <= now < window_end:
                run.relayed += 1
            for client, _start, end in update_ranges(payload[pos : pos + size]):
                if end > self.seen.get(client, 0):
                    self.seen[client] = end
                if client == self.id:
                    continue
                log = run.sent.get(client)
                if log is None:
                    continue
                index = self.cursor.get(client, 0)
                while index < len(log) and log[index][0] <= end:
                    sent_at = log[index][1]
                    if window_start <= sent_at < window_end:
                        run.latencies.append(now - sent_at)
                    index += 1
                self.cursor[client] = index
        self.scanned = len(self.received)
