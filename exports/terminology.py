"""SERAFIN-PH lookups for the renderers, on top of :mod:`editor.terminology`.

Labels are the CodeSystem displays, character for character (``Coding.display``); value-set
membership comes from the JDVs shipped with the editor.
"""

from __future__ import annotations

from editor.terminology import terminology

SERAFIN_SYSTEM = "https://smt.esante.gouv.fr/terminologie-SERAFINPH"
J283 = "JDV-J283-PrestationsIndirects-SERAFIN"
J284 = "JDV-J284-PrestationsDirects-SERAFIN"
J285 = "JDV-J285-Besoins-SERAFIN"


def label(code: str) -> str:
    """Official label of ``code`` ('' when unknown: renderers then print the code only)."""
    concept = terminology().get(code)
    return concept.label if concept else ""


def kind(code: str) -> str:
    """``besoin``, ``prestation_directe`` or ``prestation_indirecte`` ('' when unknown)."""
    concept = terminology().get(code)
    return concept.kind.value if concept else ""


def valueset_codes(valueset_id: str) -> frozenset[str]:
    """Codes of a SERAFIN-PH JDV (``JDV-J285-Besoins-SERAFIN``...)."""
    vs = terminology().valuesets.get(valueset_id)
    return vs.codes if vs else frozenset()
