"""Several ``ppa serve`` processes on the same documents: Redis pub/sub between their rooms.

* One channel per document (``<prefix>:doc:<ppa id>``), subscribed while its room is loaded here.
  A message is ``origin (16 bytes) kind (1 byte) first_seq last_seq (8 bytes each) payload``:
  ``U`` a committed update as relayed (the payload is the y-websocket message, durable before it
  is published), ``A`` an awareness message, ``S`` a sequence beacon (sent after the publisher
  lost messages, so that receivers notice the gap). Sync step 2 replies are never published.
  A process ignores its own messages. A receiver missing sequence numbers reads them from the
  database (:meth:`editor.collab.room.Room.catch_up`); so does every room after the subscriber
  reconnected, since Redis pub/sub keeps nothing for a disconnected subscriber.
* One control channel (``<prefix>:control``, JSON): ``lock`` / ``unlock`` a document everywhere;
  every process answers ``lock`` with ``ack`` once its room is read-only and flushed, and
  :meth:`RedisFanout.lock_everywhere` waits for as many acks as Redis delivered the request to.
  Replies go through the same ordered publisher as the updates, so a process's updates reach the
  locker before its ack. ``end_principal`` closes a deactivated user's or a revoked API client's
  live connections everywhere (published by the process that made the change, or by the
  ``ppa`` command line: :func:`publish_end_principal`). ``cercle_changed`` asks every process to
  re-evaluate its live connections to one person's PPAs after a change of their cercle; each
  answers ``ack`` once its connections follow the change
  (:meth:`RedisFanout.cercle_changed_everywhere` waits for them, like ``lock``).
* Compaction lease: ``SET <prefix>:compact:<ppa id> NX PX``, released only by its holder.
"""

from __future__ import annotations

import contextlib
import json
import os
import struct
import uuid
from collections import Counter, deque
from collections.abc import Awaitable, Callable
from typing import Any, Final, Protocol

import anyio
import structlog
from anyio.abc import TaskGroup
from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from editor.collab.room import Room

log = structlog.get_logger(__name__)

_HEADER: Final = struct.Struct(">16sc2Q")
_UPDATE: Final = b"U"
_AWARENESS: Final = b"A"
_BEACON: Final = b"S"
_LEASE_MS: Final = 60_000
_RELEASE: Final = (
    "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"
)


class LockTimeoutError(RuntimeError):
    """Some server process did not confirm a lock in time."""


class Locker(Protocol):
    """What the control channel acts on (the room manager)."""

    async def lock(self, ppa_id: str) -> bool: ...

    def unlock(self, ppa_id: str) -> bool: ...


class _Waiter:
    __slots__ = ("acks", "done", "needed")

    def __init__(self) -> None:
        self.acks = 0
        self.needed: int | None = None
        self.done = anyio.Event()

    def check(self) -> None:
        if self.needed is not None and self.acks >= self.needed:
            self.done.set()


class RedisFanout:
    """:class:`editor.collab.ports.Fanout` over Redis, plus the lock control channel and the
    lease."""

    def __init__(self, url: str, prefix: str, *, lock_timeout: float = 10.0) -> None:
        self._url = url
        self._prefix = prefix
        self._origin = uuid.uuid4().bytes
        self._redis: Redis = Redis.from_url(url)
        self._pubsub: PubSub | None = None
        self._subscriber: Redis | None = None
        self._control = f"{prefix}:control"
        self._counts: Counter[str] = Counter()
        self._rooms: dict[str, Room] = {}
        self._early: dict[str, list[tuple[bytes, bytes, tuple[int, int] | None]]] = {}
        self._outbox: deque[tuple[str, bytes]] = deque()
        self._wake = anyio.Event()
        self._waiters: dict[str, _Waiter] = {}
        self._lock_timeout = lock_timeout
        self._task_group: TaskGroup | None = None
        self._publish_failed = False
        self.locker: Locker | None = None
        self.on_end_principal: Callable[[str, str], object] | None = None
        """Called with ``(principal_id, reason)`` when another process ended a principal."""
        self.on_cercle_changed: Callable[[str], Awaitable[None]] | None = None
        """Awaited with the person's id when another process changed that person's cercle."""
        self.connected = anyio.Event()

    @property
    def origin(self) -> str:
        return self._origin.hex()

    def _doc_channel(self, ppa_id: str) -> str:
        return f"{self._prefix}:doc:{ppa_id}"

    # -- lifecycle ---------------------------------------------------------------------------

    async def run(self, task_group: TaskGroup) -> None:
        """Start the subscriber and the publisher in ``task_group``; returns once subscribed."""
        self._task_group = task_group
        task_group.start_soon(self._publisher)
        task_group.start_soon(self._subscriber_loop)
        with anyio.move_on_after(10):
            await self.connected.wait()
        if not self.connected.is_set():
            log.error("collab.redis.unreachable")

    async def close(self) -> None:
        with anyio.move_on_after(2):
            await self._drain()
        if self._pubsub is not None:
            with contextlib.suppress(Exception):
                await self._pubsub.aclose()  # type: ignore[no-untyped-call]
        if self._subscriber is not None:
            with contextlib.suppress(Exception):
                await self._subscriber.aclose()
        with contextlib.suppress(Exception):
            await self._redis.aclose()

    # -- Fanout ------------------------------------------------------------------------------

    def publish(self, ppa_id: str, message: bytes, seqs: tuple[int, int] | None) -> None:
        kind = _AWARENESS if seqs is None else _UPDATE
        first, last = seqs or (0, 0)
        self._send(
            self._doc_channel(ppa_id), _HEADER.pack(self._origin, kind, first, last) + message
        )

    async def subscribe(self, ppa_id: str) -> None:
        self._counts[ppa_id] += 1
        if self._counts[ppa_id] > 1:
            return
        self._early[ppa_id] = []
        if self._pubsub is not None:
            try:
                await self._pubsub.subscribe(self._doc_channel(ppa_id))
            except Exception:
                log.warning("collab.redis.subscribe_failed", ppa=ppa_id)

    def attach(self, room: Room) -> None:
        self._rooms[room.ppa_id] = room
        for kind, payload, seqs in self._early.pop(room.ppa_id, []):
            self._deliver(room, kind, payload, seqs)

    async def unsubscribe(self, ppa_id: str) -> None:
        self._counts[ppa_id] -= 1
        if self._counts[ppa_id] > 0:
            return
        del self._counts[ppa_id]
        self._rooms.pop(ppa_id, None)
        self._early.pop(ppa_id, None)
        if self._pubsub is not None:
            try:
                await self._pubsub.unsubscribe(self._doc_channel(ppa_id))
            except Exception:
                log.warning("collab.redis.unsubscribe_failed", ppa=ppa_id)

    # -- locks -------------------------------------------------------------------------------

    async def lock_everywhere(self, ppa_id: str) -> None:
        """Lock ``ppa_id`` on every other process; returns once each confirmed."""
        acks, needed = await self._everywhere({"op": "lock", "ppa": ppa_id})
        if acks < needed:
            raise LockTimeoutError(f"{acks}/{needed} processes locked {ppa_id}")

    async def _everywhere(self, request: dict[str, Any]) -> tuple[int, int]:
        """Publish ``request`` on the control channel and wait (``lock_timeout`` at most) for
        every other process's ``ack``; returns (acks, processes that should answer)."""
        nonce = uuid.uuid4().hex
        waiter = _Waiter()
        self._waiters[nonce] = waiter
        try:
            request = {**request, "nonce": nonce, "from": self.origin}
            receivers = int(await self._redis.publish(self._control, json.dumps(request)))
            waiter.needed = max(0, receivers - 1)  # this process receives its own request
            waiter.check()
            with anyio.move_on_after(self._lock_timeout):
                await waiter.done.wait()
            return waiter.acks, waiter.needed
        finally:
            del self._waiters[nonce]

    async def unlock_everywhere(self, ppa_id: str) -> None:
        request = {"op": "unlock", "ppa": ppa_id, "from": self.origin}
        await self._redis.publish(self._control, json.dumps(request))

    async def end_principal_everywhere(self, principal_id: str, reason: str) -> None:
        """Ask every other process to close ``principal_id``'s live connections."""
        await _publish_end(self._redis, self._control, principal_id, reason, self.origin)

    async def cercle_changed_everywhere(self, person_id: str) -> None:
        """Have every other process re-evaluate its connections to ``person_id``'s PPAs;
        returns once each confirmed (a process that does not answer in time is logged: the
        change is committed, its connections are re-checked at their next connection)."""
        try:
            acks, needed = await self._everywhere({"op": "cercle_changed", "person": person_id})
        except Exception:
            log.warning("collab.redis.cercle_changed_failed", person=person_id)
            return
        if acks < needed:
            log.warning("collab.redis.cercle_changed_timeout", person=person_id, acks=acks)

    # -- compaction lease --------------------------------------------------------------------

    async def acquire(self, ppa_id: str) -> bool:
        key = f"{self._prefix}:compact:{ppa_id}"
        try:
            return bool(await self._redis.set(key, self._origin, nx=True, px=_LEASE_MS))
        except Exception:
            log.warning("collab.redis.lease_failed", ppa=ppa_id)
            return False

    async def release(self, ppa_id: str) -> None:
        key = f"{self._prefix}:compact:{ppa_id}"
        with contextlib.suppress(Exception):
            await self._redis.eval(_RELEASE, 1, key, self._origin)

    # -- publisher ---------------------------------------------------------------------------

    def _send(self, channel: str, data: bytes | str) -> None:
        payload = data.encode() if isinstance(data, str) else data
        self._outbox.append((channel, payload))
        self._wake.set()

    async def _drain(self) -> None:
        while self._outbox:
            batch = list(self._outbox)
            self._outbox.clear()
            async with self._redis.pipeline(transaction=False) as pipe:
                for channel, data in batch:
                    pipe.publish(channel, data)
                await pipe.execute()

    async def _publisher(self) -> None:
        delay = 0.05
        while True:
            await self._wake.wait()
            self._wake = anyio.Event()
            try:
                await self._drain()
            except Exception:
                # What was not published is lost for the others; they catch up from the
                # database once told where this process's rooms stand (beacons).
                log.warning("collab.redis.publish_failed", dropped=len(self._outbox))
                self._outbox.clear()
                self._publish_failed = True
                await anyio.sleep(delay)
                delay = min(delay * 2, 2.0)
                self._wake.set()
                continue
            delay = 0.05
            if self._publish_failed:
                self._publish_failed = False
                for room in list(self._rooms.values()):
                    beacon = _HEADER.pack(self._origin, _BEACON, room.last_seq, room.last_seq)
                    self._send(self._doc_channel(room.ppa_id), beacon)

    # -- subscriber --------------------------------------------------------------------------

    async def _connect(self) -> PubSub:
        # No silent reconnection inside redis-py: a reconnection must be seen, to catch up.
        self._subscriber = Redis.from_url(
            self._url, retry=Retry(NoBackoff(), 0), client_name=f"{self._prefix}:sub:{os.getpid()}"
        )
        pubsub = self._subscriber.pubsub(ignore_subscribe_messages=True)
        await pubsub.subscribe(self._control)
        done: set[str] = set()
        while wanted := set(self._counts) - done:  # documents loaded meanwhile too
            await pubsub.subscribe(*(self._doc_channel(p) for p in wanted))
            done |= wanted
        return pubsub

    async def _subscriber_loop(self) -> None:
        delay = 0.05
        first = True
        while True:
            try:
                if self._pubsub is None:
                    self._pubsub = await self._connect()
                    self.connected.set()
                    log.info("collab.redis.subscribed", rooms=len(self._counts))
                    if not first:
                        for room in list(self._rooms.values()):
                            if self._task_group is None:
                                raise RuntimeError("fan-out not running")
                            self._task_group.start_soon(room.catch_up)
                    first = False
                    delay = 0.05
                message = await self._pubsub.get_message(
                    ignore_subscribe_messages=True, timeout=1.0
                )
            except Exception:
                log.warning("collab.redis.disconnected")
                pubsub, self._pubsub = self._pubsub, None
                if pubsub is not None:
                    with contextlib.suppress(Exception):
                        await pubsub.aclose()  # type: ignore[no-untyped-call]
                await anyio.sleep(delay)
                delay = min(delay * 2, 2.0)
                continue
            if message is None or message.get("type") != "message":
                continue
            channel = message["channel"]
            channel = channel.decode() if isinstance(channel, bytes) else str(channel)
            try:
                if channel == self._control:
                    self._on_control(message["data"])
                else:
                    self._on_document(channel, message["data"])
            except Exception:
                log.exception("collab.redis.message_failed")

    def _on_document(self, channel: str, data: bytes) -> None:
        if len(data) < _HEADER.size:
            return
        origin, kind, first, last = _HEADER.unpack_from(data)
        if origin == self._origin:
            return
        ppa_id = channel.rsplit(":", 1)[1]
        payload = data[_HEADER.size :]
        seqs = (first, last) if kind in (_UPDATE, _BEACON) else None
        room = self._rooms.get(ppa_id)
        if room is None:
            early = self._early.get(ppa_id)
            if early is not None:
                early.append((kind, payload, seqs))
            return
        self._deliver(room, kind, payload, seqs)

    @staticmethod
    def _deliver(room: Room, kind: bytes, payload: bytes, seqs: tuple[int, int] | None) -> None:
        if kind == _BEACON:
            if seqs is None:
                raise RuntimeError("a beacon without sequence numbers")
            room.note_stored(seqs[1])
        else:
            room.receive_remote(payload, seqs)

    def _on_control(self, data: bytes) -> None:
        request: dict[str, Any] = json.loads(data)
        op = request.get("op")
        if op == "ack":
            waiter = self._waiters.get(str(request.get("nonce")))
            if waiter is not None and request.get("to") == self.origin:
                waiter.acks += 1
                waiter.check()
            return
        if request.get("from") == self.origin:
            return
        if op == "end_principal":
            if self.on_end_principal is not None:
                self.on_end_principal(str(request.get("principal")), str(request.get("reason")))
            return
        if op == "cercle_changed":
            if self._task_group is not None:
                self._task_group.start_soon(self._cercle_changed_here, request)
            return
        if self.locker is None:
            return
        ppa_id = str(request.get("ppa"))
        if op == "lock" and self._task_group is not None:
            self._task_group.start_soon(self._lock_here, ppa_id, request)
        elif op == "unlock":
            self.locker.unlock(ppa_id)

    async def _cercle_changed_here(self, request: dict[str, Any]) -> None:
        if self.on_cercle_changed is not None:
            try:
                await self.on_cercle_changed(str(request.get("person")))
            except Exception:
                log.exception("collab.redis.cercle_changed_failed")
        self._ack(request)

    def _ack(self, request: dict[str, Any]) -> None:
        reply = {"op": "ack", "nonce": request.get("nonce"), "to": request.get("from")}
        self._send(self._control, json.dumps({**reply, "from": self.origin}))

    async def _lock_here(self, ppa_id: str, request: dict[str, Any]) -> None:
        if self.locker is None:
            raise RuntimeError("fan-out without a locker")
        try:
            await self.locker.lock(ppa_id)
        except Exception:
            log.exception("collab.redis.lock_failed", ppa=ppa_id)
            return  # no ack: the locker times out rather than read a state still changing
        self._ack(request)


async def _publish_end(
    redis: Redis, control: str, principal_id: str, reason: str, origin: str
) -> None:
    request = {"op": "end_principal", "principal": principal_id, "reason": reason, "from": origin}
    try:
        await redis.publish(control, json.dumps(request))
    except Exception:  # the change is committed: its tokens are refused at the next connect
        log.warning("collab.redis.end_principal_failed", principal=principal_id)


async def publish_end_principal(url: str, prefix: str, principal_id: str, reason: str) -> None:
    """:meth:`RedisFanout.end_principal_everywhere` from outside a server (the command line)."""
    redis: Redis = Redis.from_url(url)
    try:
        await _publish_end(redis, f"{prefix}:control", principal_id, reason, "cli")
    finally:
        with contextlib.suppress(Exception):
            await redis.aclose()
