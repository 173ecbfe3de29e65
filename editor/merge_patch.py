"""JSON Merge Patch (RFC 7396) on the PPA content, items addressed by id.

The content's JSON form (:meth:`PPAContent.model_dump` ``mode="json"``) holds lists of items
(``objectifs``, ``actions``...). Arrays move under concurrent edits, so a patch never addresses an
item by index: a list of items is patched as an object keyed by item id::

    {"objectifs": {"<id>": {"titre": "..."}}, "actions": {"<id>": null}}

* ``{"<id>": {...}}`` merges into the item with that id (RFC 7396 inside: ``null`` resets a
  field to its default, a nested object such as ``planning`` is merged, a list of ids or codes
  is replaced whole);
* ``{"<id>": null}`` deletes the item (an absent one: nothing to do);
* an unknown id creates the item (appended), from the object given (every field it lacks takes
  its default; the model validation decides what is required);
* ``projet`` and ``bilan`` (objects) are merged; ``projet_de_vie`` (text) is replaced.

:func:`leaves` flattens a content into ``path -> value`` (items keyed by id), the unit in which
:func:`conflicts` tells whether a field a patch changes was changed by someone else since the
state the client read.
"""

from __future__ import annotations

import copy
from typing import Any

from editor.layout_rule import ITEM_ROOTS

Json = dict[str, Any]
Path = tuple[str, ...]


class PatchError(ValueError):
    """A patch that does not fit the content's shape: ``problems`` are (path, French message)."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{p}: {m}" for p, m in problems))
        self.problems = problems


def merge(target: Any, patch: Any) -> Any:
    """RFC 7396 MergePatch(target, patch)."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge(result.get(key), value)
    return result


def apply_patch(content: Json, patch: Any) -> Json:
    """The content (JSON form) ``patch`` leads to; :class:`PatchError` when it does not fit."""
    if not isinstance(patch, dict):
        raise PatchError([("requête", "un objet JSON (JSON Merge Patch) est attendu")])
    problems: list[tuple[str, str]] = []
    out = copy.deepcopy(content)
    for key, value in patch.items():
        if key not in content:
            problems.append((key, "champ inconnu du PPA"))
        elif key in ITEM_ROOTS:
            out[key] = _patch_items(key, content[key], value, problems)
        elif value is None:
            out.pop(key)  # the model's default
        elif isinstance(content[key], dict):
            if not isinstance(value, dict):
                problems.append((key, "objet attendu"))
            else:
                out[key] = merge(content[key], value)
        else:
            out[key] = value
    if problems:
        raise PatchError(problems)
    return out


def _patch_items(
    root: str, items: list[Json], value: Any, problems: list[tuple[str, str]]
) -> list[Json]:
    if not isinstance(value, dict):
        problems.append(
            (root, "objet indexé par id d'élément attendu (pas une liste : les positions bougent)")
        )
        return items
    by_id = {item["id"]: item for item in items}
    out = [copy.deepcopy(item) for item in items]
    for item_id, change in value.items():
        path = f"{root}.{item_id}"
        if change is None:  # deleting an absent item changes nothing (RFC 7396)
            out = [item for item in out if item["id"] != item_id]
        elif not isinstance(change, dict):
            problems.append((path, "objet attendu (ou null pour supprimer l'élément)"))
        elif not 1 <= len(item_id) <= 64:
            problems.append((path, "id d'élément de 1 à 64 caractères"))
        elif "id" in change and change["id"] != item_id:
            problems.append((f"{path}.id", "l'id d'un élément ne change pas"))
        elif item_id in by_id:
            out = [merge(item, change) if item["id"] == item_id else item for item in out]
        else:
            created = merge({}, change)
            created["id"] = item_id
            out.append(created)
    return out


def leaves(content: Json) -> dict[Path, Any]:
    """``path -> value`` of every field; items keyed by their id, nested objects flattened,
    lists of strings kept whole (one value)."""
    out: dict[Path, Any] = {}

    def walk(prefix: Path, value: Any) -> None:
        if isinstance(value, dict):
            if not value:
                out[prefix] = {}
            for k, v in value.items():
                walk((*prefix, k), v)
        else:
            out[prefix] = value

    for key, value in content.items():
        if key in ITEM_ROOTS:
            for item in value:
                out[(key, item["id"])] = True  # the item exists
                walk((key, item["id"]), {k: v for k, v in item.items() if k != "id"})
        else:
            walk((key,), value)
    return out


def changed(before: Json, after: Json) -> set[Path]:
    """Paths whose value differs between two contents."""
    a, b = leaves(before), leaves(after)
    return {p for p in a.keys() | b.keys() if a.get(p, _ABSENT) != b.get(p, _ABSENT)}


_ABSENT = object()


def conflicts(base: Json, current: Json, patched: Json) -> list[Path]:
    """Paths the patch changes (``current`` -> ``patched``) that were changed since ``base``
    (``base`` -> ``current``): the fields whose concurrent change the patch would overwrite."""
    mine = changed(current, patched)
    theirs = changed(base, current)
    return sorted(p for p in mine if p in theirs)
