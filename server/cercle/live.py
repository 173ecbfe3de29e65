"""After a change of a person's cercle, the live connections to their PPAs follow it at once."""

from __future__ import annotations

from typing import Any, Protocol


class LiveRights(Protocol):
    """What re-evaluates live connections (:class:`server.collab.service.CollabService`)."""

    async def cercle_changed(self, person_id: str) -> None: ...


async def cercle_changed(state: Any, person_id: str) -> None:
    """Have every open connection to ``person_id``'s PPAs, on every process, follow the cercle
    (closed, read-only, or told to reconnect: :mod:`server.collab.rights`). Call it after the
    change is committed, before answering: a write sent after the answer is judged by it."""
    live: LiveRights | None = getattr(state, "collab", None)
    if live is not None:
        await live.cercle_changed(person_id)
