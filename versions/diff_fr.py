"""French wording of version diffs: item descriptions and avenant summaries."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from versions.diff import ItemChange

UNTITLED = "sans titre"
"""Title of an item that has none."""


@dataclass(frozen=True)
class _Noun:
    singular: str
    plural: str
    feminine: bool


_NOUNS: dict[str, _Noun] = {
    "objectifs": _Noun("objectif", "objectifs", False),
    "actions": _Noun("action", "actions", True),
    "besoins": _Noun("besoin", "besoins", False),
    "attentes": _Noun("attente", "attentes", True),
    "moyens": _Noun("moyen", "moyens", False),
    "accords": _Noun("accord", "accords", False),
    "projet": _Noun("projet", "projet", False),
    "projet_de_vie": _Noun("projet de vie", "projet de vie", False),
    "bilan": _Noun("bilan", "bilan", False),
}

_PARTICIPLES = {"added": "ajouté", "removed": "supprimé", "changed": "modifié"}
"""Past participle of each :class:`versions.diff.ChangeKind` (masculine singular)."""

_KINDS_IN_SUMMARY = ("changed", "added", "removed")


def _agree(participle: str, feminine: bool, *, plural: bool) -> str:
    return participle + ("e" if feminine else "") + ("s" if plural else "")


def singleton_title(section: str) -> str:
    """Return the title of a singleton section's change (``projet``, ``projet de vie``...)."""
    return _NOUNS[section].singular


def describe(item: ItemChange) -> str:
    """Return a one-line French description: ``Action « Piscine » modifiée (lieu, heure)``."""
    noun = _NOUNS[item.section]
    participle = _agree(_PARTICIPLES[item.kind], noun.feminine, plural=False)
    head = noun.singular.capitalize()
    text = f"{head} « {item.title} » {participle}" if item.item_id else f"{head} {participle}"
    if item.kind == "changed" and item.fields and item.section != "projet_de_vie":
        text += " (" + ", ".join(change.label for change in item.fields) + ")"
    return text


def summary(
    items: Sequence[ItemChange],
    sections: Sequence[str],
    singletons: Sequence[str],
    max_titles: int,
) -> str:
    """Return a French summary, e.g. ``2 actions modifiées (« A », « B »)``."""
    if not items:
        return "Aucune modification"
    parts: list[str] = []
    for section in sections:
        noun = _NOUNS[section]
        for kind in _KINDS_IN_SUMMARY:
            group = [i for i in items if i.section == section and i.kind == kind]
            if not group:
                continue
            participle = _agree(_PARTICIPLES[kind], noun.feminine, plural=len(group) > 1)
            if section in singletons:
                parts.append(f"{noun.singular} {participle}")
                continue
            name = noun.plural if len(group) > 1 else noun.singular
            titles = ", ".join(f"« {item.title} »" for item in group[:max_titles])
            if len(group) > max_titles:
                titles += ", …"
            parts.append(f"{len(group)} {name} {participle} ({titles})")
    text = ", ".join(parts)
    return text[0].upper() + text[1:]
