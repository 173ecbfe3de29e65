"""Random CRDT operations on a PPA document, for property tests of the layout rule and the guard.

An operation is plain data drawn by hypothesis (:data:`operations`) and resolved against the
document when it is applied (:func:`apply_op`): "the n-th map reachable from the documented
roots" rather than a fixed path, so that any sequence applies to any document. Operations cover
random roots (documented or not, of any type), keys (documented, unknown, odd), values (scalars,
bytes, JSON-like, nested shared types, XML), nesting, text edits, formats, embeds and deletions,
and strings with characters the text rule refuses.
"""

from __future__ import annotations

from typing import Any, Final, TypeAlias

from hypothesis import strategies as st
from pycrdt import Array, Doc, Map, Text, XmlElement, XmlFragment, XmlText

from editor.crdt import ROOT_TYPES
from editor.layout_rule import has_text

Op: TypeAlias = tuple[Any, ...]

KEYS: Final = (
    "id",
    "titre",
    "texte",
    "statut",
    "origine",
    "date_debut",
    "planning",
    "jours",
    "intervalle",
    "besoin_ids",
    "avis_usager",
    "couleur",
    "a.b",
    "x[0]",
    "",
    "\x00",
)
ROOTS: Final = (*ROOT_TYPES, "pirate", "t", "a.b")
KINDS: Final = ("Map", "Array", "Text", "clear")

_illegal = st.sampled_from(["\x00", "\x07", "\x1b", "\ufffe", "\uffff", "\ufdd0"])
strings = st.one_of(
    st.sampled_from(["", "o1", "o2", "personne", "atteint", "2026-02-30", "2026-01-31", "LU"]),
    st.text(max_size=8),
    st.tuples(st.text(max_size=3), _illegal).map("".join),
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**31), max_value=2**31),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    strings,
    st.binary(max_size=4),
)
values: st.SearchStrategy[Any] = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.tuples(st.just("Text"), strings),
        st.tuples(st.just("Array"), st.lists(inner, max_size=3)),
        st.tuples(st.just("Map"), st.dictionaries(st.sampled_from(KEYS), inner, max_size=3)),
        st.tuples(st.just("json"), st.lists(scalars, max_size=2)),
        st.tuples(st.just("xml"), strings),
    ),
    max_leaves=6,
)
"""A recipe: a scalar, or ``(kind, ...)`` built into a fresh shared value by :func:`build`."""

_pick = st.integers(min_value=0, max_value=64)
operations: st.SearchStrategy[Op] = st.one_of(
    st.tuples(st.just("set"), _pick, st.sampled_from(KEYS), values),
    st.tuples(st.just("del_key"), _pick, _pick),
    st.tuples(st.just("insert"), _pick, _pick, st.lists(values, min_size=1, max_size=2)),
    st.tuples(st.just("del_range"), _pick, _pick, st.integers(min_value=1, max_value=3)),
    st.tuples(st.just("type"), _pick, _pick, strings),
    st.tuples(st.just("erase"), _pick, _pick, st.integers(min_value=1, max_value=4)),
    st.tuples(st.just("format"), _pick, _pick, st.sampled_from([{"bold": True}, {"x": None}])),
    st.tuples(st.just("embed"), _pick, _pick, st.sampled_from([{"img": "x"}, "y"])),
    st.tuples(st.just("root"), st.sampled_from(ROOTS), st.sampled_from(KINDS), values),
)


def build(recipe: Any) -> Any:
    """A fresh value (shared types are preliminary, ready to be inserted) from a recipe."""
    if not isinstance(recipe, tuple):
        return recipe
    kind = recipe[0]
    if kind == "Text":
        return Text(recipe[1])
    if kind == "Array":
        return Array([build(v) for v in recipe[1]])
    if kind == "Map":
        return Map({k: build(v) for k, v in recipe[1].items()})
    if kind == "json":
        return {"v": list(recipe[1])}
    return XmlFragment([XmlElement("p", {"k": recipe[1]}, [XmlText(recipe[1])])])


class Reachable:
    """The shared values reachable from the documented roots through their documented types
    (a root holding text is not viewed as an Array or a Map: that view could hang yrs)."""

    def __init__(self, doc: Doc[Any]) -> None:
        self.maps: list[Map[Any]] = []
        self.arrays: list[Array[Any]] = []
        self.texts: list[Text] = []
        for name, kind in ROOT_TYPES.items():
            text = doc.get(name, type=Text)
            if kind == "Text":
                self.texts.append(text)
            elif not has_text(text):
                self._walk(doc.get(name, type=Map if kind == "Map" else Array), 0)

    def _walk(self, value: Any, depth: int) -> None:
        if depth > 6:
            return
        if isinstance(value, Text):
            self.texts.append(value)
        elif isinstance(value, Map):
            self.maps.append(value)
            for key in sorted(value.keys()):
                self._walk(value[key], depth + 1)
        elif isinstance(value, Array):
            self.arrays.append(value)
            for entry in value:
                self._walk(entry, depth + 1)


def _boundaries(text: Text) -> list[int]:
    """The offsets pycrdt's Text takes (UTF-8 bytes, 1 per embed) between two characters."""
    offsets = [0]
    for chunk, _attrs in text.diff():
        if isinstance(chunk, str):
            offsets.extend(offsets[-1] + len(char.encode()) for char in chunk)
        else:
            offsets.append(offsets[-1] + 1)
    return offsets


def _root_op(doc: Doc[Any], name: str, view: str, recipe: Any) -> None:
    """Write to root ``name`` through the ``view`` type (whatever the root's documented one)."""
    if view == "Text":
        text = doc.get(name, type=Text)
        text.insert(len(text), recipe if isinstance(recipe, str) else str(recipe))
    elif view == "Map":
        doc.get(name, type=Map)["k"] = build(recipe)
    elif view == "Array" and not has_text(doc.get(name, type=Text)):
        doc.get(name, type=Array).append(build(recipe))
    elif view == "clear":  # what a client can empty (a Text view counting plain values panics)
        ymap = doc.get(name, type=Map)
        for key in list(ymap.keys()):
            del ymap[key]
        text = doc.get(name, type=Text)
        if len(text) == _boundaries(text)[-1]:
            text.clear()
        array = doc.get(name, type=Array)
        if len(array) and not has_text(text):
            del array[0 : len(array)]


def apply_op(doc: Doc[Any], op: Op) -> None:  # noqa: C901 - one case per operation
    """Apply ``op`` to ``doc`` (one transaction); an operation with no target does nothing."""
    kind = op[0]
    with doc.transaction():
        if kind == "root":
            _root_op(doc, op[1], op[2], op[3])
            return
        reach = Reachable(doc)
        if kind in ("set", "del_key") and reach.maps:
            target = reach.maps[op[1] % len(reach.maps)]
            if kind == "set":
                target[op[2]] = build(op[3])
            elif len(target):
                keys = sorted(target.keys())
                del target[keys[op[2] % len(keys)]]
        elif kind in ("insert", "del_range") and reach.arrays:
            array = reach.arrays[op[1] % len(reach.arrays)]
            if kind == "insert":
                position = op[2] % (len(array) + 1)
                for recipe in op[3]:
                    array.insert(min(position, len(array)), build(recipe))
                    position += 1
            elif len(array):
                start = op[2] % len(array)
                del array[start : min(len(array), start + op[3])]
        elif reach.texts:
            text = reach.texts[op[1] % len(reach.texts)]
            offsets = _boundaries(text)
            first = op[2] % len(offsets)
            start = offsets[first]
            if kind == "type":
                text.insert(start, op[3])
            elif kind == "embed":
                text.insert_embed(start, op[3])
            else:
                stop = offsets[min(len(offsets) - 1, first + (op[3] if kind == "erase" else 2))]
                if stop > start and kind == "erase":
                    del text[start:stop]
                elif stop > start:
                    text.format(start, stop, op[3])
