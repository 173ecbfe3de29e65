"""Texts holding every troublesome class of character, the way an old stored version may.

:func:`poison` appends :data:`HOSTILE` to every free text of a content, an export input or any
pydantic object (never through validation, as a version stored before the input rules would),
leaving alone what a renderer reads as structure: ids and references, codes, patterns, enums.
"""

from __future__ import annotations

from enum import Enum
from typing import Any, TypeVar, cast

from pydantic import BaseModel

NUL = "\x00"
ESCAPE = "\x1b"
NONCHARACTER = "\ufffe"
LONE_SURROGATE = "\udc00"
RTL_OVERRIDE = "\u202e"
EMOJI = "\U0001f600"
COMBINING = "e\u0301\u0327"

ILLEGAL = (NUL, ESCAPE, NONCHARACTER, LONE_SURROGATE)
"""Not XML 1.0 characters: dropped by every export."""
LEGAL = (RTL_OVERRIDE, EMOJI, COMBINING)
"""Ordinary (if unusual) text: kept by the exports that carry text as is (FHIR JSON)."""

HOSTILE = " <&" + NUL + ESCAPE + NONCHARACTER + LONE_SURROGATE + RTL_OVERRIDE + EMOJI + COMBINING
STORABLE = HOSTILE.replace(LONE_SURROGATE, "")
"""What a live document can hold (Yjs strings are UTF-8: no lone surrogate)."""

STRUCTURAL = frozenset(
    {
        # ids and references
        "id",
        "referent_id",
        "intervenant_ids",
        "besoin_ids",
        "objectif_ids",
        "by_professional_id",
        "ppa_id",
        "author_id",
        "legal_authenticator_id",
        # codes and patterned values
        "code",
        "prestations",
        "type",
        "heure_debut",
        "ins",
        "finess",
        "rpps",
        "birthplace_insee",
        "structure_finess",
        "content_hash",
        "profession_code",
        "facility_type_code",
        "practice_setting_code",
        "postal_code",
        "email",
        "local_id",
    }
)
"""Fields left as they are: the renderers read them as identifiers or codes."""

T = TypeVar("T")


def poison(value: T, field: str = "", suffix: str = HOSTILE) -> T:
    """``value`` with ``suffix`` appended to every free text (see :data:`STRUCTURAL`)."""
    result: Any = value
    if field in STRUCTURAL or isinstance(value, Enum):
        return value
    if isinstance(value, str):
        result = value + suffix if value else suffix.strip()
    elif isinstance(value, BaseModel):
        result = value.model_copy(
            update={
                name: poison(getattr(value, name), name, suffix)
                for name in type(value).model_fields
            }
        )
    elif isinstance(value, dict):
        result = {k: poison(v, field, suffix) for k, v in value.items()}
    elif isinstance(value, list | tuple):
        result = type(value)(poison(item, field, suffix) for item in value)
    return cast(T, result)
