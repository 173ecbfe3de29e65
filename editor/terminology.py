"""SERAFIN-PH nomenclature (besoins and prestations), loaded from the package data.

The data (``editor/data/serafin-ph*.csv``) is the complete CodeSystem
``https://smt.esante.gouv.fr/terminologie-SERAFINPH`` version 2023.1.0: 107 codes
(35 besoins 1.x, 37 prestations directes 2.x, 35 prestations indirectes 3.x), 6 of them deprecated
("concept dupliqué"). Deprecated codes are accepted on import but never offered for new entries:
:meth:`Terminology.search` and :meth:`Terminology.tree` hide them unless asked.

Usage::

    from editor.terminology import terminology

    t = terminology()
    t.get("1.3.2.1").label
    t.search("logement", kind=Kind.BESOIN)
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache
from importlib import resources

CODE_SYSTEM_URL = "https://smt.esante.gouv.fr/terminologie-SERAFINPH"
"""FHIR ``Coding.system`` of SERAFIN-PH codes."""
CODE_SYSTEM_VERSION = "2023.1.0"
CODE_SYSTEM_NAME = "SERAFIN_PH"

JDV_BESOINS_URL = (
    "https://mos.esante.gouv.fr/NOS/JDV_J285-Besoins_SERAFIN/FHIR/JDV-J285-Besoins-SERAFIN"
)
JDV_BESOINS_OID = "1.2.250.1.213.3.3.254"
JDV_PRESTATIONS_DIRECTES_URL = (
    "https://mos.esante.gouv.fr/NOS/JDV_J284-PrestationsDirects_SERAFIN/FHIR/"
    "JDV-J284-PrestationsDirects-SERAFIN"
)
JDV_PRESTATIONS_DIRECTES_OID = "1.2.250.1.213.3.3.253"
JDV_PRESTATIONS_INDIRECTES_URL = (
    "https://mos.esante.gouv.fr/NOS/JDV_J283-PrestationsIndirects_SERAFIN/FHIR/"
    "JDV-J283-PrestationsIndirects-SERAFIN"
)
JDV_PRESTATIONS_INDIRECTES_OID = "1.2.250.1.213.3.3.252"
JDV_TRANSPORTS_URL = (
    "https://mos.esante.gouv.fr/NOS/JDV_J282-TransportsLiesAuProjetIndividuel_SERAFIN/FHIR/"
    "JDV-J282-TransportsLiesAuProjetIndividuel-SERAFIN"
)
JDV_TRANSPORTS_OID = "1.2.250.1.213.3.3.251"
JDV_TRANSPORTS_ID = "JDV-J282-TransportsLiesAuProjetIndividuel-SERAFIN"
"""The only JDV of indirect prestations tied to the person's own project (3.2.4, 3.2.4.x)."""
JDV_VERSION = "20241025120000"


class Kind(StrEnum):
    """Which part of the nomenclature a code belongs to."""

    BESOIN = "besoin"
    PRESTATION_DIRECTE = "prestation_directe"
    PRESTATION_INDIRECTE = "prestation_indirecte"


@dataclass(frozen=True, slots=True)
class ValueSet:
    """A JDV (jeu de valeurs) of the ANS NOS using SERAFIN-PH codes."""

    id: str
    name: str
    url: str
    oid: str
    version: str
    codes: frozenset[str]


@dataclass(frozen=True, slots=True)
class Concept:
    """One SERAFIN-PH code.

    ``parent`` is the CodeSystem ``parent`` property (for deprecated codes, the code-prefix parent);
    ``children`` lists the codes whose ``parent`` is this code (in file order, deprecated included).
    ``level`` is the CodeSystem ``type`` property (``BLOC``, ``Niveau 2``..``Niveau 4``; ``None``
    for deprecated codes); ``depth`` is the number of dotted segments of the code.
    ``jdv_display`` is the display used in the JDVs (``'`` instead of ``’``).
    """

    code: str
    label: str
    kind: Kind
    parent: str | None
    deprecated: bool
    level: str | None
    depth: int
    jdv_display: str
    deprecation_note: str = ""
    children: tuple[str, ...] = field(default=())

    @property
    def is_besoin(self) -> bool:
        return self.kind is Kind.BESOIN

    @property
    def is_prestation(self) -> bool:
        return self.kind is not Kind.BESOIN


@dataclass(frozen=True, slots=True)
class TreeNode:
    """A concept and its (filtered) sub-tree, as returned by :meth:`Terminology.tree`."""

    concept: Concept
    children: tuple[TreeNode, ...]


_CODE_QUERY = re.compile(r"^\d+(\.\d+)*\.?$")
_WORD = re.compile(r"[a-z0-9]+")


def normalize(text: str) -> str:
    """Lower-case, strip accents, fold ligatures and apostrophes (for accent-insensitive search)."""
    folded = text.replace("œ", "oe").replace("Œ", "oe").replace("æ", "ae").replace("Æ", "ae")
    decomposed = unicodedata.normalize("NFKD", folded.casefold())
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return stripped.replace("’", "'")


def _words(text: str) -> list[str]:
    return _WORD.findall(normalize(text))


def _code_key(code: str) -> tuple[int, ...]:
    return tuple(int(part) for part in code.split("."))


class Terminology:
    """The SERAFIN-PH nomenclature, indexed. Build it with :func:`terminology` (cached)."""

    def __init__(self, concepts: Iterable[Concept], valuesets: Iterable[ValueSet] = ()) -> None:
        by_code: dict[str, Concept] = {}
        for concept in concepts:
            if concept.code in by_code:
                raise ValueError(f"duplicate SERAFIN-PH code {concept.code}")
            by_code[concept.code] = concept
        self._concepts = by_code
        self._valuesets = {vs.id: vs for vs in valuesets}
        self._words = {
            code: set(_words(f"{c.label} {c.jdv_display}")) for code, c in by_code.items()
        }

    def __len__(self) -> int:
        return len(self._concepts)

    def __contains__(self, code: object) -> bool:
        return isinstance(code, str) and code in self._concepts

    def __iter__(self) -> Iterator[Concept]:
        return iter(self._concepts.values())

    @property
    def concepts(self) -> tuple[Concept, ...]:
        """All concepts, in nomenclature order (deprecated included)."""
        return tuple(self._concepts.values())

    @property
    def valuesets(self) -> dict[str, ValueSet]:
        """The JDVs, by FHIR ValueSet id (``JDV-J285-Besoins-SERAFIN``...)."""
        return dict(self._valuesets)

    def get(self, code: str) -> Concept | None:
        """The concept for ``code``, or ``None`` if unknown."""
        return self._concepts.get(code.strip())

    def __getitem__(self, code: str) -> Concept:
        concept = self.get(code)
        if concept is None:
            raise KeyError(code)
        return concept

    def is_besoin(self, code: str) -> bool:
        concept = self.get(code)
        return concept is not None and concept.is_besoin

    def is_prestation(self, code: str) -> bool:
        concept = self.get(code)
        return concept is not None and concept.is_prestation

    def is_deprecated(self, code: str) -> bool:
        concept = self.get(code)
        return concept is not None and concept.deprecated

    def by_kind(self, kind: Kind, *, include_deprecated: bool = True) -> tuple[Concept, ...]:
        return tuple(
            c
            for c in self._concepts.values()
            if c.kind is kind and (include_deprecated or not c.deprecated)
        )

    def search(
        self,
        query: str,
        kind: Kind | str | None = None,
        *,
        include_deprecated: bool = False,
        limit: int | None = 50,
    ) -> list[Concept]:
        """Find concepts by code prefix or by words of the label.

        * A query that looks like a code (``1.3.2`` or ``1.3.2.``) returns that code and its
          descendants (by code prefix), in nomenclature order.
        * Otherwise every word of the query must start a word of the label (accent-, case- and
          apostrophe-insensitive; ``securite`` finds ``sécurité``, ``logement`` finds
          ``logement``/``logements``); results are ordered by code.
        * Deprecated codes are hidden unless ``include_deprecated``. ``kind`` restricts to one
          part (a :class:`Kind` or its value). An empty query returns nothing.
        """
        wanted_kind = Kind(kind) if kind is not None else None
        text = query.strip()
        if not text:
            return []
        candidates = [
            c
            for c in self._concepts.values()
            if (wanted_kind is None or c.kind is wanted_kind)
            and (include_deprecated or not c.deprecated)
        ]
        if _CODE_QUERY.match(text):
            code = text.rstrip(".")
            found = [c for c in candidates if c.code == code or c.code.startswith(code + ".")]
        else:
            terms = _words(text)
            if not terms:
                return []
            found = [
                c
                for c in candidates
                if all(any(word.startswith(term) for word in self._words[c.code]) for term in terms)
            ]
        found.sort(key=lambda c: _code_key(c.code))
        return found if limit is None else found[:limit]

    def tree(
        self, kind: Kind | str | None = None, *, include_deprecated: bool = False
    ) -> list[TreeNode]:
        """The nomenclature as a forest (one root per bloc 1, 2, 3, or the one of ``kind``)."""
        wanted_kind = Kind(kind) if kind is not None else None

        def keep(concept: Concept) -> bool:
            return (wanted_kind is None or concept.kind is wanted_kind) and (
                include_deprecated or not concept.deprecated
            )

        def build(concept: Concept) -> TreeNode:
            kids = (self._concepts[code] for code in concept.children)
            return TreeNode(concept, tuple(build(k) for k in kids if keep(k)))

        return [build(c) for c in self._concepts.values() if c.parent is None and keep(c)]

    def level_number(self, code: str) -> int | None:
        """The CodeSystem level as a number (``BLOC`` = 1 ... ``Niveau 4`` = 4).

        A deprecated code has no level of its own: it duplicates its parent ("concept
        dupliqué"), so it has its parent's. ``None`` for an unknown code.
        """
        concept = self.get(code)
        if concept is not None and concept.level is None and concept.parent is not None:
            concept = self.get(concept.parent)
        if concept is None or concept.level is None:
            return None
        return 1 if concept.level == "BLOC" else int(concept.level.removeprefix("Niveau "))

    def in_valueset(self, valueset_id: str, code: str) -> bool:
        """Whether ``code`` is in the JDV ``valueset_id`` (``False`` for an unknown JDV)."""
        valueset = self._valuesets.get(valueset_id)
        return valueset is not None and code.strip() in valueset.codes

    def ancestors(self, code: str) -> list[Concept]:
        """Parents of ``code`` from the closest to the bloc."""
        out: list[Concept] = []
        concept = self.get(code)
        while concept is not None and concept.parent is not None:
            concept = self._concepts[concept.parent]
            out.append(concept)
        return out


def _read_csv(name: str) -> list[dict[str, str]]:
    text = resources.files("editor").joinpath("data", name).read_text(encoding="utf-8")
    return list(csv.DictReader(io.StringIO(text)))


_VALUESET_META: dict[str, tuple[str, str]] = {
    "JDV-J285-Besoins-SERAFIN": (JDV_BESOINS_URL, JDV_BESOINS_OID),
    "JDV-J284-PrestationsDirects-SERAFIN": (
        JDV_PRESTATIONS_DIRECTES_URL,
        JDV_PRESTATIONS_DIRECTES_OID,
    ),
    "JDV-J283-PrestationsIndirects-SERAFIN": (
        JDV_PRESTATIONS_INDIRECTES_URL,
        JDV_PRESTATIONS_INDIRECTES_OID,
    ),
    JDV_TRANSPORTS_ID: (JDV_TRANSPORTS_URL, JDV_TRANSPORTS_OID),
}


def load_terminology() -> Terminology:
    """Read the package data and build a fresh :class:`Terminology` (prefer :func:`terminology`)."""
    rows = _read_csv("serafin-ph.csv")
    details = {row["code"]: row for row in _read_csv("serafin-ph-details.csv")}
    children: dict[str, list[str]] = {}
    for row in rows:
        if row["parent"]:
            children.setdefault(row["parent"], []).append(row["code"])
    concepts = []
    for row in rows:
        code = row["code"]
        detail = details[code]
        concepts.append(
            Concept(
                code=code,
                label=row["label"],
                kind=Kind(row["kind"]),
                parent=row["parent"] or None,
                deprecated=detail["status"] == "deprecated",
                level=detail["level"] or None,
                depth=code.count(".") + 1,
                jdv_display=detail["jdv_display"] or row["label"],
                deprecation_note=detail["deprecation_note"],
                children=tuple(children.get(code, ())),
            )
        )
    members: dict[str, tuple[str, set[str]]] = {}
    for row in _read_csv("serafin-ph-valuesets.csv"):
        members.setdefault(row["valueset_id"], (row["valueset_name"], set()))[1].add(row["code"])
    valuesets = [
        ValueSet(
            id=vs_id,
            name=name,
            url=_VALUESET_META[vs_id][0],
            oid=_VALUESET_META[vs_id][1],
            version=JDV_VERSION,
            codes=frozenset(codes),
        )
        for vs_id, (name, codes) in members.items()
    ]
    return Terminology(concepts, valuesets)


@cache
def terminology() -> Terminology:
    """The SERAFIN-PH nomenclature (loaded once per process)."""
    return load_terminology()
