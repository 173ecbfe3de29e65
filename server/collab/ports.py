"""What the collaboration engine needs from other domains, as protocols it defines."""

from __future__ import annotations

from typing import Protocol


class CheckpointWriter(Protocol):
    """Records a version checkpoint of a PPA's document when an editing session ends
    (implemented by :class:`server.versions_api.service.SessionCheckpoints`)."""

    async def checkpoint(self, ppa_id: str) -> int | None:
        """The new version's number, or ``None`` when nothing changed or the PPA is locked."""
        ...
