"""The one mapping between a pycrdt/Yjs document and :class:`editor.schema.PPAContent`.

This module is the contract shared with the browser editor; ``docs/document-schema.md`` documents
the same layout for Yjs. Summary:

* one root shared type per top-level key of :class:`PPAContent`: ``projet`` and ``bilan`` are
  ``Map``, ``projet_de_vie`` is ``Text``, the other roots (``attentes``, ``besoins``,
  ``objectifs``, ``actions``, ``moyens``, ``accords``) are ``Array`` of ``Map`` items;
* every item ``Map`` has an ``id`` key (a non-empty string, at most 64 characters, UUID v4 text
  for new items) unique within its array;
* free-text fields are ``Text`` (plain text: no formatting attributes, no embeds); codes, enums,
  ids and other short strings are plain strings; dates are ISO ``YYYY-MM-DD`` strings or ``null``;
  integers are numbers; lists of ids / codes / days are ``Array`` of strings;
  ``actions[].planning`` is a ``Map`` or ``null``;
* a missing key reads as the model's default; a key not in the layout is an error.

What the layout allows is decided by one function, :func:`editor.layout_rule.read_layout` (the
live schema guard uses it too). Reading never silently accepts a broken document:
:func:`doc_to_content` raises :class:`LayoutError` (with every problem) unless the document passes
:func:`check_layout`; :func:`doc_to_content_repaired` returns a repaired content **and** the list
of problems it repaired (invalid entries dropped, invalid values reset to their default). Both read
from a private copy of the document: the caller's document is never modified by a read or a
check.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date
from enum import Enum
from typing import Any, Final

from pycrdt import Array, Doc, Map, Text
from pydantic import BaseModel

from editor.catalogue import FIELDS, FieldKind
from editor.layout_rule import (
    ITEM_ROOTS,
    MAP_ROOTS,
    MAX_ID_LENGTH,
    NESTED_MAPS,
    ROOT_TYPES,
    TEXT_ROOTS,
    LayoutError,
    LayoutProblem,
    read_layout,
)
from editor.schema import PPAContent
from editor.text_diff import longest_increasing, matching_runs

__all__ = [
    "FIELDS",
    "ITEM_ROOTS",
    "MAP_ROOTS",
    "MAX_ID_LENGTH",
    "NESTED_MAPS",
    "ROOT_TYPES",
    "TEXT_ROOTS",
    "FieldKind",
    "LayoutError",
    "LayoutProblem",
    "check_layout",
    "check_update",
    "content_to_doc",
    "delete_item",
    "doc_from_state",
    "doc_to_content",
    "doc_to_content_repaired",
    "encode_state",
    "insert_item",
    "write_content",
]


K = FieldKind

_MISSING: Final = object()


# --------------------------------------------------------------------------- state helpers


def encode_state(doc: Doc[Any]) -> bytes:
    """The whole document as one Yjs update (``Y.encodeStateAsUpdate``)."""
    return doc.get_update()


def doc_from_state(state: bytes) -> Doc[Any]:
    """A new document holding ``state`` (an update from :func:`encode_state` or Yjs)."""
    doc: Doc[Any] = Doc()
    doc.apply_update(state)
    return doc


def _copy(doc: Doc[Any]) -> Doc[Any]:
    return doc_from_state(doc.get_update())


# --------------------------------------------------------------------------- reading


def check_layout(doc: Doc[Any]) -> list[LayoutProblem]:
    """Every departure of ``doc`` from the layout (``[]`` when it is well formed).

    Works on a private copy: ``doc`` is not modified.
    """
    return read_layout(_copy(doc))[1]


def check_update(doc: Doc[Any], update: bytes) -> list[LayoutProblem]:
    """The layout problems ``doc`` would have after applying ``update`` (``doc`` is untouched)."""
    trial = _copy(doc)
    trial.apply_update(update)
    return read_layout(trial)[1]


def doc_to_content(doc: Doc[Any]) -> PPAContent:
    """The content of a well-formed document; raises :class:`LayoutError` otherwise."""
    data, problems = read_layout(_copy(doc))
    if problems:
        raise LayoutError(problems)
    return PPAContent.model_validate(data)


def doc_to_content_repaired(doc: Doc[Any]) -> tuple[PPAContent, list[LayoutProblem]]:
    """The content of any document, repaired, with the problems that were repaired.

    Repairs: unknown roots and keys are ignored; items that are not Maps, have no valid id or
    repeat an earlier id are dropped; values of the wrong type or invalid are reset to the
    field's default; non-string entries of string arrays are dropped; a root of the wrong type
    reads as empty.
    """
    data, problems = read_layout(_copy(doc))
    return PPAContent.model_validate(data), problems


# --------------------------------------------------------------------------- writing


def _plain(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, date):
        return value.isoformat()
    return value


def _prelim_map(model_obj: BaseModel) -> Map[Any]:
    """A new (preliminary) Map holding every field of ``model_obj``."""
    fields = FIELDS[type(model_obj)]
    out: dict[str, Any] = {}
    for key, kind in fields.items():
        value = getattr(model_obj, key)
        if kind is K.TEXT:
            out[key] = Text(value)
        elif kind is K.STRING_ARRAY:
            out[key] = Array([_plain(v) for v in value])
        elif kind is K.OPTIONAL_MAP:
            out[key] = None if value is None else _prelim_map(value)
        else:
            out[key] = _plain(value)
    return Map(out)


MIN_KEPT_RUN = 4
"""A common run shorter than this (in characters) inside a change is rewritten with it."""
_TOKEN = re.compile(r"\w+\s*|[^\w\s]\s*|\s+")
"""A word or a punctuation mark with the spaces after it."""


def _set_text(text: Text, value: str) -> None:
    """Replace the content of ``text`` by ``value`` touching only the changed runs.

    The common prefix and suffix are kept, then a diff of the middle by words (a word or a
    punctuation mark with its following spaces; :func:`editor.text_diff.matching_runs`, whose
    cost is bounded whatever the texts) keeps every common run in place: only what changed is
    deleted / inserted, so a colleague's concurrent edit between two changed places (typing,
    and deletions too) survives and the text nobody changed keeps its authors.
    """
    current = str(text)
    if current == value:
        return
    prefix = 0
    limit = min(len(current), len(value))
    while prefix < limit and current[prefix] == value[prefix]:
        prefix += 1
    suffix = 0
    while (
        suffix < limit - prefix
        and current[len(current) - 1 - suffix] == value[len(value) - 1 - suffix]
    ):
        suffix += 1
    old_mid = current[prefix : len(current) - suffix]
    new_mid = value[prefix : len(value) - suffix]
    base = len(current[:prefix].encode("utf-8"))  # pycrdt offsets are UTF-8 byte offsets
    old_tokens, new_tokens = _TOKEN.findall(old_mid), _TOKEN.findall(new_mid)
    # Changed runs: (old start, old end) in bytes of the old middle, (new start, new end) in
    # characters of the new middle.
    hunks: list[tuple[int, int, int, int]] = []
    if old_tokens and new_tokens:
        old_bytes = _offsets([len(t.encode("utf-8")) for t in old_tokens])
        old_chars = _offsets([len(t) for t in old_tokens])
        new_chars = _offsets([len(t) for t in new_tokens])
        i = j = 0
        runs = matching_runs(old_tokens, new_tokens)
        for a, b, size in [*runs, (len(old_tokens), len(new_tokens), 0)]:
            if size and old_chars[a + size] - old_chars[a] < MIN_KEPT_RUN:
                continue  # a stray shared token: part of the change, not worth a split
            if a > i or b > j:
                hunks.append((old_bytes[i], old_bytes[a], new_chars[j], new_chars[b]))
            i, j = a + size, b + size
    else:
        hunks.append((0, len(old_mid.encode("utf-8")), 0, len(new_mid)))
    # From the end backwards, so the offsets still to apply stay valid.
    for i1, i2, j1, j2 in reversed(hunks):
        if i2 > i1:
            del text[base + i1 : base + i2]
        if j2 > j1:
            text.insert(base + i1, new_mid[j1:j2])


def _offsets(lengths: list[int]) -> list[int]:
    """Cumulative offsets: where each token starts, and the total length last."""
    out = [0]
    for length in lengths:
        out.append(out[-1] + length)
    return out


def _update_map(ymap: Map[Any], model_obj: BaseModel) -> None:
    """Make ``ymap`` hold exactly ``model_obj``, keeping unchanged shared values in place."""
    fields = FIELDS[type(model_obj)]
    for key in list(ymap.keys()):
        if key not in fields:
            del ymap[key]
    for key, kind in fields.items():
        value = getattr(model_obj, key)
        current = ymap.get(key) if key in ymap else _MISSING
        if kind is K.TEXT:
            if isinstance(current, Text):
                _set_text(current, value)
            else:
                ymap[key] = Text(value)
        elif kind is K.STRING_ARRAY:
            _update_string_array(ymap, key, current, [_plain(v) for v in value])
        elif kind is K.OPTIONAL_MAP:
            _update_optional_map(ymap, key, current, value)
        else:
            plain = _plain(value)
            if current is _MISSING or not _same_scalar(current, plain):
                ymap[key] = plain


def _update_string_array(ymap: Map[Any], key: str, current: Any, plain: list[Any]) -> None:
    if isinstance(current, Array) and current.to_py() == plain:
        return
    if isinstance(current, Array) and all(isinstance(v, str) for v in current):
        current.clear()
        current.extend(plain)
    else:
        ymap[key] = Array(plain)


def _update_optional_map(ymap: Map[Any], key: str, current: Any, value: BaseModel | None) -> None:
    if value is None:
        if current is not None:
            ymap[key] = None
    elif isinstance(current, Map):
        _update_map(current, value)
    else:
        ymap[key] = _prelim_map(value)


def _same_scalar(current: Any, plain: Any) -> bool:
    def is_number(v: Any) -> bool:
        return isinstance(v, int | float) and not isinstance(v, bool)

    if is_number(current) and is_number(plain):
        return bool(current == plain)
    return type(current) is type(plain) and bool(current == plain)


def _item_id(entry: Any) -> str | None:
    if isinstance(entry, Map) and "id" in entry:
        ident = entry["id"]
        return ident if isinstance(ident, str) else None
    return None


def _update_items(array: Array[Any], items: Sequence[BaseModel]) -> None:
    """Make ``array`` hold ``items`` (by id): update kept items in place, insert/delete others.

    Items whose relative order did not change keep their Map (and their Texts' history);
    moved items are deleted and re-inserted (Yjs has no move).
    """
    target_pos = {item.id: index for index, item in enumerate(items)}  # type: ignore[attr-defined]
    # Drop entries that are broken, unwanted or repeated.
    seen: set[str] = set()
    for index in reversed(range(len(array))):
        ident = _item_id(array[index])
        if ident is None or ident not in target_pos or ident in seen:
            del array[index]
        else:
            seen.add(ident)
    # Of the remaining entries (unique ids now), keep the longest run already in target order.
    current_ids = [_item_id(array[i]) for i in range(len(array))]
    positions = [target_pos[i] for i in current_ids if i is not None]
    keep = set(longest_increasing(positions))
    for index in reversed(range(len(positions))):
        if index not in keep:
            del array[index]
    for index, item in enumerate(items):
        ident = item.id  # type: ignore[attr-defined]
        if index < len(array) and _item_id(array[index]) == ident:
            _update_map(array[index], item)
        else:
            array.insert(index, _prelim_map(item))


def write_content(doc: Doc[Any], content: PPAContent, *, origin: Any = None) -> None:
    """Make ``doc`` hold exactly ``content``, in one transaction, with a minimal set of changes.

    Unchanged fields are not touched, Texts are edited in their changed middle part, items are
    matched by id. Usable for seeding, restoring a version into a live room, or a REST edit.
    Parts of ``doc`` that break the layout (unknown roots excepted) are overwritten.
    Raises ``ValueError`` if ``content`` repeats an item id within a list.
    """
    for name in ITEM_ROOTS:
        ids = [item.id for item in getattr(content, name)]
        if len(set(ids)) != len(ids):
            raise ValueError(f"duplicate item id in {name}")
    with doc.transaction(origin=origin):
        for name in ROOT_TYPES:
            value = getattr(content, name)
            if name in TEXT_ROOTS:
                _set_text(doc.get(name, type=Text), value)
            elif name in MAP_ROOTS:
                _update_map(doc.get(name, type=Map), value)
            else:
                _update_items(doc.get(name, type=Array), value)


def content_to_doc(
    content: PPAContent, doc: Doc[Any] | None = None, *, origin: Any = None
) -> Doc[Any]:
    """``content`` written into ``doc`` (a new document when ``None``); returns the document."""
    target: Doc[Any] = Doc() if doc is None else doc
    write_content(target, content, origin=origin)
    return target


def insert_item(
    doc: Doc[Any], root: str, item: BaseModel, index: int | None = None, *, origin: Any = None
) -> None:
    """Insert one item (e.g. an :class:`Objectif`) in the Array root ``root`` (end by default)."""
    model = ITEM_ROOTS[root]
    if not isinstance(item, model):
        raise TypeError(f"{root} holds {model.__name__} items, not {type(item).__name__}")
    with doc.transaction(origin=origin):
        array = doc.get(root, type=Array)
        array.insert(len(array) if index is None else index, _prelim_map(item))


def delete_item(doc: Doc[Any], root: str, item_id: str, *, origin: Any = None) -> bool:
    """Delete every item of ``root`` whose id is ``item_id``; ``True`` if one was found."""
    if root not in ITEM_ROOTS:
        raise KeyError(root)
    found = False
    with doc.transaction(origin=origin):
        array = doc.get(root, type=Array)
        for index in reversed(range(len(array))):
            if _item_id(array[index]) == item_id:
                del array[index]
                found = True
    return found
