"""Town names of INSEE commune codes (COG), for the birthplace shown in documents.

Source: the npm package ``@etalab/decoupage-administratif`` 6.0.0 (COG 2026 of INSEE, published
by Etalab; data under the Licence Ouverte 2.0, code MIT), pinned by
``exports/data/cog/package-lock.json`` and installed by ``scripts/bootstrap.sh``
(``bootstrap_cog``). Only its ``data/communes.json`` is read; no JavaScript runs.

A birthplace code is the code **at birth**: a code that no longer exists (merged communes) is
found through the table's ``anciensCodes`` and named after today's commune. Codes of the
municipal districts of Paris, Lyon and Marseille are named ("Lyon 1er Arrondissement").
Abroad (``99xxx``, INSEE country codes) and unknown codes give "" and the caller shows the code.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

PACKAGE = "@etalab/decoupage-administratif"
COMMUNES_JSON = (
    Path(__file__).resolve().parent / "data" / "cog" / "node_modules" / PACKAGE / "data"
) / "communes.json"
KEPT_TYPES = (
    "commune-actuelle",
    "arrondissement-municipal",
    "commune-deleguee",
    "commune-associee",
)


@cache
def _names() -> dict[str, str]:
    """code -> "Name (department)", current codes first, then former codes (anciensCodes)."""
    if not COMMUNES_JSON.is_file():
        return {}
    rows = json.loads(COMMUNES_JSON.read_text(encoding="utf-8"))
    rank = {kind: i for i, kind in enumerate(KEPT_TYPES)}
    best: dict[str, tuple[int, str]] = {}
    for row in rows:  # a current commune wins over a delegated one with the same code
        order = rank.get(row.get("type", ""))
        if order is None:
            continue
        label = f"{row['nom']} ({row['departement']})"
        if row["code"] not in best or order < best[row["code"]][0]:
            best[row["code"]] = (order, label)
        for old in row.get("anciensCodes", ()):  # former codes rank after every current one
            if old not in best or order + len(KEPT_TYPES) < best[old][0]:
                best[old] = (order + len(KEPT_TYPES), label)
    return {code: label for code, (_, label) in best.items()}


def available() -> bool:
    """Whether the commune table is installed (``scripts/bootstrap.sh``)."""
    return bool(_names())


def name_of(code: str) -> str:
    """The commune's name for ``code`` ("Lyon (69)"), "" when unknown."""
    return _names().get(code.strip().upper(), "")
