"""Loads rooms (single-flight), enforces per-user limits, unloads idle rooms, shuts down."""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any, TypeAlias

import anyio
from anyio.abc import TaskGroup
from pycrdt import Doc

from editor.collab.errors import CloseCode, LimitExceededError, StoreUnavailableError, SyncError
from editor.collab.pipeline import CommitPipeline
from editor.collab.ports import Channel, Fanout, Limits, SchemaGuard, UpdateStore, WritePolicy
from editor.collab.protocol import Notice
from editor.collab.room import LOCKED_NOTICE, Peer, Room
from editor.collab.updates import merge_many

log = logging.getLogger(__name__)


class _Loading:
    __slots__ = ("done", "error", "room")

    def __init__(self) -> None:
        self.done = anyio.Event()
        self.room: Room | None = None
        self.error: BaseException | None = None


SessionEnd: TypeAlias = Callable[[str, Sequence[str]], Awaitable[None]]
"""``on_session_end(ppa_id, authors)``: a room someone wrote to was unloaded (its last connection
left and every write is stored) or the server is shutting down; ``authors`` wrote since it was
loaded (never empty)."""


class RoomManager:
    """Loads rooms (single-flight), enforces per-user limits, unloads idle rooms, shuts down.

    Use it as an async context manager: it owns the rooms' tasks.
    """

    def __init__(
        self,
        store: UpdateStore,
        *,
        limits: Limits | None = None,
        guard: SchemaGuard | None = None,
        fanout: Fanout | None = None,
        on_session_end: SessionEnd | None = None,
        on_unloaded: Callable[[str], Awaitable[None]] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        """``on_unloaded(ppa_id)``: called once a room unloaded and its session ended (e.g. to
        give the memory it freed back to the system)."""
        self.store = store
        self.limits = limits or Limits()
        self._guard = guard
        self._fanout = fanout
        self.on_session_end = on_session_end
        self.on_unloaded = on_unloaded
        self._locked: set[str] = set()
        """Documents locked here since this process started (a room loaded later starts locked,
        even before the store says so)."""
        self._monotonic = monotonic
        self._now = now
        self._rooms: dict[str, Room] = {}
        self._loading: dict[str, _Loading] = {}
        self._joining: Counter[str] = Counter()
        self._per_user: Counter[str] = Counter()
        self._counted: set[Peer] = set()
        self._unload_at: dict[str, float] = {}
        self._closing = False
        self._task_group: TaskGroup | None = None
        self.pipeline = CommitPipeline(
            store, retries=self.limits.store_retries, gather=self.limits.commit_gather
        )
        """The durable appends of every room of this manager, in shared transactions."""
        self.loads = 0
        """How many times a room was loaded from the store."""

    async def __aenter__(self) -> RoomManager:
        tg = anyio.create_task_group()
        await tg.__aenter__()
        self._task_group = tg
        await tg.start(self.pipeline.run)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.shutdown()
        tg = self._task_group
        if tg is None:
            raise RuntimeError("room manager not running")
        self._task_group = None
        tg.cancel_scope.cancel()
        await tg.__aexit__(None, None, None)

    def room(self, ppa_id: str) -> Room | None:
        return self._rooms.get(ppa_id)

    @property
    def rooms(self) -> dict[str, Room]:
        return dict(self._rooms)

    def connections_of(self, user_id: str) -> int:
        return self._per_user[user_id]

    async def join(self, ppa_id: str, channel: Channel, policy: WritePolicy | None = None) -> Peer:
        """Load the room (single-flight) and join it; raises :class:`SyncError` to refuse."""
        if self._closing:
            raise SyncError("Serveur en cours d'arrêt", CloseCode.SERVICE_RESTART)
        self._check_user(channel.user_id)
        self._joining[ppa_id] += 1
        try:
            room = await self._get_room(ppa_id)
            if self._closing:
                raise SyncError("Serveur en cours d'arrêt", CloseCode.SERVICE_RESTART)
            self._check_user(channel.user_id)
            peer = room.join(channel, policy)
        finally:
            self._joining[ppa_id] -= 1
            if self._joining[ppa_id] <= 0:
                del self._joining[ppa_id]
        self._per_user[channel.user_id] += 1
        self._counted.add(peer)
        self._unload_at.pop(ppa_id, None)
        return peer

    def _check_user(self, user_id: str) -> None:
        if self._per_user[user_id] >= self.limits.max_connections_per_user:
            raise LimitExceededError(
                "Trop de connexions pour cet utilisateur", CloseCode.TOO_MANY_USER_CONNECTIONS
            )

    def leave(self, peer: Peer) -> None:
        room = peer.room
        room.leave(peer)
        if peer in self._counted:
            self._counted.discard(peer)
            self._per_user[peer.user_id] -= 1
            if self._per_user[peer.user_id] <= 0:
                del self._per_user[peer.user_id]
        if not room.peers and self._rooms.get(room.ppa_id) is room:
            self._schedule_unload(room)

    async def lock(self, ppa_id: str, notice: Notice = LOCKED_NOTICE) -> bool:
        """Lock ``ppa_id``: its live room if loaded (returns whether one was, once every write
        it accepted is stored), and the room loaded later, until :meth:`unlock`."""
        self._locked.add(ppa_id)
        room = self._rooms.get(ppa_id)
        loading = self._loading.get(ppa_id)
        if room is None and loading is not None:
            await loading.done.wait()
            room = self._rooms.get(ppa_id)
        if room is None:
            return False
        await room.lock(notice)
        return True

    def unlock(self, ppa_id: str) -> bool:
        """Undo :meth:`lock`; returns whether a live room was unlocked."""
        self._locked.discard(ppa_id)
        room = self._rooms.get(ppa_id)
        if room is None:
            return False
        room.unlock()
        return True

    def is_locked(self, ppa_id: str) -> bool:
        return ppa_id in self._locked

    async def write(self, ppa_id: str, update: bytes, author: str) -> None:
        """Apply a server-made update to ``ppa_id`` durably (loading its room if needed) and relay
        it to every connection, locked or not."""
        if self._closing:
            raise SyncError("Serveur en cours d'arrêt", CloseCode.SERVICE_RESTART)
        self._joining[ppa_id] += 1
        try:
            room = await self._get_room(ppa_id)
            await room.write(update, author)
        finally:
            self._joining[ppa_id] -= 1
            if self._joining[ppa_id] <= 0:
                del self._joining[ppa_id]
        if not room.peers and self._rooms.get(ppa_id) is room:
            self._schedule_unload(room)

    async def _get_room(self, ppa_id: str) -> Room:
        room = self._rooms.get(ppa_id)
        if room is not None and not room.broken:
            return room
        loading = self._loading.get(ppa_id)
        if loading is None:
            loading = _Loading()
            self._loading[ppa_id] = loading
            if self._task_group is None:
                raise RuntimeError("RoomManager used outside 'async with'")
            self._task_group.start_soon(self._load, ppa_id, loading)
        await loading.done.wait()
        if loading.error is not None:
            raise StoreUnavailableError("Chargement du document impossible") from loading.error
        if loading.room is None:
            raise RuntimeError(f"room {ppa_id} loaded without a room")
        return loading.room

    async def _load(self, ppa_id: str, loading: _Loading) -> None:
        subscribed = False
        try:
            if self._fanout is not None:
                await self._fanout.subscribe(ppa_id)
                subscribed = True
            stored = await self.store.load(ppa_id)
            doc: Doc[Any] = Doc()
            encoded: list[bytes] = []
            if stored.state is not None:
                doc.apply_update(stored.state)
                encoded.append(stored.state)
            if stored.updates:
                tail = merge_many(stored.updates)
                doc.apply_update(tail)
                encoded.append(tail)
            room = Room(
                ppa_id,
                doc,
                self.store,
                last_seq=stored.last_seq,
                tail_length=len(stored.updates),
                limits=self.limits,
                guard=self._guard,
                fanout=self._fanout,
                monotonic=self._monotonic,
                now=self._now,
                encoded=encoded,
            )
            if stored.locked or ppa_id in self._locked:
                room.locked = True
            if self._task_group is None:
                raise RuntimeError("room manager not running")
            room.start(self._task_group, self.pipeline)
            old = self._rooms.get(ppa_id)
            if old is not None:
                old.stop()
            self._rooms[ppa_id] = room
            if self._fanout is not None:
                self._fanout.attach(room)
                if old is not None:
                    await self._fanout.unsubscribe(ppa_id)
            self.loads += 1
            loading.room = room
            log.info(
                "collab.room.loaded ppa=%s seq=%d tail=%d",
                ppa_id,
                stored.last_seq,
                len(stored.updates),
            )
        except Exception as exc:
            log.exception("collab.room.load_failed ppa=%s", ppa_id)
            loading.error = exc
            if subscribed and self._fanout is not None:
                with anyio.CancelScope(shield=True):
                    await self._fanout.unsubscribe(ppa_id)
        finally:
            self._loading.pop(ppa_id, None)
            loading.done.set()

    def _schedule_unload(self, room: Room) -> None:
        if self._closing or self._task_group is None:
            return
        first = room.ppa_id not in self._unload_at
        self._unload_at[room.ppa_id] = self._monotonic() + self.limits.unload_after
        if first:
            self._task_group.start_soon(self._unload_when_idle, room)

    async def _unload_when_idle(self, room: Room) -> None:
        while True:
            deadline = self._unload_at.get(room.ppa_id)
            if deadline is None or self._rooms.get(room.ppa_id) is not room:
                return
            wait = deadline - self._monotonic()
            if wait > 0:
                await anyio.sleep(wait)
                continue
            if room.peers or self._joining[room.ppa_id]:
                self._unload_at.pop(room.ppa_id, None)
                return
            if not room.idle:
                await room.settle()
                continue
            self._unload_at.pop(room.ppa_id, None)
            del self._rooms[room.ppa_id]
            room.stop()
            log.info("collab.room.unloaded ppa=%s seq=%d", room.ppa_id, room.last_seq)
            if self._fanout is not None:
                await self._fanout.unsubscribe(room.ppa_id)
            await self._session_end(room)
            if self.on_unloaded is not None:
                try:
                    await self.on_unloaded(room.ppa_id)
                except Exception:
                    log.exception("collab.room.on_unloaded_failed ppa=%s", room.ppa_id)
            return

    async def _session_end(self, room: Room) -> None:
        if self.on_session_end is None or not room.authors or room.broken:
            return
        try:
            await self.on_session_end(room.ppa_id, list(room.authors))
        except Exception:
            log.exception("collab.room.session_end_failed ppa=%s", room.ppa_id)

    async def shutdown(self, grace_period: float = 10.0) -> None:
        """Stop accepting connections, commit everything pending, close every connection."""
        if self._closing:
            return
        self._closing = True
        with anyio.move_on_after(grace_period) as scope:
            for room in list(self._rooms.values()):
                await room.flush()
        flushed = not scope.cancelled_caught
        rooms = list(self._rooms.values())
        for room in rooms:
            for peer in room.peers:
                self.leave(peer)
                peer.channel.close(CloseCode.GOING_AWAY, "Arrêt du serveur")
            room.stop()
        self._rooms.clear()
        if flushed:
            with anyio.move_on_after(grace_period):
                for room in rooms:
                    await self._session_end(room)
        log.info("collab.manager.shutdown rooms=%d flushed=%s", len(rooms), flushed)
