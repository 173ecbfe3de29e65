"""Presence (awareness) kept by a room: one state per Yjs client id."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final, NamedTuple

if TYPE_CHECKING:
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
