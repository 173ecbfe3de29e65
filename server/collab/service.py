"""The collaboration engine inside the app: hooks of one connection (authenticate, authorise,
audit, join, receive, leave), the room manager in the lifespan, the versions seam
(:class:`server.ppas.lock.LiveRooms`) and the live :class:`server.ppas.documents.DocumentSource`.
"""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import anyio
import structlog
from anyio.abc import TaskGroup
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.websockets import WebSocket

from editor.collab.errors import CloseCode, MalformedMessageError, SyncError
from editor.collab.manager import RoomManager, SessionEnd
from editor.collab.ports import Limits, WritePolicy
from editor.collab.room import Peer
from editor.layout_guard import LayoutGuard
from server import authz
from server.audit.service import trace
from server.auth.browser_session import current_browser_session, origin_allowed
from server.auth.principal import Principal
from server.auth.service import principal_from_token, user_principal
from server.authz import Capability
from server.collab.avenant import AllPolicies, AvenantScopePolicy, AvenantScopes, ScopedLocker
from server.collab.channel import WebSocketChannel
from server.collab.fanout import RedisFanout
from server.collab.frames import Frames
from server.collab.memory import release_freed_memory
from server.collab.policy import OwnFieldsPolicy
from server.collab.ports import CheckpointWriter
from server.collab.rights import (
    OPPOSED_REASON,
    REMOVED_REASON,
    ROLE_REASON,
    Level,
    LiveRights,
    Verdict,
)
from server.collab.session_watch import SESSION_ENDED_REASON, SessionWatch
from server.collab.store import CompactionLease, LocalLease, SqlUpdateStore, stored_state
from server.config import Settings
from server.db import Database
from server.errors import is_contention
from server.models import PPA, CercleMember, User
from server.models.person import Role
from server.models.ppa import PPAStatus

log = structlog.get_logger(__name__)

UNAUTHENTICATED_REASON = "Authentification requise"
UNKNOWN_REASON = "PPA introuvable"
FORBIDDEN_REASON = "Accès refusé à ce PPA"
FOREIGN_ORIGIN_REASON = "Origine refusée"
_VALIDATED = (PPAStatus.VALIDATED.value, PPAStatus.SUPERSEDED.value)
TRACE_RETRY_DELAYS: tuple[float, ...] = (0.5, 2.0, 5.0, 10.0, 20.0)
"""Seconds between the attempts to record a live write's audit trace."""


def limits_of(settings: Settings) -> Limits:
    return Limits(
        max_message_bytes=settings.collab_max_message_bytes,
        max_document_bytes=settings.collab_max_document_bytes,
        max_connections_per_document=settings.collab_max_connections_per_ppa,
        max_connections_per_user=settings.collab_max_connections_per_user,
        updates_per_second=settings.collab_updates_per_second,
        update_burst=settings.collab_update_burst,
        compact_every=settings.collab_compact_every,
        commit_gather=settings.collab_commit_gather_ms / 1000,
        unload_after=settings.collab_unload_after_seconds,
    )


@dataclass(frozen=True, slots=True)
class Access:
    """What one connection may do, decided at connect time."""

    principal: Principal
    ppa_id: str
    person_id: str
    role: str
    read_only: bool
    own_fields_only: bool
    locked: bool

    @property
    def level(self) -> Level:
        if self.own_fields_only:
            return Level.OWN_FIELDS
        return Level.READ if self.read_only else Level.WRITE


def _decide(principal: Principal, ppa: PPA, role: Role | None) -> tuple[Access, bool]:
    """The connection's access to ``ppa`` with ``role``, and whether it may read it at all."""
    capabilities = authz.capabilities_of(role)
    validated = ppa.locked or ppa.status in _VALIDATED
    edit = Capability.EDIT in capabilities
    own = not edit and Capability.EDIT_OWN_FIELDS in capabilities
    access = Access(
        principal=principal,
        ppa_id=ppa.id,
        person_id=ppa.person_id,
        role=role.value if role else "",
        read_only=not (edit or own),
        own_fields_only=own,
        locked=ppa.locked,
    )
    readable = Capability.READ in capabilities or (
        Capability.READ_VALIDATED in capabilities and validated
    )
    return access, readable


class LiveDocuments:
    """``DocumentSource`` of the REST API: the live room if loaded here (flushed, so only durable
    content is shown), else the stored state + the update log tail."""

    def __init__(self, manager: RoomManager) -> None:
        self._manager = manager

    async def current_state(self, session: AsyncSession, ppa_id: str) -> bytes:
        room = self._manager.room(ppa_id)
        if room is not None and not room.broken:
            await room.flush()
            return room.doc.get_update()
        return await stored_state(session, ppa_id)


class CollabService:
    """Owns the room manager; implements :class:`server.ppas.lock.LiveRooms`."""

    def __init__(self, settings: Settings, db: Database) -> None:
        self.settings = settings
        self.db = db
        self.fanout: RedisFanout | None = None
        lease: CompactionLease = LocalLease()
        if settings.redis_url:
            self.fanout = RedisFanout(settings.redis_url, settings.redis_channel_prefix)
            lease = self.fanout
        self.store = SqlUpdateStore(
            db,
            retention=timedelta(days=settings.collab_update_retention_days),
            lease=lease,
        )
        self.manager = RoomManager(
            self.store,
            limits=limits_of(settings),
            guard=LayoutGuard(),
            fanout=self.fanout,
            on_session_end=self._session_end,
            on_unloaded=release_freed_memory,
        )
        self.avenant_scopes = AvenantScopes()
        """Which PPAs are avenant drafts (the live avenant scope, rule 4)."""
        if self.fanout is not None:
            self.fanout.locker = ScopedLocker(
                self.manager.lock, self.manager.unlock, self._refresh_scope
            )
        self.documents = LiveDocuments(self.manager)
        self._task_group: TaskGroup | None = None
        self.session_end_hooks: list[SessionEnd] = []
        """Called with ``(ppa_id, authors)`` when a room unloads (its editing session ended)."""
        self._ends = 0
        self._ended: dict[str, tuple[int, str]] = {}
        """Principal id -> (the value of ``_ends``, the reason) when its connections were last
        ended."""
        self.rights: LiveRights[Access] = LiveRights(self.manager, self._judge)
        if self.fanout is not None:
            self.fanout.on_end_principal = self.close_principal
            self.fanout.on_cercle_changed = self.rights.cercle_changed

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[CollabService]:
        async with self.manager, anyio.create_task_group() as tg:
            self._task_group = tg
            if self.fanout is not None:
                await self.fanout.run(tg)
            try:
                yield self
            finally:
                await self.manager.shutdown()
                if self.fanout is not None:
                    await self.fanout.close()
                await self.store.close()
                tg.cancel_scope.cancel()

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        if self._task_group is None:
            work.close()
            return
        self._task_group.start_soon(lambda: work)

    async def _session_end(self, ppa_id: str, authors: Sequence[str]) -> None:
        # Queued: a thousand rooms unloading together (their clients gone at once) take their
        # end-of-session checkpoints in turn, not all from the pool at once.
        async with self.db.queued():
            for hook in self.session_end_hooks:
                await _retried_on_contention(functools.partial(hook, ppa_id, authors))

    # -- LiveRooms -----------------------------------------------------------------------------

    async def lock(self, ppa_id: str) -> None:
        await self.manager.lock(ppa_id)
        if self.fanout is not None:
            await self.fanout.lock_everywhere(ppa_id)

    async def _refresh_scope(self, ppa_id: str) -> None:
        async with self.db.transaction() as session:
            await self.avenant_scopes.refresh(session, ppa_id)

    async def unlock(self, ppa_id: str) -> None:
        await self._refresh_scope(ppa_id)  # an avenant opens by unlocking: its scope first
        self.manager.unlock(ppa_id)
        if self.fanout is not None:
            await self.fanout.unlock_everywhere(ppa_id)

    async def current_state(self, ppa_id: str) -> bytes | None:
        room = self.manager.room(ppa_id)
        if room is None or room.broken:
            return None
        await room.flush()
        return room.doc.get_update()

    async def write(self, ppa_id: str, update: bytes, author: str) -> bool:
        await self.manager.write(ppa_id, update, author)
        return True

    # -- revoked principals --------------------------------------------------------------------

    async def end_principal(self, principal_id: str, reason: str) -> int:
        """Close every live connection of ``principal_id`` (a deactivated user, a revoked API
        client) here and, over Redis, on the other processes; call it once the change is
        committed, so that a reconnection is refused. Returns how many closed here."""
        closed = self.close_principal(principal_id, reason)
        if self.fanout is not None:
            await self.fanout.end_principal_everywhere(principal_id, reason)
        return closed

    def close_principal(self, principal_id: str, reason: str) -> int:
        """Close this process's live connections of ``principal_id`` (4401, ``reason``): each
        leaves its room first, so nothing it sends afterwards is applied. A connection still
        between its authorisation and joining its room is closed once joined (:meth:`serve`)."""
        self._ends += 1
        self._ended[principal_id] = (self._ends, reason)
        closed = 0
        if self.manager.connections_of(principal_id):
            for room in list(self.manager.rooms.values()):
                for peer in room.peers:
                    if peer.user_id == principal_id:
                        self.manager.leave(peer)
                        peer.channel.close(CloseCode.UNAUTHENTICATED, reason)
                        closed += 1
        log.info("collab.principal_ended", principal=principal_id, connections=closed)
        return closed

    # -- cercle changes ------------------------------------------------------------------------

    async def cercle_changed(self, person_id: str) -> None:
        """Re-evaluate every live connection to ``person_id``'s PPAs here and, over Redis, on
        the other processes (:mod:`server.collab.rights`); returns once each process applied
        it. Call it once the change of the cercle is committed."""
        await self.rights.cercle_changed(person_id)
        if self.fanout is not None:
            await self.fanout.cercle_changed_everywhere(person_id)

    async def _judge(self, accesses: Sequence[Access]) -> list[Verdict]:
        """The current verdict of each access (one transaction)."""
        verdicts: list[Verdict] = []
        async with self.db.transaction() as session:
            for access in accesses:
                ppa = await session.get(PPA, access.ppa_id)
                if ppa is None:
                    verdicts.append(Verdict(Level.NONE, UNKNOWN_REASON))
                    continue
                principal = access.principal
                role = await authz.role_for_person(session, principal, ppa.person_id)
                now, readable = _decide(principal, ppa, role)
                if readable:
                    verdicts.append(Verdict(now.level))
                elif role is not None:
                    verdicts.append(Verdict(Level.NONE, ROLE_REASON))
                else:
                    opposed = await session.scalar(
                        select(CercleMember.id).where(
                            CercleMember.person_id == ppa.person_id,
                            authz.is_member(principal),
                            CercleMember.opposed.is_(True),
                        )
                    )
                    reason = OPPOSED_REASON if opposed else REMOVED_REASON
                    verdicts.append(Verdict(Level.NONE, reason))
        return verdicts

    # -- one connection ------------------------------------------------------------------------

    async def authorize(
        self, token: str, ppa_id: str, client_addr: str | None, session_user: str | None = None
    ) -> Access:
        """Authenticate (bearer ``token``, else the browser session's user) and authorise a
        connection, and audit it; raises :class:`SyncError`."""
        denied: Access | None = None
        async with self.db.queued(), self.db.transaction() as session:
            principal = await _principal(session, self.settings, token, session_user)
            if principal is None:
                raise SyncError(UNAUTHENTICATED_REASON, CloseCode.UNAUTHENTICATED)
            ppa = await session.get(PPA, ppa_id) if len(ppa_id) <= 36 else None
            if ppa is None:
                raise SyncError(UNKNOWN_REASON, CloseCode.UNKNOWN_DOCUMENT)
            role = await authz.role_for_person(session, principal, ppa.person_id)
            access, readable = _decide(principal, ppa, role)
            await self.avenant_scopes.refresh(session, ppa.id)
            trace(
                session,
                principal,
                "ppa.live_open",
                "ppa",
                ppa.id,
                person_id=ppa.person_id,
                role=access.role or None,
                client_addr=client_addr,
                outcome="ok" if readable else "denied",
            )
            if not readable:
                denied = access
        if denied is not None:
            raise SyncError(FORBIDDEN_REASON, CloseCode.FORBIDDEN)
        return access

    async def _trace_write(self, access: Access, client_addr: str | None) -> None:
        """Record ``ppa.live_write`` (the connection's first write), retried: on SQLite, a burst
        of writes on a busy document can hold the single writer lock past the busy timeout."""
        for attempt, delay in enumerate((*TRACE_RETRY_DELAYS, None), start=1):
            try:
                async with self.db.queued(), self.db.transaction() as session:
                    trace(
                        session,
                        access.principal,
                        "ppa.live_write",
                        "ppa",
                        access.ppa_id,
                        person_id=access.person_id,
                        role=access.role or None,
                        client_addr=client_addr,
                    )
                return
            except Exception as error:
                if delay is None:
                    log.error(
                        "collab.audit_failed",
                        ppa=access.ppa_id,
                        attempts=attempt,
                        error=type(error).__name__,
                    )
                    return
                log.warning(
                    "collab.audit_retry",
                    ppa=access.ppa_id,
                    attempt=attempt,
                    error=type(error).__name__,
                )
                await anyio.sleep(delay)

    async def refuse_origin(
        self, ppa_id: str, token: str, session_user: str | None, client_addr: str | None
    ) -> None:
        """Trace a connection refused for its foreign ``Origin`` (another site's page)."""
        log.info("collab.refused", ppa=ppa_id[:36], code=int(CloseCode.FORBIDDEN), origin=False)
        async with self.db.queued(), self.db.transaction() as session:
            principal = await _principal(session, self.settings, token, session_user)
            ppa = await session.get(PPA, ppa_id) if len(ppa_id) <= 36 else None
            trace(
                session,
                principal,
                "ppa.live_open",
                "ppa",
                ppa.id if ppa else None,
                person_id=ppa.person_id if ppa else None,
                client_addr=client_addr,
                outcome="denied",
            )

    async def serve(self, websocket: WebSocket, ppa_id: str) -> None:
        """The whole life of one connection."""
        client_addr = websocket.client.host if websocket.client else None
        token = _bearer(websocket)
        browser = current_browser_session(websocket)
        session_user = browser.user_id if browser else None
        origin = websocket.headers.get("origin")
        if origin is not None and not origin_allowed(self.settings, origin):
            await self.refuse_origin(ppa_id, token, session_user, client_addr)
            await websocket.close(CloseCode.FORBIDDEN, FOREIGN_ORIGIN_REASON)  # HTTP 403
            return
        await websocket.accept()
        ends_before = self._ends
        changes_before = self.rights.mark()
        try:
            access = await self.authorize(token, ppa_id, client_addr, session_user)
        except SyncError as error:
            log.info("collab.refused", ppa=ppa_id[:36], code=int(error.code))
            await websocket.close(error.code, error.reason)
            return
        if access.locked and not self.manager.is_locked(ppa_id):
            await self.manager.lock(ppa_id)
        channel = WebSocketChannel(
            websocket,
            access.principal.id,
            access.read_only,
            max_buffer=self.settings.collab_max_send_buffer_bytes,
        )
        scope = AvenantScopePolicy(self.avenant_scopes)
        policy: WritePolicy | None = (
            AllPolicies(OwnFieldsPolicy(), scope) if access.own_fields_only else scope
        )
        try:
            peer = await self.manager.join(ppa_id, channel, policy)
        except SyncError as error:
            channel.close(error.code, error.reason)
            await channel.finish()
            return
        ended, reason = self._ended.get(access.principal.id, (0, ""))
        if ended > ends_before:
            # Deactivated or revoked after this connection's token was checked.
            self.manager.leave(peer)
            channel.close(CloseCode.UNAUTHENTICATED, reason)
            await channel.finish()
            return
        recheck = self.rights.register(peer, access, access.person_id, access.level, changes_before)
        try:
            if recheck:  # the cercle changed after this connection's rights were read
                await self.rights.recheck([peer])
                if channel.closing:
                    return
            if browser is None or token:
                await self._receive(websocket, peer, channel, access, client_addr)
            else:
                watch = SessionWatch(self.db, self.settings, browser)
                await self._receive_in_session(websocket, peer, channel, access, client_addr, watch)
        finally:
            self.rights.unregister(peer)
            self.manager.leave(peer)
            await channel.finish()

    async def _receive_in_session(
        self,
        websocket: WebSocket,
        peer: Peer,
        channel: WebSocketChannel,
        access: Access,
        client_addr: str | None,
        watch: SessionWatch,
    ) -> None:
        """:meth:`_receive` until the connection or its browser session ends."""
        async with anyio.create_task_group() as tg:

            async def end_with_session() -> None:
                await watch.ended()
                log.info("collab.session_ended", ppa=access.ppa_id, user=access.principal.id)
                channel.close(CloseCode.UNAUTHENTICATED, SESSION_ENDED_REASON)
                tg.cancel_scope.cancel()

            tg.start_soon(end_with_session)
            await self._receive(websocket, peer, channel, access, client_addr, watch.used)
            tg.cancel_scope.cancel()

    async def _receive(
        self,
        websocket: WebSocket,
        peer: Peer,
        channel: WebSocketChannel,
        access: Access,
        client_addr: str | None,
        on_frame: Callable[[], None] | None = None,
    ) -> None:
        """Read the connection's frames until it closes (``on_frame``: told of each)."""
        ppa_id = access.ppa_id
        log.info(
            "collab.joined",
            ppa=ppa_id,
            user=access.principal.id,
            read_only=channel.read_only,
            direct=channel.direct,
        )
        frames = Frames(peer, channel, access, on_frame, self._trace_aside(access, client_addr))
        direct_off: Callable[[], None] | None = None
        try:
            while True:
                message = await websocket.receive()
                if message["type"] == "websocket.disconnect":
                    break
                data = message.get("bytes")
                if data is None:
                    raise MalformedMessageError("Message texte inattendu")
                frames.received(data)
                if channel.closing:
                    break
                if direct_off is None:  # the next frames skip the queue (nothing is queued now)
                    direct_off = channel.receive_directly(frames.received_directly)
        except SyncError as error:
            frames.closed(error)
        finally:
            if direct_off is not None:
                direct_off()

    def _trace_aside(self, access: Access, client_addr: str | None) -> Callable[[], None]:
        """Trace the connection's first write without making its next frames wait."""
        return lambda: self._spawn(self._trace_write(access, client_addr))


def _bearer(websocket: WebSocket) -> str:
    """A client's token: the ``token`` query parameter (y-websocket's ``params``), else an
    ``Authorization: Bearer`` header (clients that can set one); browsers send neither."""
    token = websocket.query_params.get("token", "")
    scheme, _, credentials = websocket.headers.get("authorization", "").partition(" ")
    if not token and scheme.lower() == "bearer":
        token = credentials.strip()
    return token


async def _principal(
    session: AsyncSession, settings: Settings, token: str, session_user: str | None
) -> Principal | None:
    """Who a connection is: its bearer token's principal, else its browser session's user."""
    if token:
        return await principal_from_token(session, settings, token)
    user = await session.get(User, session_user) if session_user else None
    return user_principal(user) if user is not None and user.is_active else None


class _NoQueryString(logging.Filter):
    """uvicorn logs each WebSocket with its query string: WebSocket tokens go there."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and "WebSocket" in str(record.msg):
            record.args = tuple(
                arg.split("?", 1)[0] if isinstance(arg, str) else arg for arg in record.args
            )
        return True


def hide_websocket_tokens() -> None:
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _NoQueryString) for f in logger.filters):
        logger.addFilter(_NoQueryString())


@contextlib.asynccontextmanager
async def collaboration(
    app: FastAPI, settings: Settings, db: Database, checkpoints: CheckpointWriter
) -> AsyncIterator[None]:
    """Run the engine for the app's lifetime: registers ``app.state.collab``,
    ``app.state.live_rooms`` and the live ``app.state.documents``; an editing session that ends
    leaves a version checkpoint (``checkpoints``)."""
    service = CollabService(settings, db)

    async def version_checkpoint(ppa_id: str, authors: Sequence[str]) -> None:
        await checkpoints.checkpoint(ppa_id)

    service.session_end_hooks.append(version_checkpoint)
    async with service.running():
        app.state.collab = service
        app.state.live_rooms = service
        app.state.documents = service.documents
        yield


async def _retried_on_contention(step: Callable[[], Awaitable[None]], attempts: int = 5) -> None:
    """Run ``step`` (one transaction), again after a lock race the database could not settle
    (SQLite's busy snapshot, a PostgreSQL serialization failure): it rolled back, nothing half
    written; anything else, or the last attempt's failure, is raised."""
    for attempt in range(attempts):
        try:
            await step()
            return
        except OperationalError as exc:
            if not is_contention(exc) or attempt == attempts - 1:
                raise
            log.warning("collab.session_end_retried", attempt=attempt + 1)
            await anyio.sleep(0.2 * 2**attempt)
