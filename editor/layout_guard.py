"""The schema guard of the PPA document layout (:class:`editor.collab.ports.SchemaGuard`)."""

from __future__ import annotations

from typing import Any, TypeAlias

from pycrdt import Array, Doc, Map, Text

from editor.collab.ports import GUARD_AUTHOR

_Segment: TypeAlias = int | str


class LayoutGuard:
    """:class:`SchemaGuard` of the PPA document layout (``docs/document-schema.md``).

    ``check`` is :func:`editor.crdt.check_layout` (problems as ``path:code``, never values).
    ``repair`` writes compensating changes mirroring what
    :func:`editor.crdt.doc_to_content_repaired` ignores on reading: an unknown root is emptied, a
    root's content of the wrong type is removed, a broken item (not a Map, no usable id, repeated
    id) is deleted from its array, an unknown key or an invalid value is deleted from its map (it
    then reads as its default), formatted text is rewritten as plain text.
    """

    def __init__(self) -> None:
        from editor import crdt

        self._crdt = crdt
        self.text_roots: frozenset[str] = frozenset(crdt.TEXT_ROOTS)
        self._fields: set[str] = {field for fields in crdt.FIELDS.values() for field in fields}

    def check(self, doc: Doc[Any]) -> list[str]:
        return [f"{p.path}:{p.code}" for p in self._problems(doc)]

    def _problems(self, doc: Doc[Any]) -> list[Any]:
        # A root cannot be deleted from a Yjs document: an emptied unknown root is harmless.
        return [
            p
            for p in self._crdt.check_layout(doc)
            if p.code != "unknown_root" or not _root_is_empty(doc, p.path)
        ]

    def repair(self, doc: Doc[Any]) -> None:
        problems = self._problems(doc)
        targets: list[tuple[tuple[_Segment, ...], str, str]] = []
        for problem in problems:
            if problem.code == "unknown_root":
                targets.append(((problem.path,), problem.code, problem.path))
                continue
            segments = self._parse(problem.path)
            if segments is None:
                continue
            if problem.code in ("bad_id", "bad_value") and segments[-1] == "id":
                segments = segments[:-1]  # an item without a usable id goes
            targets.append((segments, problem.code, problem.path))
        # Deepest paths and highest positions first, so that earlier positions stay valid.
        targets.sort(key=lambda t: [(1, s) if isinstance(s, int) else (0, s) for s in t[0]])
        with doc.transaction(origin=GUARD_AUTHOR):
            for segments, code, _path in reversed(targets):
                try:
                    self._repair_one(doc, segments, code)
                except (KeyError, IndexError, TypeError, ValueError):
                    continue  # moved by an earlier repair: the next check reports it again

    def _parse(self, path: str) -> tuple[_Segment, ...] | None:
        root_end = len(path)
        for index, char in enumerate(path):
            if char in ".[":
                root_end = index
                break
        root = path[:root_end]
        if root not in self._crdt.ROOT_TYPES:
            return None
        segments: list[_Segment] = [root]
        rest = path[root_end:]
        while rest:
            if rest[0] == "[":
                close = rest.find("]")
                if close < 0 or not rest[1:close].isdigit():
                    return None
                segments.append(int(rest[1:close]))
                rest = rest[close + 1 :]
                continue
            key = rest[1:]
            for known in sorted(self._fields, key=len, reverse=True):
                after = key[len(known) :]
                if key.startswith(known) and (after == "" or after[0] in ".["):
                    segments.append(known)
                    rest = after
                    break
            else:
                segments.append(key)  # an unknown key: the rest of the path is its name
                rest = ""
        return tuple(segments)

    def _root(self, doc: Doc[Any], name: str) -> Any:
        kind = self._crdt.ROOT_TYPES[name]
        return doc.get(name, type=Text if kind == "Text" else Map if kind == "Map" else Array)

    def _repair_one(self, doc: Doc[Any], segments: tuple[_Segment, ...], code: str) -> None:
        name = str(segments[0])
        if len(segments) == 1:
            expected = self._crdt.ROOT_TYPES.get(name)
            if code == "rich_text":
                _plain_text(doc.get(name, type=Text))
                return
            _clear_root(doc, name, keep=expected)
            return
        parent = self._root(doc, name)
        for segment in segments[1:-1]:
            parent = parent[segment]
        last = segments[-1]
        if code == "rich_text":
            _plain_text(parent[last])
            return
        array_entry = isinstance(last, int) and isinstance(parent, Array)
        if array_entry or (isinstance(last, str) and isinstance(parent, Map)):
            del parent[last]


def _plain_text(text: Any) -> None:
    if isinstance(text, Text):
        plain = "".join(chunk for chunk, _attrs in text.diff() if isinstance(chunk, str))
        text.clear()
        text += plain


def _has_text(text: Text) -> bool:
    return any(isinstance(chunk, str) or attrs for chunk, attrs in text.diff())


def _root_is_empty(doc: Doc[Any], name: str) -> bool:
    # Text view first: an Array view of formatted text would hang yrs.
    text = doc.get(name, type=Text)
    if _has_text(text) or any(True for _ in text.diff()):
        return False
    return len(doc.get(name, type=Map)) == 0 and len(doc.get(name, type=Array)) == 0


def _clear_root(doc: Doc[Any], name: str, keep: str | None) -> None:
    # Yjs cannot delete a root: empty every view but the documented one (Text first: an Array
    # view of formatted text would hang yrs).
    text = doc.get(name, type=Text)
    if keep is None:
        text.clear()  # characters, embeds and elements alike
    elif keep != "Text" and _has_text(text):
        offset = 0
        spans: list[tuple[int, int]] = []
        for chunk, _attrs in text.diff():
            size = len(chunk.encode()) if isinstance(chunk, str) else 1
            if isinstance(chunk, str):
                spans.append((offset, size))
            offset += size
        for start, size in reversed(spans):
            del text[start : start + size]
    if keep != "Map":
        ymap = doc.get(name, type=Map)
        for key in list(ymap.keys()):
            del ymap[key]
    if keep is None:
        array = doc.get(name, type=Array)
        if len(array):
            del array[0 : len(array)]
