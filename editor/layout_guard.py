"""The schema guard of the PPA document layout (:class:`editor.collab.ports.SchemaGuard`)."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any, Final

from pycrdt import Array, Doc, Map, Text

from editor.collab.errors import MalformedMessageError
from editor.collab.ports import GUARD_AUTHOR, ILLEGAL_CHARACTER, UNREADABLE
from editor.collab.updates import update_strings
from editor.crdt import check_layout, doc_from_state
from editor.layout_rule import (
    ROOT_TYPES,
    TEXT_ROOTS,
    LayoutProblem,
    Segment,
    has_text,
    read_layout,
)
from editor.text_rules import has_illegal_chars

log = logging.getLogger(__name__)

_REPAIR_PASSES: Final = 4
"""A repair can reveal a problem (an item whose wrong-typed id was deleted has none): passes."""


def violations(problems: Iterable[LayoutProblem]) -> list[str]:
    """``path:code`` of each problem (never a value)."""
    return [f"{p.path}:{p.code}" for p in problems]


class LayoutGuard:
    """:class:`SchemaGuard` of the PPA document layout (``docs/document-schema.md``).

    Everything is judged by :func:`editor.layout_rule.read_layout`, the rule the readers of
    :mod:`editor.crdt` apply: ``check`` and ``check_update`` report what it reports (as
    ``path:code``, never values), ``repair`` removes exactly that: an unknown root is emptied, a
    root's content of the wrong type is removed, a broken item (not a Map, no usable id, repeated
    id) is deleted from its array, an unknown key or an invalid value is deleted from its map (it
    then reads as its default), formatted text is rewritten as plain text. Strings a write brings
    (text, values, keys) are judged by :func:`editor.text_rules.find_illegal_chars`, the rule of
    the REST inputs.
    """

    def __init__(self) -> None:
        self.text_roots: frozenset[str] = frozenset(TEXT_ROOTS)

    def check(self, doc: Doc[Any]) -> list[str]:
        try:
            return violations(check_layout(doc))
        except Exception as exc:  # a document the rule cannot read at all: never raised on
            log.error("collab.guard.unreadable error=%s", type(exc).__name__)
            return [f"document:{UNREADABLE}"]

    def check_strings(self, strings: Iterable[str]) -> list[str]:
        for string in strings:
            if has_illegal_chars(string):
                return [f"texte:{ILLEGAL_CHARACTER}"]
        return []

    def check_update(self, doc: Doc[Any], update: bytes) -> list[str]:
        refused = self.check_strings(update_strings(update))
        if refused:
            return refused
        scratch: Doc[Any] = Doc()
        scratch.apply_update(doc.get_update())
        try:
            scratch.apply_update(update)
        except ValueError as exc:
            raise MalformedMessageError("Mise à jour illisible") from exc
        except BaseException as exc:
            if type(exc).__name__ != "PanicException":
                raise
            raise MalformedMessageError("Mise à jour illisible") from None
        try:
            after = read_layout(scratch)[1]
        except Exception as exc:  # what no reader could read is refused (no content logged)
            log.error("collab.guard.unreadable error=%s", type(exc).__name__)
            return [f"document:{UNREADABLE}"]
        if not after:
            return []
        # Problems the document already had (a write slipped by, not yet repaired) are not this
        # write's: the room repairs them.
        before = set(self.check(doc))
        return [v for v in violations(after) if v not in before]

    def repair(self, doc: Doc[Any]) -> bytes | None:
        """The update that removes what the rule refuses, computed on a copy of ``doc`` (a
        panic of the CRDT core there leaves ``doc`` untouched), or ``None``."""
        scratch = doc_from_state(doc.get_update())
        base = doc.get_state()
        changed = False
        for _ in range(_REPAIR_PASSES):
            saved = scratch.get_update()
            try:
                problems = check_layout(scratch)
                if not problems:
                    break
                self._repair(scratch, problems)
            except BaseException as exc:
                if not isinstance(exc, Exception) and type(exc).__name__ != "PanicException":
                    raise
                log.error("collab.guard.repair_failed error=%s", type(exc).__name__)
                scratch = doc_from_state(saved)
                break
            changed = True
        return scratch.get_update(base) if changed else None

    def _repair(self, doc: Doc[Any], problems: Sequence[LayoutProblem]) -> None:
        targets: list[tuple[tuple[Segment, ...], str]] = []
        for problem in problems:
            at = problem.at
            if len(at) > 2 and at[-1] == "id" and problem.code != "unknown_key":
                at = at[:-1]  # an item without a usable id goes
            targets.append((at, problem.code))
        # Deepest paths and highest positions first, so that earlier positions stay valid.
        targets.sort(key=lambda t: [(1, s) if isinstance(s, int) else (0, s) for s in t[0]])
        with doc.transaction(origin=GUARD_AUTHOR):
            for at, code in reversed(targets):
                try:
                    self._repair_one(doc, at, code)
                except (KeyError, IndexError, TypeError, ValueError):
                    continue  # moved by an earlier repair: the next pass sees it again

    def _repair_one(self, doc: Doc[Any], at: tuple[Segment, ...], code: str) -> None:
        name = str(at[0])
        if len(at) == 1:
            _clean_root(doc, name, ROOT_TYPES.get(name), code)
            return
        kind = ROOT_TYPES[name]
        parent: Any = doc.get(name, type=Map if kind == "Map" else Array)
        grand: Any = None
        for segment in at[1:-1]:
            grand, parent = parent, parent[segment]
        last = at[-1]
        if isinstance(parent, Map) and isinstance(last, str):
            if code == "rich_text":
                parent[last] = Text(_plain(parent[last]))  # a new Text: no formatting to undo
            else:
                del parent[last]
        elif isinstance(parent, Array) and isinstance(last, int) and len(at) == 2:
            del parent[last]  # an entry of an item root (read only when it holds no text)
        elif isinstance(parent, Array) and isinstance(grand, Map) and isinstance(at[-2], str):
            # An array of strings: replaced whole (deleting from an Array view of characters
            # could hang yrs).
            grand[at[-2]] = Array([entry for entry in parent if isinstance(entry, str)])


def _plain(text: Any) -> str:
    if not isinstance(text, Text):
        return ""
    return "".join(chunk for chunk, _attrs in text.diff() if isinstance(chunk, str))


def _spans(text: Text) -> list[tuple[int, int, bool]] | None:
    """``(offset, size, is characters)`` of each chunk of ``text``, or ``None`` when the Text view
    counts entries its chunks do not show (plain values): offsets would then be wrong."""
    spans: list[tuple[int, int, bool]] = []
    offset = 0
    for chunk, _attrs in text.diff():
        size = len(chunk.encode()) if isinstance(chunk, str) else 1
        spans.append((offset, size, isinstance(chunk, str)))
        offset += size
    return spans if offset == len(text) else None


def _delete_spans(text: Text, *, characters: bool, others: bool) -> None:
    for offset, size, is_characters in reversed(_spans(text) or []):
        if characters if is_characters else others:
            del text[offset : offset + size]


def _unformat(text: Text) -> None:
    """Remove every formatting attribute (formatting with ``None`` removes it)."""
    spans = _spans(text)
    keys = {key for _chunk, attrs in text.diff() for key in attrs or ()}
    if keys and spans:
        text.format(0, spans[-1][0] + spans[-1][1], dict.fromkeys(keys))


def _clean_root(doc: Doc[Any], name: str, keep: str | None, code: str) -> None:
    """Empty every view of a root but the documented one (``keep``). Yjs cannot delete a root;
    characters go through the Text view first, as an Array view of them could hang yrs (a root
    whose Text view cannot place them, plain values among them, keeps them: reported
    unrepaired)."""
    text = doc.get(name, type=Text)
    if keep == "Text":
        if code == "rich_text":
            _unformat(text)
            _delete_spans(text, characters=False, others=True)
        ymap = doc.get(name, type=Map)
        for key in list(ymap.keys()):
            del ymap[key]
        return
    if keep != "Map":
        ymap = doc.get(name, type=Map)
        for key in list(ymap.keys()):
            del ymap[key]
    if _spans(text) is not None:
        if keep == "Array":
            _unformat(text)  # what stays (the items) must not carry formatting either
        _delete_spans(text, characters=True, others=False)
    if keep == "Array" or has_text(text):
        return
    array = doc.get(name, type=Array)
    if len(array):
        del array[0 : len(array)]
    _delete_spans(text, characters=True, others=True)
