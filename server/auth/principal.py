"""Who is calling: a user login or a structure's API client."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class PrincipalType(StrEnum):
    USER = "user"
    API_CLIENT = "api_client"


@dataclass(frozen=True, slots=True)
class Principal:
    type: PrincipalType
    id: str
    kind: str
    """User kind (professional, person, aidant, auditor, admin) or ``esms`` for API clients."""
    display_name: str
    professional_id: str | None = None
