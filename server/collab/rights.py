"""Live rights follow the cercle: after a change of a person's cercle (a member added, removed,
its role changed, the person's opposition recorded or lifted), every open connection to that
person's PPAs is judged again against the database, and:

* lost access (opposition, removal, a role that does not read this PPA): the connection leaves its
  room, then is closed 4403 with a French reason (:data:`OPPOSED_REASON`, :data:`REMOVED_REASON`,
  :data:`ROLE_REASON`);
* fewer rights (a writer become reader, or own-fields only): read-only at once, for good (nothing
  it sends afterwards is applied, stored or relayed), told :data:`RIGHTS_REDUCED_NOTICE`;
* more rights (a reader become contributor...): the connection keeps what it was granted and is
  told :data:`RIGHTS_CHANGED_NOTICE`; the editor offers to reconnect.

Re-checks run one at a time (in the order of the changes), after the change is committed. A
connection whose token was checked before a change of its person's cercle but that joins its room
after it is re-checked on joining (:meth:`LiveRights.register`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import Final, Generic, TypeVar

import anyio
import structlog

from editor.collab.errors import CloseCode
from editor.collab.manager import RoomManager
from editor.collab.protocol import Notice, encode_notice
from editor.collab.room import Peer
from server.collab.notices import PpaNoticeCode

log = structlog.get_logger(__name__)

OPPOSED_REASON: Final = "Accès retiré par la personne"
"""Close reason (4403) of a member the person opposed."""
REMOVED_REASON: Final = "Vous n'êtes plus membre du cercle"
"""Close reason (4403) of a member removed from the cercle."""
ROLE_REASON: Final = "Votre rôle dans le cercle ne permet plus de lire ce PPA"
"""Close reason (4403) of a member whose new role does not read this PPA."""
RIGHTS_REDUCED_NOTICE: Final = Notice(
    PpaNoticeCode.RIGHTS_REDUCED,
    "Vos droits dans le cercle ont changé : lecture seule, vos modifications ne sont plus "
    "enregistrées ni transmises.",
)
"""Read-only notice of a connection whose rights were reduced."""
RIGHTS_CHANGED_NOTICE: Final = Notice(
    PpaNoticeCode.RIGHTS_CHANGED, "Vos droits ont changé : reconnectez-vous pour modifier."
)
"""Notice of a connection that may write more after reconnecting."""
RECHECK_FAILED_REASON: Final = "Vos droits n'ont pas pu être vérifiés : reconnexion."
"""Close reason (1012: the client reconnects, and is authorised again) when a re-check failed."""


class Level(IntEnum):
    """What a connection may do, in increasing order."""

    NONE = 0
    READ = 1
    OWN_FIELDS = 2
    WRITE = 3


@dataclass(frozen=True, slots=True)
class Verdict:
    level: Level
    reason: str = ""
    """Close reason when ``level`` is :attr:`Level.NONE`."""


A = TypeVar("A")


@dataclass(slots=True)
class _Live(Generic[A]):
    access: A
    person_id: str
    granted: Level
    """What the connection may do now."""
    offered: Level
    """What it was last told a new connection would get (told again only when that grows)."""


class LiveRights(Generic[A]):
    """The open connections of this process, by person, and their re-checks.

    ``judge`` answers, in one database transaction, the current verdict of each given access.
    """

    def __init__(
        self,
        manager: RoomManager,
        judge: Callable[[Sequence[A]], Awaitable[list[Verdict]]],
    ) -> None:
        self._manager = manager
        self._judge = judge
        self._live: dict[Peer, _Live[A]] = {}
        self._changes = 0
        self._changed: dict[str, int] = {}
        """Person id -> the value of ``_changes`` when its cercle last changed (one small entry
        per person changed while this process runs)."""
        self._lock = anyio.Lock()

    def mark(self) -> int:
        """Taken before a connection's authorisation, for :meth:`register`."""
        return self._changes

    def register(self, peer: Peer, access: A, person_id: str, level: Level, mark: int) -> bool:
        """Follow a connection that just joined its room; returns whether its person's cercle
        changed since ``mark`` (then :meth:`recheck` it before reading anything it sends)."""
        self._live[peer] = _Live(access, person_id, level, level)
        return self._changed.get(person_id, 0) > mark

    def unregister(self, peer: Peer) -> None:
        self._live.pop(peer, None)

    async def cercle_changed(self, person_id: str) -> None:
        """Re-check this process's connections to ``person_id``'s PPAs (the change is
        committed)."""
        self._changes += 1
        self._changed[person_id] = self._changes
        await self.recheck(
            [peer for peer, live in self._live.items() if live.person_id == person_id]
        )

    async def recheck(self, peers: Sequence[Peer]) -> None:
        if not peers:
            return
        async with self._lock:
            peers = [peer for peer in peers if peer in self._live and not peer.closed]
            try:
                verdicts = await self._judge([self._live[peer].access for peer in peers])
            except Exception:
                log.exception("collab.rights.recheck_failed", connections=len(peers))
                for peer in peers:
                    self._close(peer, CloseCode.SERVICE_RESTART, RECHECK_FAILED_REASON)
                return
            for peer, verdict in zip(peers, verdicts, strict=True):
                self._apply(peer, verdict)

    def _close(self, peer: Peer, code: CloseCode, reason: str) -> None:
        self.unregister(peer)
        self._manager.leave(peer)  # first: nothing it sends from now on is applied
        peer.channel.close(code, reason)

    def _apply(self, peer: Peer, verdict: Verdict) -> None:
        live = self._live.get(peer)
        if live is None or peer.closed:
            return
        before, offered, level = live.granted, live.offered, verdict.level
        live.offered = level
        if level is Level.NONE:
            self._close(peer, CloseCode.FORBIDDEN, verdict.reason)
        elif level < before:
            live.granted = Level.READ  # own fields too: its editor lets it write the others
            peer.room.restrict(peer, RIGHTS_REDUCED_NOTICE)
            if level > Level.READ:  # writable again once reconnected
                peer.channel.send(encode_notice(RIGHTS_CHANGED_NOTICE))
        elif level > before and level > offered:
            peer.channel.send(encode_notice(RIGHTS_CHANGED_NOTICE))
        else:
            return
        log.info(
            "collab.rights_changed",
            ppa=peer.room.ppa_id,
            user=peer.user_id,
            before=before.name,
            after=level.name,
        )
