"""In-memory channel and a pycrdt peer speaking the protocol through it (no sockets)."""

from __future__ import annotations

from typing import Any

import anyio
from pycrdt import Doc, Text, TransactionEvent

from editor.collab.lib0 import write_var_uint
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
from editor.collab.room import Peer
from editor.layout_guard import LayoutGuard


def write_state_vector(state: dict[int, int]) -> bytes:
    parts = [write_var_uint(len(state))]
    for client, clock in state.items():
        parts += [write_var_uint(client), write_var_uint(clock)]
    return b"".join(parts)


def text_of(update: bytes, field: str = "t") -> str:
    doc: Doc[Any] = Doc()
    doc.apply_update(update)
    return str(doc.get(field, type=Text))


class CountingGuard(LayoutGuard):
    """The PPA layout guard, counting its (costly) full checks, of a document or of a write."""

    def __init__(self) -> None:
        super().__init__()
        self.checks = 0

    def check(self, doc: Doc[Any]) -> list[str]:
        self.checks += 1
        return super().check(doc)

    def check_update(self, doc: Doc[Any], update: bytes) -> list[str]:
        self.checks += 1
        return super().check_update(doc, update)


class MemoryChannel:
    """Records what the room sends; ``close`` records the code and reason."""

    def __init__(self, user_id: str = "alice", *, read_only: bool = False) -> None:
        self._user_id = user_id
        self.read_only = read_only
        self.sent: list[bytes] = []
        self.closed: tuple[int, str] | None = None

    @property
    def user_id(self) -> str:
        return self._user_id

    def send(self, message: bytes) -> None:
        if self.closed is None:
            self.sent.append(message)

    def close(self, code: int, reason: str) -> None:
        if self.closed is None:
            self.closed = (code, reason)

    def take(self) -> list[bytes]:
        out, self.sent = self.sent, []
        return out


class SimClient:
    """A pycrdt replica that behaves like a stock y-websocket client, messages delivered by hand.

    ``outbox`` holds frames to the server; ``handle`` processes a frame from the server.
    """

    def __init__(self, client_id: int | None = None) -> None:
        self.doc: Doc[Any] = Doc(client_id=client_id)
        self.text = self.doc.get("t", type=Text)
        self.outbox: list[bytes] = []
        self.durable_sv: bytes | None = None
        self.denied: list[Notice] = []
        self.awareness: list[bytes] = []
        self.connected = False
        self.synced = False
        """A sync step 2 arrived since the last :meth:`connect`."""
        self._remote = False
        self.doc.observe(self._on_change)

    def _on_change(self, event: TransactionEvent) -> None:
        if not self._remote and self.connected:
            self.outbox.append(encode_update(event.update))

    def connect(self) -> None:
        self.connected = True
        self.synced = False
        self.outbox.append(encode_sync_step1(self.doc.get_state()))

    def disconnect(self) -> None:
        self.connected = False
        self.outbox.clear()

    def apply_remote(self, update: bytes) -> None:
        self._remote = True
        try:
            self.doc.apply_update(update)
        finally:
            self._remote = False

    def handle(self, frame: bytes) -> None:
        for message in decode_messages(frame):
            if isinstance(message, SyncStep1):
                self._merge_durable(message.state_vector)
                if self.connected:
                    self.outbox.append(encode_sync_step2(self.doc.get_update(message.state_vector)))
            elif isinstance(message, SyncStep2 | SyncUpdate):
                self.apply_remote(message.update)
                self.synced = self.synced or isinstance(message, SyncStep2)
            elif isinstance(message, AuthMessage) and message.reason is not None:
                self.denied.append(Notice.parse(message.reason))
            elif isinstance(message, AwarenessMessage):
                self.awareness.append(message.payload)

    def _merge_durable(self, state_vector: bytes) -> None:
        # The durable state only grows; keeping the maximum also tolerates the reordering that
        # the convergence test inflicts (a WebSocket never reorders).
        merged = decode_state_vector(self.durable_sv) if self.durable_sv else {}
        for client, clock in decode_state_vector(state_vector).items():
            merged[client] = max(clock, merged.get(client, 0))
        self.durable_sv = write_state_vector(merged)

    def saved(self) -> bool:
        if self.durable_sv is None:
            return False
        mine = decode_state_vector(self.doc.get_state()).get(self.doc.client_id, 0)
        return decode_state_vector(self.durable_sv).get(self.doc.client_id, 0) >= mine


def pump(peer: Peer, channel: MemoryChannel, client: SimClient) -> int:
    """Deliver every queued frame both ways until quiet; returns the number of frames moved."""
    moved = 0
    while True:
        frames = channel.take()
        outgoing, client.outbox = client.outbox, []
        if not frames and not outgoing:
            return moved
        for frame in frames:
            client.handle(frame)
        for frame in outgoing:
            peer.receive(frame)
        moved += len(frames) + len(outgoing)


class Session:
    """A SimClient joined to a room through a MemoryChannel."""

    def __init__(self, peer: Peer, channel: MemoryChannel, client: SimClient) -> None:
        self.peer = peer
        self.channel = channel
        self.client = client

    def pump(self) -> int:
        return pump(self.peer, self.channel, self.client)

    @property
    def text(self) -> str:
        return str(self.client.text)

    async def synced(self) -> None:
        """Pump until the client got its sync step 2 (encoded in a worker thread)."""
        with anyio.fail_after(30):
            while True:
                self.pump()
                if self.client.synced:
                    return
                await anyio.sleep(0.001)


async def join(
    manager: RoomManager,
    ppa_id: str,
    user: str = "alice",
    *,
    read_only: bool = False,
    client: SimClient | None = None,
    synced: bool = True,
) -> Session:
    """Join ``ppa_id``; wait for the sync step 2 unless ``synced`` is false."""
    channel = MemoryChannel(user, read_only=read_only)
    peer = await manager.join(ppa_id, channel)
    client = client or SimClient()
    client.connect()
    session = Session(peer, channel, client)
    if synced:
        await session.synced()
    else:
        session.pump()
    return session
