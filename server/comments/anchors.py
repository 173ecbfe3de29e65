"""Anchors of comments and paths of suggestions: a field or an item of the PPA, items by id.

The vocabulary is the browser editor's field keys and the diff's paths: ``ppa`` (the PPA as a
whole), ``projet_de_vie``, ``projet/titre``, ``bilan/<key>``, ``objectifs/<id>`` (an item),
``objectifs/<id>/intitule`` (a field of an item), ``actions/<id>/planning/lieu``. An item is
named by its id, never by its position: an anchor keeps pointing at the same item whatever is
inserted, moved or deleted around it; a thread whose item was deleted stays readable.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Final

from pydantic import BaseModel

from editor.catalogue import FIELDS, FieldKind
from editor.layout_rule import ITEM_ROOTS, MAP_ROOTS, NESTED_MAPS, TEXT_ROOTS

WHOLE: Final = "ppa"
ITEM_ID: Final = "[^/]{1,64}"
"""An item id as the document allows it (1 to 64 characters), without the separator."""


def _keys(model: type[BaseModel], text_only: bool) -> str:
    kinds = FIELDS[model]
    return "|".join(
        k for k, kind in kinds.items() if k != "id" and (kind is FieldKind.TEXT or not text_only)
    )


def pattern(*, text_only: bool) -> str:
    """The exact grammar of anchors (``text_only``: of text fields, what suggestions change),
    generated from the content model's catalogue: the request schemas state it."""
    alts = [] if text_only else [WHOLE]
    alts += list(TEXT_ROOTS)
    for root, model in MAP_ROOTS.items():
        alts += ([] if text_only else [root]) + [f"{root}/({_keys(model, text_only)})"]
    for root, model in ITEM_ROOTS.items():
        alts += ([] if text_only else [f"{root}/{ITEM_ID}"]) + [
            f"{root}/{ITEM_ID}/({_keys(model, text_only)})"
        ]
        for (owner, key), nested in NESTED_MAPS.items():
            if owner is model:
                alts.append(f"{root}/{ITEM_ID}/{key}/({_keys(nested, text_only)})")
    return "^(" + "|".join(alts) + ")$"


ANCHOR_PATTERN: Final = pattern(text_only=False)
TEXT_FIELD_PATTERN: Final = pattern(text_only=True)
_ANCHOR = re.compile(r"^[a-z_]{2,40}(/[^/]{1,64}){0,3}$")


class AnchorError(ValueError):
    """The anchor names nothing of a PPA (its French reason in ``args[0]``)."""


@dataclass(frozen=True)
class Anchor:
    root: str
    item_id: str | None
    keys: tuple[str, ...]
    """Field keys below the root or the item (``("planning", "lieu")``); empty for an item."""
    text: bool
    """A text field (``Y.Text``): suggestions may change it."""

    @property
    def path(self) -> str:
        return "/".join(p for p in (self.root, self.item_id, *self.keys) if p)


def _field(model: type[BaseModel], keys: tuple[str, ...]) -> bool:
    """Whether ``keys`` names a field of ``model`` (nested planning included); its kind is text."""
    kinds = FIELDS[model]
    head, rest = keys[0], keys[1:]
    if head not in kinds or head == "id":
        raise AnchorError(f"champ inconnu : {head}")
    nested = NESTED_MAPS.get((model, head))
    if rest:
        if nested is None or len(rest) != 1:
            raise AnchorError("chemin de champ trop long")
        return _field(nested, rest)
    return kinds[head] is FieldKind.TEXT


def parse(anchor: str) -> Anchor:
    """The anchor's parts, or :class:`AnchorError` with a French reason."""
    if not _ANCHOR.fullmatch(anchor):
        raise AnchorError("ancre invalide (ex. « objectifs/<id>/intitule »)")
    root, *rest = anchor.split("/")
    if root == WHOLE and not rest:
        return Anchor(WHOLE, None, (), False)
    if root in TEXT_ROOTS:
        if rest:
            raise AnchorError(f"{root} n'a pas de sous-champ")
        return Anchor(root, None, (), True)
    if root in MAP_ROOTS:
        if not rest:
            return Anchor(root, None, (), False)
        keys = tuple(rest)
        return Anchor(root, None, keys, _field(MAP_ROOTS[root], keys))
    if root in ITEM_ROOTS:
        if not rest:
            raise AnchorError(f"indiquez l'identifiant de l'élément ({root}/<id>)")
        item_id, keys = rest[0], tuple(rest[1:])
        text = _field(ITEM_ROOTS[root], keys) if keys else False
        return Anchor(root, item_id, keys, text)
    raise AnchorError(f"partie du PPA inconnue : {root}")


def _container(content: dict[str, Any], anchor: Anchor) -> dict[str, Any] | None:
    """The JSON object holding the anchor's last key (``None``: its item is gone)."""
    if anchor.item_id is None:
        node: Any = content[anchor.root] if anchor.root in MAP_ROOTS else content
    else:
        node = next((i for i in content[anchor.root] if i.get("id") == anchor.item_id), None)
    for key in anchor.keys[:-1]:
        node = node.get(key) if isinstance(node, dict) else None
    return node if isinstance(node, dict) else None


def read_text(content: dict[str, Any], anchor: Anchor) -> str | None:
    """The text field's current value in the content's JSON (``None``: the item is gone)."""
    if anchor.root in TEXT_ROOTS:
        return str(content.get(anchor.root, ""))
    node = _container(content, anchor)
    if node is None:
        return None
    return str(node.get(anchor.keys[-1], ""))


def write_text(content: dict[str, Any], anchor: Anchor, text: str) -> None:
    """Set the text field in the content's JSON (the item exists: :func:`read_text` said so)."""
    if anchor.root in TEXT_ROOTS:
        content[anchor.root] = text
        return
    node = _container(content, anchor)
    if node is None:
        raise AnchorError("cet élément n'existe plus dans le PPA")
    node[anchor.keys[-1]] = text
