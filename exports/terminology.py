"""SERAFIN-PH labels for the renderers.

Uses :mod:`editor.terminology` (``get(code).label``) when it is present; until then, reads the
shipped ``editor/data/serafin-ph.csv`` directly. Labels are the CodeSystem displays, character
for character.
"""

from __future__ import annotations

import csv
import importlib
import importlib.resources
from dataclasses import dataclass
from functools import cache
from typing import Protocol

SERAFIN_SYSTEM = "https://smt.esante.gouv.fr/terminologie-SERAFINPH"
J285_URL = "https://mos.esante.gouv.fr/NOS/JDV_J285-Besoins_SERAFIN/FHIR/JDV-J285-Besoins-SERAFIN"


class _HasLabel(Protocol):
    @property
    def label(self) -> str: ...


@dataclass(frozen=True)
class SerafinCode:
    """A SERAFIN-PH code with its official label and kind."""

    code: str
    label: str
    kind: str
    """``besoin``, ``prestation_directe`` or ``prestation_indirecte``."""


@cache
def _csv_table() -> dict[str, SerafinCode]:
    text = importlib.resources.files("editor").joinpath("data/serafin-ph.csv").read_text("utf-8")
    return {
        row["code"]: SerafinCode(row["code"], row["label"], row["kind"])
        for row in csv.DictReader(text.splitlines())
    }


def _editor_label(code: str) -> str | None:
    try:
        mod = importlib.import_module("editor.terminology")
    except ImportError:
        return None
    getter = getattr(mod, "get", None)
    if getter is None:
        return None
    try:
        entry: _HasLabel | None = getter(code)
    except (KeyError, LookupError, ValueError):
        return None
    return None if entry is None else str(entry.label)


def lookup(code: str) -> SerafinCode | None:
    """Return the SERAFIN-PH entry of ``code`` (None if unknown)."""
    row = _csv_table().get(code)
    if row is None:
        return None
    label = _editor_label(code)
    return row if label is None else SerafinCode(row.code, label, row.kind)


def label(code: str) -> str:
    """Official label of ``code`` ('' when unknown: renderers then print the code only)."""
    entry = lookup(code)
    return entry.label if entry else ""


def kind(code: str) -> str:
    """Kind of ``code`` ('' when unknown)."""
    entry = lookup(code)
    return entry.kind if entry else ""


def all_codes() -> tuple[SerafinCode, ...]:
    """Every code of the nomenclature, in file order."""
    return tuple(_csv_table().values())


J283 = "JDV-J283-PrestationsIndirects-SERAFIN"
J284 = "JDV-J284-PrestationsDirects-SERAFIN"
J285 = "JDV-J285-Besoins-SERAFIN"


@cache
def valueset_codes(valueset_id: str) -> frozenset[str]:
    """Codes of a SERAFIN-PH JDV (``JDV-J285-Besoins-SERAFIN``...), from the shipped CSV."""
    text = (
        importlib.resources.files("editor")
        .joinpath("data/serafin-ph-valuesets.csv")
        .read_text("utf-8")
    )
    return frozenset(
        row["code"]
        for row in csv.DictReader(text.splitlines())
        if row["valueset_id"] == valueset_id
    )
