"""Presence (awareness) kept by a room: one state per Yjs client id."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final, NamedTuple

from editor.collab.protocol import AwarenessEntry

if TYPE_CHECKING:
    from collections.abc import Iterable

    from editor.collab.room import Peer


class AwarenessState(NamedTuple):
    clock: int
    state: str | None
    owner: Peer | None
    """The local connection that owns this presence; ``None`` for one of another process."""
    at: float = 0.0
    """When it was last received (monotonic): presences of other processes expire."""


REMOTE_AWARENESS_TTL: Final = 45.0
"""Seconds a presence received from another process is kept without renewal (stock clients
renew theirs every 15 s; a crashed process never sends their removal)."""


class Presence:
    """The presences of one room: owned by a local connection, or received from another process
    (then they expire)."""

    __slots__ = ("_states",)

    def __init__(self) -> None:
        self._states: dict[int, AwarenessState] = {}

    def entries(self, now: float) -> list[AwarenessEntry]:
        """The current presences, once those of other processes not renewed in time are gone."""
        expired = now - REMOTE_AWARENESS_TTL
        for cid in [c for c, s in self._states.items() if s.owner is None and s.at < expired]:
            del self._states[cid]
        return [
            AwarenessEntry(cid, s.clock, s.state)
            for cid, s in self._states.items()
            if s.state is not None
        ]

    def accept(self, peer: Peer, entries: Iterable[AwarenessEntry]) -> list[AwarenessEntry]:
        """Record what ``peer`` sent; the entries accepted (to relay)."""
        accepted: list[AwarenessEntry] = []
        for entry in entries:
            known = self._states.get(entry.client_id)
            if known is not None:
                if known.owner is not None and known.owner is not peer:
                    continue  # another live connection owns this presence
                if entry.clock < known.clock or (
                    entry.clock == known.clock and entry.state != "null"
                ):
                    continue
            state = None if entry.state == "null" else entry.state
            self._states[entry.client_id] = AwarenessState(entry.clock, state, peer)
            peer.awareness_ids.add(entry.client_id)
            accepted.append(entry)
        return accepted

    def receive_remote(self, entries: Iterable[AwarenessEntry], now: float) -> None:
        """Record presences of another process (never over one a local connection owns)."""
        for entry in entries:
            known = self._states.get(entry.client_id)
            if known is not None and known.owner is not None:
                continue
            state = None if entry.state == "null" else entry.state
            self._states[entry.client_id] = AwarenessState(entry.clock, state, None, now)

    def remove(self, peer: Peer) -> list[AwarenessEntry]:
        """Forget the presences ``peer`` owns; their removal entries (to relay)."""
        gone = []
        for cid in peer.awareness_ids:
            known = self._states.get(cid)
            if known is not None and known.owner is peer:
                del self._states[cid]
                if known.state is not None:
                    gone.append(AwarenessEntry(cid, known.clock + 1, "null"))
        return gone
