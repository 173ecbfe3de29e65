"""ETags of a PPA's content and the states served with them (the base of an ``If-Match``)."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from editor.schema import PPAContent
from versions.canonical import content_hash

SNAPSHOTS = 4096


class _States:
    """Contents served with an ETag (per process, bounded): the base of an ``If-Match``."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[tuple[str, str], dict[str, Any]] = OrderedDict()

    def remember(self, ppa_id: str, content: PPAContent) -> str:
        etag = etag_of(content)
        self._items[(ppa_id, etag)] = content.model_dump(mode="json")
        self._items.move_to_end((ppa_id, etag))
        while len(self._items) > self.size:
            self._items.popitem(last=False)
        return etag

    def get(self, ppa_id: str, etag: str) -> dict[str, Any] | None:
        return self._items.get((ppa_id, etag))


STATES = _States(SNAPSHOTS)


def etag_of(content: PPAContent) -> str:
    return f'"{content_hash(content)[:32]}"'
