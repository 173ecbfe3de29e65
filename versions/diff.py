"""Structured diff between two PPA contents, with authorship (wording: :mod:`versions.diff_fr`).

Items are matched by their stable ``id`` inside each section (attentes, besoins, objectifs,
actions, moyens, accords); the singletons (projet, projet de vie, bilan) are compared field by
field. List order is not a change. Each changed field says what kind of value it holds:

* ``text`` - free text, with a word-level diff (:class:`TextSegment` runs ``equal`` / ``insert`` /
  ``delete`` whose concatenations rebuild the old and the new text exactly);
* ``code`` / ``codes`` - SERAFIN-PH codes, with their labels (``editor.terminology`` when it is
  available, or any ``labeler`` given);
* ``link`` / ``links`` - ids of other items (objectives, besoins) or of people, with the linked
  items' titles where they are items of the document;
* ``date`` and ``value`` (statuses, schedule values...) - old and new value.

Paths name what changed: ``"objectifs/<id>/titre"``, ``"actions/<id>/planning/jours"``,
``"projet/titre"``, ``"projet_de_vie"``. Authorship comes from the caller (the server derives it
from the update log between the two versions) as :class:`AuthoredChange` entries
``(path_prefix, author, at)``; every field and item change carries the :class:`Author` entries
whose prefix covers it or lies inside it.
"""

from __future__ import annotations

import importlib
import re
import types
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import Enum, StrEnum
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel

from editor.catalogue import FIELD_LABELS
from editor.schema import Planning, PPAContent, Semantic
from editor.text_diff import matching_runs
from versions import diff_fr

CodeLabeler = Callable[[str], str | None]
"""Gives the label of a SERAFIN-PH code, or ``None`` when unknown."""

SECTIONS: tuple[str, ...] = ("objectifs", "actions", "besoins", "attentes", "moyens", "accords")
"""List sections compared item by item, in the order used by summaries."""

SINGLETONS: tuple[str, ...] = ("projet", "projet_de_vie", "bilan")
"""Sections compared as a single item."""

FieldKind = Literal["text", "code", "codes", "link", "links", "date", "value"]


def _semantic(annotation: Any, metadata: Iterable[Any] = ()) -> tuple[str | None, Any, bool]:
    """Return ``(semantic kind, base type, is a list)`` of a field's annotation."""
    marks = [m.kind for m in metadata if isinstance(m, Semantic)]
    is_list = False
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation, *extra = get_args(annotation)
            marks += [m.kind for m in extra if isinstance(m, Semantic)]
        elif origin in (Union, types.UnionType):
            annotation = next(a for a in get_args(annotation) if a is not type(None))
        elif origin is list:
            is_list, annotation = True, get_args(annotation)[0]
        else:
            return (marks[0] if marks else None), annotation, is_list


def _kind_of(annotation: Any, metadata: Iterable[Any]) -> FieldKind:
    """The diff kind of one model field, from its type and :class:`~editor.schema.Semantic`."""
    semantic, base, is_list = _semantic(annotation, metadata)
    if semantic == "code":
        return "codes" if is_list else "code"
    if semantic == "link":
        return "links" if is_list else "link"
    if base is date:
        return "date"
    if semantic == "value" or base is int or (isinstance(base, type) and issubclass(base, Enum)):
        return "value"
    return "text"


def _derive_kinds() -> dict[str, FieldKind]:
    """Field name -> kind for every field of every section (``planning.<name>`` nested)."""
    kinds: dict[str, FieldKind] = {}

    def put(name: str, kind: FieldKind) -> None:
        if kinds.setdefault(name, kind) != kind:  # pragma: no cover - a schema inconsistency
            raise TypeError(f"field {name!r} has two kinds ({kinds[name]}, {kind})")

    for section, info in PPAContent.model_fields.items():
        _, model, _ = _semantic(info.annotation)
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            put(section, _kind_of(info.annotation, info.metadata))
            continue
        for name, sub in model.model_fields.items():
            if name == "id":
                continue
            if name in _NESTED_MODELS:
                for inner, leaf in _NESTED_MODELS[name].model_fields.items():
                    put(f"{name}.{inner}", _kind_of(leaf.annotation, leaf.metadata))
            else:
                put(name, _kind_of(sub.annotation, sub.metadata))
    return kinds


_NESTED_MODELS: dict[str, type[BaseModel]] = {"planning": Planning}
"""Item fields holding a nested model, compared field by field (``planning.jours``)."""

_NESTED_KEYS: dict[str, tuple[str, ...]] = {
    name: tuple(model.model_fields) for name, model in _NESTED_MODELS.items()
}

_KINDS: dict[str, FieldKind] = _derive_kinds()
"""The kind of every content field, derived from the content model."""


class ChangeKind(StrEnum):
    """What happened to an item."""

    ADDED = "added"
    REMOVED = "removed"
    CHANGED = "changed"


@dataclass(frozen=True)
class AuthoredChange:
    """One authored edit: ``author`` changed something under ``path_prefix`` at ``at``.

    ``path_prefix`` uses the diff's paths (``"actions/<id>"``, ``"actions/<id>/titre"``,
    ``"projet_de_vie"``); the empty prefix covers the whole document.
    """

    path_prefix: str
    author: str
    at: datetime


@dataclass(frozen=True)
class Author:
    """Who changed a field or an item, and when (first and last authored edit)."""

    author: str
    first_at: datetime
    last_at: datetime


AuthorLookup = Callable[[str], Iterable[AuthoredChange]]
"""Gives the authored edits relevant to a path (covering it or inside it)."""


@dataclass(frozen=True)
class TextSegment:
    """A run of a word-level text diff."""

    op: Literal["equal", "insert", "delete"]
    text: str


@dataclass(frozen=True)
class FieldChange:
    """A changed field of an item: old and new values, labels for codes and links, text segments."""

    field: str
    path: str
    label: str
    kind: FieldKind
    old: Any
    new: Any
    old_labels: tuple[str, ...] = ()
    new_labels: tuple[str, ...] = ()
    segments: tuple[TextSegment, ...] = ()
    authors: tuple[Author, ...] = ()


@dataclass(frozen=True)
class ItemChange:
    """An item added, removed or changed (a singleton is always ``changed``)."""

    section: str
    item_id: str | None
    kind: ChangeKind
    title: str
    path: str
    fields: tuple[FieldChange, ...] = ()
    authors: tuple[Author, ...] = ()

    @property
    def changed_fields(self) -> tuple[str, ...]:
        """Return the names of the changed fields."""
        return tuple(change.field for change in self.fields)

    def describe_fr(self) -> str:
        """Return a one-line French description: ``Action « Piscine » modifiée (lieu, heure)``."""
        return diff_fr.describe(self)


@dataclass(frozen=True)
class VersionDiff:
    """All changes between two contents, in section order (:data:`SECTIONS` then singletons)."""

    items: tuple[ItemChange, ...] = field(default=())

    @property
    def empty(self) -> bool:
        """Return whether nothing changed."""
        return not self.items

    def in_section(self, section: str) -> tuple[ItemChange, ...]:
        """Return the changes of one section."""
        return tuple(item for item in self.items if item.section == section)

    def summary_fr(self, max_titles: int = 3) -> str:
        """Return a French summary, e.g. ``2 actions modifiées (« A », « B »)``.

        Used for avenant titles; at most ``max_titles`` titles are quoted per group.
        """
        return diff_fr.summary(self.items, SECTIONS + SINGLETONS, SINGLETONS, max_titles)


_TOKEN = re.compile(r"\w+|\s+|[^\w\s]")


def word_diff(old: str, new: str) -> tuple[TextSegment, ...]:
    """Return a word-level diff of two texts.

    The runs' ``equal`` + ``delete`` texts rebuild ``old``; ``equal`` + ``insert`` give ``new``.
    """
    a, b = _TOKEN.findall(old), _TOKEN.findall(new)
    segments: list[TextSegment] = []

    def emit(op: Literal["equal", "insert", "delete"], tokens: Sequence[str]) -> None:
        if not tokens:
            return
        text = "".join(tokens)
        if segments and segments[-1].op == op:
            segments[-1] = TextSegment(op, segments[-1].text + text)
        else:
            segments.append(TextSegment(op, text))

    # Bounded cost whatever the texts (difflib's matcher is cubic on repetitive words).
    i = j = 0
    for i1, j1, size in [*matching_runs(a, b), (len(a), len(b), 0)]:
        emit("delete", a[i:i1])
        emit("insert", b[j:j1])
        emit("equal", a[i1 : i1 + size])
        i, j = i1 + size, j1 + size
    return tuple(segments)


def default_labeler() -> CodeLabeler:
    """Return a SERAFIN-PH labeler backed by ``editor.terminology``, or a null one without it.

    Uses ``editor.terminology.terminology().get(code).label``; unknown codes give ``None``.
    """
    try:
        module = importlib.import_module("editor.terminology")
        table: Any = module.terminology()
    except (ImportError, AttributeError):
        return lambda code: None

    def lookup(code: str) -> str | None:
        concept = table.get(code)
        label = getattr(concept, "label", None)
        return label if isinstance(label, str) else None

    return lookup


def _flatten(item: Mapping[str, Any], nested: Iterable[str]) -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in item.items():
        if key in nested:
            sub = value if isinstance(value, Mapping) else {}
            for sub_key in _NESTED_KEYS[key]:
                flat[f"{key}.{sub_key}"] = sub.get(sub_key)
        elif key != "id":
            flat[key] = value
    return flat


_EMPTY: tuple[Any, ...] = (None, "", [])


def _field_kind(name: str) -> FieldKind:
    return _KINDS.get(name, "text")


def _title(section: str, item: Mapping[str, Any], labeler: CodeLabeler) -> str:
    text: Any
    if section in ("objectifs", "actions"):
        text = item.get("titre")
    elif section == "attentes":
        text = item.get("texte")
    elif section == "besoins":
        code = item.get("code")
        text = item.get("description") or (labeler(code) if code else None) or code
    elif section == "moyens":
        text = item.get("description")
    elif section == "accords":
        text = f"{item.get('type')} - {item.get('par')}".strip(" -")
    else:
        text = None
    if not isinstance(text, str) or not text.strip():
        return diff_fr.UNTITLED
    words: str = " ".join(text.split())
    return words if len(words) <= 60 else words[:59] + "…"


class _Authorship:
    def __init__(self, source: Sequence[AuthoredChange] | AuthorLookup | None) -> None:
        self._source = source

    def _candidates(self, path: str) -> Iterable[AuthoredChange]:
        if self._source is None:
            return ()
        if callable(self._source):
            return self._source(path)
        return self._source

    def for_path(self, path: str, *, deeper: bool = True) -> tuple[Author, ...]:
        """Authors of edits covering ``path`` and, if ``deeper``, of edits inside it.

        Fields take deeper edits (the update log may name ``.../planning/jours/1``); items do
        not, so an edit to a field that ended unchanged does not make its author an author of
        the item's change.
        """
        found: dict[str, tuple[datetime, datetime]] = {}
        for change in self._candidates(path):
            prefix = change.path_prefix
            if not (
                prefix == ""
                or path == prefix
                or path.startswith(prefix + "/")
                or (deeper and prefix.startswith(path + "/"))
            ):
                continue
            first, last = found.get(change.author, (change.at, change.at))
            found[change.author] = (min(first, change.at), max(last, change.at))
        authors = [Author(name, first, last) for name, (first, last) in found.items()]
        return tuple(sorted(authors, key=lambda a: (a.first_at, a.author)))


def _merge_authors(groups: Iterable[tuple[Author, ...]]) -> tuple[Author, ...]:
    found: dict[str, tuple[datetime, datetime]] = {}
    for group in groups:
        for a in group:
            first, last = found.get(a.author, (a.first_at, a.last_at))
            found[a.author] = (min(first, a.first_at), max(last, a.last_at))
    authors = [Author(name, first, last) for name, (first, last) in found.items()]
    return tuple(sorted(authors, key=lambda a: (a.first_at, a.author)))


class _Differ:
    def __init__(
        self,
        old: dict[str, Any],
        new: dict[str, Any],
        authorship: _Authorship,
        labeler: CodeLabeler,
    ) -> None:
        self.old, self.new = old, new
        self.authorship = authorship
        self.labeler = labeler
        self.titles: dict[str, str] = {}
        for content in (old, new):
            for section in SECTIONS:
                for item in content[section]:
                    self.titles.setdefault(item["id"], _title(section, item, labeler))
        for section in SECTIONS:  # prefer the newest titles
            for item in new[section]:
                self.titles[item["id"]] = _title(section, item, labeler)

    def _labels(self, kind: FieldKind, value: Any) -> tuple[str, ...]:
        values = [value] if kind in ("code", "link") else (value or [])
        if kind in ("code", "codes"):
            return tuple(
                f"{code} - {label}" if (label := self.labeler(code)) else str(code)
                for code in values
                if code is not None
            )
        if kind in ("link", "links"):
            return tuple(self.titles.get(v, str(v)) for v in values if v is not None)
        return ()

    def field_changes(
        self, base: str, old: Mapping[str, Any], new: Mapping[str, Any]
    ) -> tuple[FieldChange, ...]:
        changes: list[FieldChange] = []
        for name in list(dict.fromkeys([*old.keys(), *new.keys()])):
            before, after = old.get(name), new.get(name)
            if before == after:
                continue
            kind = _field_kind(name)
            path = f"{base}/{name.replace('.', '/')}" if base else name
            segments: tuple[TextSegment, ...] = ()
            if kind == "text":
                segments = word_diff(before or "", after or "")
            changes.append(
                FieldChange(
                    field=name,
                    path=path,
                    label=FIELD_LABELS.get(name, name),
                    kind=kind,
                    old=before,
                    new=after,
                    old_labels=self._labels(kind, before),
                    new_labels=self._labels(kind, after),
                    segments=segments,
                    authors=self.authorship.for_path(path),
                )
            )
        return tuple(changes)

    def section(self, section: str) -> list[ItemChange]:
        nested = _NESTED_KEYS.keys()
        old_items = {item["id"]: item for item in self.old[section]}
        new_items = {item["id"]: item for item in self.new[section]}
        result: list[ItemChange] = []
        order = list(dict.fromkeys([*new_items, *old_items]))
        for item_id in order:
            path = f"{section}/{item_id}"
            before, after = old_items.get(item_id), new_items.get(item_id)
            if before is None or after is None:
                kind = ChangeKind.ADDED if before is None else ChangeKind.REMOVED
                present = after if after is not None else before
                if present is None:
                    raise RuntimeError("present is None")
                # Only the fields the item actually fills are listed.
                filled = {k: v for k, v in _flatten(present, nested).items() if v not in _EMPTY}
                empty = dict.fromkeys(filled)
                flat_before = empty if before is None else filled
                flat_after = empty if after is None else filled
                fields = self.field_changes(path, flat_before, flat_after)
                title = _title(section, present, self.labeler)
            else:
                fields = self.field_changes(path, _flatten(before, nested), _flatten(after, nested))
                if not fields:
                    continue
                kind, title = ChangeKind.CHANGED, _title(section, after, self.labeler)
            authors = _merge_authors(
                [self.authorship.for_path(path, deeper=False), *(f.authors for f in fields)]
            )
            result.append(ItemChange(section, item_id, kind, title, path, fields, authors))
        return result

    def singleton(self, section: str) -> list[ItemChange]:
        before, after = self.old[section], self.new[section]
        if section == "projet_de_vie":
            fields = self.field_changes("", {section: before}, {section: after})
        else:
            fields = self.field_changes(section, before, after)
        if not fields:
            return []
        authors = _merge_authors(
            [self.authorship.for_path(section, deeper=False), *(f.authors for f in fields)]
        )
        title = diff_fr.singleton_title(section)
        return [ItemChange(section, None, ChangeKind.CHANGED, title, section, fields, authors)]


def diff_contents(
    old: PPAContent,
    new: PPAContent,
    authorship: Sequence[AuthoredChange] | AuthorLookup | None = None,
    labeler: CodeLabeler | None = None,
) -> VersionDiff:
    """Return the structured diff from ``old`` to ``new``.

    ``authorship`` lists (or looks up) the authored edits made between the two versions; each
    field change gets the authors whose edits cover its path, each item change the union of its
    fields' authors and of the edits on the item itself. ``labeler`` names SERAFIN-PH codes
    (default: :func:`default_labeler`).
    """
    differ = _Differ(
        old.model_dump(mode="json"),
        new.model_dump(mode="json"),
        _Authorship(authorship),
        labeler if labeler is not None else default_labeler(),
    )
    items: list[ItemChange] = []
    for section in SECTIONS:
        items.extend(differ.section(section))
    for section in SINGLETONS:
        items.extend(differ.singleton(section))
    return VersionDiff(tuple(items))
