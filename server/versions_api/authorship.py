"""Who changed what between two versions.

Exact source: the collaboration engine's durable update log (every update with its author and
time). The updates made between two versions are replayed, one by one, on a copy of the older
version's Yjs state, with deep observers on every root: each update yields the paths it touched,
in the diff's vocabulary (``actions/<id>/planning/lieu``, ``objectifs/<id>``, ``projet/titre``,
``projet_de_vie``), and becomes one :class:`versions.diff.AuthoredChange` per path. Cost: one
CRDT apply per update plus a list of item ids per structural change - no content projection per
update.

When the bytes of some updates of the range are gone (the log keeps author and time for ever but
drops folded bytes after its retention period), changes are attributed per version instead: every
field changed from version ``k-1`` to ``k`` is credited to the authors recorded on version ``k``
(who wrote in the log between the two, or the version's creator), at its creation time.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Literal, NamedTuple

from pycrdt import Array, ArrayEvent, Doc, Map, MapEvent, Text
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from editor.crdt import MAP_ROOTS, ROOT_TYPES, TEXT_ROOTS
from server.models import PPAUpdate, Version
from versions.canonical import content_from_canonical
from versions.diff import AuthoredChange, ChangeKind, diff_contents


class LoggedUpdate(NamedTuple):
    update: bytes
    author: str
    at: datetime


async def read_update_log(
    session: AsyncSession, ppa_id: str, after: datetime | None, until: datetime
) -> list[LoggedUpdate] | None:
    """Updates of the PPA's document made in ``(after, until]`` (the collaboration engine's
    ``ppa_updates``, in commit order), or ``None`` when the bytes of some of them are gone
    (folded and past the log's retention: their authors and times stay, not their content)."""
    query = select(PPAUpdate.data, PPAUpdate.author, PPAUpdate.created_at).where(
        PPAUpdate.ppa_id == ppa_id, PPAUpdate.created_at <= until
    )
    if after is not None:
        query = query.where(PPAUpdate.created_at > after)
    updates: list[LoggedUpdate] = []
    for data, author, at in await session.execute(query.order_by(PPAUpdate.seq)):
        if data is None:
            return None
        updates.append(LoggedUpdate(bytes(data), author, at))
    return updates


async def authors_in_log(
    session: AsyncSession, ppa_id: str, after: datetime | None, until: datetime
) -> list[str]:
    """Who wrote in ``(after, until]`` (authors and times are kept for ever)."""
    query = select(PPAUpdate.author).where(
        PPAUpdate.ppa_id == ppa_id, PPAUpdate.created_at <= until
    )
    if after is not None:
        query = query.where(PPAUpdate.created_at > after)
    authors = set(await session.scalars(query.distinct()))
    return sorted(a for a in authors if not a.startswith("system:"))


def _item_id(entry: Any) -> str | None:
    if isinstance(entry, Map):
        value = entry.get("id")
        return value if isinstance(value, str) else None
    return None


class _Replay:
    """A document being replayed, collecting the diff paths each update touches."""

    def __init__(self, state: bytes) -> None:
        self.doc: Doc[Any] = Doc()
        if state:
            self.doc.apply_update(state)
        self.arrays: dict[str, Array[Any]] = {}
        self.ids: dict[str, set[str]] = {}
        self.touched: set[str] = set()
        self.restructured: set[str] = set()
        self._subscriptions = []
        for name in ROOT_TYPES:
            root: Any
            if name in TEXT_ROOTS:
                root = self.doc.get(name, type=Text)
            elif name in MAP_ROOTS:
                root = self.doc.get(name, type=Map)
            else:
                root = self.doc.get(name, type=Array)
                self.arrays[name] = root
                self.ids[name] = self._ids(root)
            self._subscriptions.append(root.observe_deep(self._observer(name)))

    def _observer(self, root: str) -> Callable[[list[Any]], None]:
        def observe(events: list[Any]) -> None:
            self._on_events(root, events)

        return observe

    @staticmethod
    def _ids(array: Array[Any]) -> set[str]:
        return {i for i in (_item_id(entry) for entry in array) if i is not None}

    def _on_events(self, root: str, events: list[Any]) -> None:
        for event in events:
            path = list(event.path)
            if root in TEXT_ROOTS:
                self.touched.add(root)
                continue
            if root in self.arrays:
                base = self._item_path(root, event, path)
                if base is None:
                    continue
            else:
                base = [root, *(str(p) for p in path)]
            if isinstance(event, MapEvent):
                for key in getattr(event, "keys", None) or ():
                    self.touched.add("/".join([*base, str(key)]))
            elif len(base) > 1:
                self.touched.add("/".join(base))

    def _item_path(self, root: str, event: Any, path: list[Any]) -> list[str] | None:
        """The path of an event under array ``root``, by item id (None: nothing more to do)."""
        if not path:
            self._on_restructure(root, event)
            return None
        index = path[0]
        array = self.arrays[root]
        if not isinstance(index, int) or index >= len(array):
            return None
        item_id = _item_id(array[index])
        if item_id is None:
            return None
        return [root, item_id, *(str(p) for p in path[1:])]

    def _on_restructure(self, root: str, event: Any) -> None:
        """Array ``root`` itself changed: remember it and touch the items it inserted."""
        self.restructured.add(root)
        delta = getattr(event, "delta", None) if isinstance(event, ArrayEvent) else None
        for op in delta or ():
            for inserted in op.get("insert", ()) if isinstance(op, dict) else ():
                item_id = _item_id(inserted)
                if item_id is not None:
                    self.touched.add(f"{root}/{item_id}")

    def apply(self, update: bytes) -> set[str]:
        self.touched = set()
        self.restructured = set()
        self.doc.apply_update(update)
        for name in self.restructured:
            now = self._ids(self.arrays[name])
            for removed in self.ids[name] - now:
                self.touched.add(f"{name}/{removed}")
            self.ids[name] = now
        return self.touched


def changes_from_updates(
    base_state: bytes, updates: Sequence[LoggedUpdate]
) -> list[AuthoredChange]:
    """Replay ``updates`` on ``base_state``; one authored change per path each update touched."""
    replay = _Replay(base_state)
    changes: list[AuthoredChange] = []
    for logged in updates:
        for path in sorted(replay.apply(logged.update)):
            changes.append(AuthoredChange(path, logged.author, logged.at))
    return changes


def changes_from_versions(versions: Sequence[Version]) -> list[AuthoredChange]:
    """Fallback: credit each change from version ``k-1`` to ``k`` to the authors of ``k``."""
    changes: list[AuthoredChange] = []
    for before, after in itertools.pairwise(versions):
        diff = diff_contents(
            content_from_canonical(before.content),
            content_from_canonical(after.content),
            labeler=lambda _code: None,
        )
        authors = after.authors or [after.created_by]
        for item in diff.items:
            if item.kind is ChangeKind.CHANGED:
                paths = [field.path for field in item.fields]
            else:
                paths = [item.path]
            for path in paths:
                changes.extend(AuthoredChange(path, author, after.created_at) for author in authors)
    return changes


async def authorship_between(
    session: AsyncSession, older: Version, newer: Version, between: Sequence[Version]
) -> tuple[list[AuthoredChange], Literal["update_log", "versions"]]:
    """Authored changes from ``older`` to ``newer`` (``between``: the versions in that range,
    ``older`` and ``newer`` included, in order), and where they come from."""
    updates = await read_update_log(session, older.ppa_id, older.created_at, newer.created_at)
    if updates is not None:
        return changes_from_updates(older.yjs_state, updates), "update_log"
    return changes_from_versions(between), "versions"


async def authors_since(
    session: AsyncSession, ppa_id: str, since: datetime | None, until: datetime, fallback: str
) -> list[str]:
    """Who edited the document in ``(since, until]`` (the update log); ``[fallback]`` (the
    version's creator, unless the service) when nobody did: a version always names someone."""
    authors = await authors_in_log(session, ppa_id, since, until)
    if authors:
        return authors
    return [] if fallback.startswith("system:") else [fallback]
