"""The seam between versions (validation, avenants, restores) and the live collaboration rooms.

The collaboration engine implements :class:`LiveRooms`
(:class:`server.collab.service.CollabService`) and registers it as ``app.state.live_rooms`` for
the app's lifetime; elsewhere (scripts such as ``ppa demo``) :class:`NoLiveRooms` stands in:
nothing is live, locks are no-ops, and server-made changes are folded into the stored document by
the caller, in its own transaction.

Contract (what the versions code relies on):

* ``lock(ppa_id)`` returns once every live connection to the PPA's document is read-only and
  every write accepted before is durably stored, so that the state read right after it is final.
  It is idempotent, and a room loaded later must start locked when ``ppas.locked`` is true.
* ``unlock(ppa_id)`` gives writers back their rights (idempotent). Versions calls it only when
  the database says the PPA is not locked (after an avenant opens, or to undo a lock taken by a
  validation that failed).
* ``current_state(ppa_id)`` is the live document's full Yjs state when a room holds it, or
  ``None`` (the caller then reads the stored document through ``app.state.documents``).
* ``write(ppa_id, update, author)`` applies a server-made Yjs update (a restore, the content of
  an avenant) to the document durably - the update log, with its author, and the loaded room,
  relayed to every client - and returns ``True``; ``False`` means "no live documents here": the
  caller folds the update into ``ppa_documents`` itself. It must work on a locked room (the lock
  stops clients, not the server). Versions calls it before writing anything else in its
  transaction (SQLite has one writer at a time).
"""

from __future__ import annotations

from typing import Protocol

from starlette.datastructures import State


class LiveRooms(Protocol):
    async def lock(self, ppa_id: str) -> None: ...

    async def unlock(self, ppa_id: str) -> None: ...

    async def current_state(self, ppa_id: str) -> bytes | None: ...

    async def write(self, ppa_id: str, update: bytes, author: str) -> bool: ...


class NoLiveRooms:
    """No live rooms: used until the collaboration engine registers its own."""

    async def lock(self, ppa_id: str) -> None:
        return None

    async def unlock(self, ppa_id: str) -> None:
        return None

    async def current_state(self, ppa_id: str) -> bytes | None:
        return None

    async def write(self, ppa_id: str, update: bytes, author: str) -> bool:
        return False


def live_rooms(state: State) -> LiveRooms:
    """The rooms registered on ``app.state.live_rooms`` (registering :class:`NoLiveRooms`)."""
    rooms: LiveRooms | None = getattr(state, "live_rooms", None)
    if rooms is None:
        rooms = NoLiveRooms()
        state.live_rooms = rooms
    return rooms
