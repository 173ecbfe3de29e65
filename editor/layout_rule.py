"""The one rule of the PPA document layout: what a pycrdt/Yjs document may hold.

:func:`read_layout` walks a document once, building the plain data of :class:`PPAContent` from
what the layout allows and reporting everything else as a :class:`LayoutProblem`. It is the only
judge: the readers of :mod:`editor.crdt` (strict or repaired) ignore exactly what it reports, and
the live schema guard (:class:`editor.layout_guard.LayoutGuard`) refuses a write whose result it
reports anything for, and repairs exactly that. ``docs/document-schema.md`` documents the layout.

Yjs cannot delete a root: a root that holds nothing (an unknown root emptied by a repair, or only
ever read) is not a problem.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Final, TypeAlias

from pycrdt import Array, Doc, Map, Text
from pydantic import BaseModel, ValidationError

from editor.catalogue import FIELDS, FieldKind
from editor.schema import (
    Accord,
    Action,
    Attente,
    Besoin,
    Bilan,
    Moyen,
    Objectif,
    Planning,
    PPAContent,
    Projet,
)

K = FieldKind
Segment: TypeAlias = int | str
"""A step of a place in the document: a root or map key (``str``), an array position (``int``)."""

NESTED_MAPS: Final[dict[tuple[type[BaseModel], str], type[BaseModel]]] = {
    (Action, "planning"): Planning
}
MAP_ROOTS: Final[dict[str, type[BaseModel]]] = {"projet": Projet, "bilan": Bilan}
TEXT_ROOTS: Final[tuple[str, ...]] = ("projet_de_vie",)
ITEM_ROOTS: Final[dict[str, type[BaseModel]]] = {
    "attentes": Attente,
    "besoins": Besoin,
    "objectifs": Objectif,
    "actions": Action,
    "moyens": Moyen,
    "accords": Accord,
}
ROOT_TYPES: Final[dict[str, str]] = {
    name: ("Map" if name in MAP_ROOTS else "Text" if name in TEXT_ROOTS else "Array")
    for name in PPAContent.model_fields
}
"""Yjs type of every root, in :data:`editor.schema.TOP_LEVEL_KEYS` order."""

MAX_ID_LENGTH: Final = 64
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TIME_RE = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


@dataclass(frozen=True, slots=True)
class LayoutProblem:
    """A place where a document departs from the layout.

    ``path`` uses array **positions** (the item may have no usable id): ``objectifs[2].titre``,
    ``actions[0].planning.jours[1]``, ``projet.date_debut``, ``foo`` (a root). ``code`` is one of
    ``unknown_root``, ``wrong_type``, ``missing_id``, ``bad_id``, ``duplicate_id``,
    ``unknown_key``, ``bad_value``, ``bad_date``, ``rich_text``. ``message`` is French. ``at`` is
    the same place as segments (root, then keys and positions), for a repair.
    """

    path: str
    code: str
    message: str
    at: tuple[Segment, ...] = ()


class LayoutError(ValueError):
    """The document does not follow the layout; ``problems`` lists every departure."""

    def __init__(self, problems: Sequence[LayoutProblem]) -> None:
        self.problems: tuple[LayoutProblem, ...] = tuple(problems)
        head = "; ".join(f"{p.path}: {p.code}" for p in self.problems[:5])
        more = f" (+{len(self.problems) - 5})" if len(self.problems) > 5 else ""
        super().__init__(f"document layout broken: {head}{more}")


def path_of(at: Sequence[Segment]) -> str:
    """``("objectifs", 2, "titre")`` -> ``objectifs[2].titre``."""
    out = str(at[0]) if at else ""
    for segment in at[1:]:
        out += f"[{segment}]" if isinstance(segment, int) else f".{segment}"
    return out


def read_layout(doc: Doc[Any]) -> tuple[dict[str, Any], list[LayoutProblem]]:
    """The plain data of every root as the layout allows it (for ``PPAContent``), and every
    problem found: everything the data leaves out or resets to its default.

    Reads ``doc`` itself (in one transaction) and may add empty root views to it: pass a private
    copy (:func:`editor.crdt.check_layout` and the readers of :mod:`editor.crdt` do).
    """
    reader = _Reader()
    with doc.transaction():
        data = reader.read_doc(doc)
    return data, reader.problems


def text_is_empty(text: Text) -> bool:
    """No character, embed or formatting mark (deleted content aside)."""
    return not any(True for _chunk in text.diff())


def has_text(text: Text) -> bool:
    """Characters or formatting marks (an embed alone is not text: it is how the items of an
    Array root show in a Text view)."""
    return any(isinstance(chunk, str) or attrs for chunk, attrs in text.diff())


def root_is_empty(doc: Doc[Any], name: str) -> bool:
    """Nothing visible under root ``name`` whatever its type (Text view first: an Array view of
    formatted text could hang yrs)."""
    return (
        text_is_empty(doc.get(name, type=Text))
        and len(doc.get(name, type=Map)) == 0
        and len(doc.get(name, type=Array)) == 0
    )


def _type_name(value: object) -> str:
    if isinstance(value, Text):
        return "Text"
    if isinstance(value, Array):
        return "Array"
    if isinstance(value, Map):
        return "Map"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "booléen"
    if isinstance(value, int | float):
        return "nombre"
    if isinstance(value, str):
        return "chaîne"
    return type(value).__name__


_At: TypeAlias = tuple[Segment, ...]


class _Reader:
    """Walks a (private copy of a) document, building plain data and collecting problems."""

    def __init__(self) -> None:
        self.problems: list[LayoutProblem] = []

    def report(self, at: _At, code: str, message: str) -> None:
        self.problems.append(LayoutProblem(path_of(at), code, message, at))

    # -- roots

    def read_doc(self, doc: Doc[Any]) -> dict[str, Any]:
        data: dict[str, Any] = {}
        for name in sorted(set(doc.keys()) - set(ROOT_TYPES)):
            if not root_is_empty(doc, name):
                self.report((name,), "unknown_root", f"Racine inconnue « {name} ».")
        for name in ROOT_TYPES:
            if name in TEXT_ROOTS:
                data[name] = self.read_text_root(doc, name)
            elif name in MAP_ROOTS:
                data[name] = self.read_map_root(doc, name, MAP_ROOTS[name])
            else:
                data[name] = self.read_item_root(doc, name, ITEM_ROOTS[name])
        return data

    def _root_has_text(self, doc: Doc[Any], name: str) -> bool:
        # Yjs does not encode a root's type: look at the root as Text first. Viewing formatted
        # text as an Array hangs yrs, so an Array view is only taken when this returns False.
        return has_text(doc.get(name, type=Text))

    def read_text_root(self, doc: Doc[Any], name: str) -> str:
        if len(doc.get(name, type=Map)) > 0:
            self.report((name,), "wrong_type", f"« {name} » doit être un Text, pas une Map.")
        return self.read_text(doc.get(name, type=Text), (name,))

    def read_map_root(self, doc: Doc[Any], name: str, model: type[BaseModel]) -> dict[str, Any]:
        if self._root_has_text(doc, name) or len(doc.get(name, type=Array)) > 0:
            self.report((name,), "wrong_type", f"« {name} » doit être une Map.")
        return self.read_map(doc.get(name, type=Map), (name,), model) or {}

    def read_item_root(
        self, doc: Doc[Any], name: str, model: type[BaseModel]
    ) -> list[dict[str, Any]]:
        if self._root_has_text(doc, name):
            self.report((name,), "wrong_type", f"« {name} » doit être un Array, pas un Text.")
            return []
        if len(doc.get(name, type=Map)) > 0:
            self.report((name,), "wrong_type", f"« {name} » doit être un Array, pas une Map.")
        items: list[dict[str, Any]] = []
        seen: set[str] = set()
        for index, entry in enumerate(doc.get(name, type=Array)):
            at = (name, index)
            if not isinstance(entry, Map):
                self.report(
                    at, "wrong_type", f"Élément de type {_type_name(entry)} au lieu d'une Map."
                )
                continue
            item = self.read_map(entry, at, model)
            if item is None:
                continue
            if item["id"] in seen:
                self.report(at, "duplicate_id", f"Identifiant « {item['id']} » en double.")
                continue
            seen.add(item["id"])
            items.append(item)
        return items

    # -- values

    def read_text(self, text: Text, at: _At) -> str:
        if any(not isinstance(chunk, str) or attrs for chunk, attrs in text.diff()):
            self.report(at, "rich_text", "Texte enrichi (format ou objet inséré) non admis.")
        return str(text)

    def read_map(self, ymap: Map[Any], at: _At, model: type[BaseModel]) -> dict[str, Any] | None:
        """Read one Map; ``None`` when the item must be dropped (no usable id)."""
        fields = FIELDS[model]
        data: dict[str, Any] = {}
        for key in sorted(ymap.keys()):
            sub = (*at, key)
            value = ymap[key]
            kind = fields.get(key)
            if kind is None:
                self.report(sub, "unknown_key", f"Clé inconnue « {key} ».")
                continue
            ok, converted = self.read_value(value, kind, sub, model, key)
            if ok:
                data[key] = converted
        if "id" in fields:
            ident = data.get("id")
            if "id" not in ymap:
                self.report(at, "missing_id", "Élément sans identifiant « id ».")
                return None
            if ident is None:
                return None  # already reported as wrong_type
            if not 0 < len(ident) <= MAX_ID_LENGTH:
                self.report(
                    (*at, "id"), "bad_id", "L'identifiant doit être un texte de 1 à 64 caractères."
                )
                return None
        return self.check_values(data, at, model)

    def read_value(  # noqa: C901 - one case per field kind
        self, value: Any, kind: FieldKind, at: _At, model: type[BaseModel], key: str
    ) -> tuple[bool, Any]:
        def wrong(expected: str) -> tuple[bool, Any]:
            self.report(at, "wrong_type", f"Attendu : {expected} ; trouvé : {_type_name(value)}.")
            return False, None

        if kind is K.TEXT:
            return (True, self.read_text(value, at)) if isinstance(value, Text) else wrong("Text")
        if kind is K.STRING_ARRAY:
            if not isinstance(value, Array):
                return wrong("Array de chaînes")
            out: list[str] = []
            for index, element in enumerate(value):
                if isinstance(element, str):
                    out.append(element)
                else:
                    self.report(
                        (*at, index),
                        "wrong_type",
                        f"Attendu : chaîne ; trouvé : {_type_name(element)}.",
                    )
            return True, out
        if kind is K.OPTIONAL_MAP:
            if value is None:
                return True, None
            if not isinstance(value, Map):
                return wrong("Map ou null")
            return True, self.read_map(value, at, NESTED_MAPS[(model, key)])
        if kind in (K.INTEGER, K.OPTIONAL_INTEGER):
            if value is None and kind is K.OPTIONAL_INTEGER:
                return True, None
            if isinstance(value, bool) or not isinstance(value, int | float):
                return wrong("nombre entier")
            if value != int(value):
                self.report(at, "bad_value", f"Nombre entier attendu, trouvé {value}.")
                return False, None
            return True, int(value)
        nullable = kind in (K.OPTIONAL_STRING, K.DATE, K.OPTIONAL_TIME)
        if value is None and nullable:
            return True, None
        if not isinstance(value, str):
            return wrong("chaîne ou null" if nullable else "chaîne")
        if kind is K.DATE:
            try:
                if not _DATE_RE.match(value):
                    raise ValueError(value)
                date.fromisoformat(value)
            except ValueError:
                self.report(at, "bad_date", f"Date « {value} » invalide (AAAA-MM-JJ attendu).")
                return False, None
        if kind is K.OPTIONAL_TIME and not _TIME_RE.match(value):
            self.report(at, "bad_value", f"Heure « {value} » invalide (HH:MM attendu).")
            return False, None
        return True, value

    def check_values(
        self, data: dict[str, Any], at: _At, model: type[BaseModel]
    ) -> dict[str, Any] | None:
        """Validate with the model (enums, ranges); drop each offending key (-> default)."""
        for _ in range(len(data) + 1):
            try:
                model.model_validate(data)
            except ValidationError as exc:
                bad = {str(err["loc"][0]) for err in exc.errors() if err["loc"]}
                if not bad & data.keys():
                    raise  # pragma: no cover - a layout gap: FIELDS and the model disagree
                for key in sorted(bad & data.keys()):
                    self.report((*at, key), "bad_value", f"Valeur « {data[key]} » invalide.")
                    if key == "id":
                        return None
                    del data[key]
            else:
                return data
        return None  # pragma: no cover
