from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, model_validator

from server.cercle.rules import measure_problem
from server.models.person import MeasureScope, MemberKind, ProtectionMeasure, Role
from server.text_input import TextInput

_OTHER_KINDS = [
    k.value
    for k in MemberKind
    if k not in (MemberKind.STRUCTURE_SYSTEM, MemberKind.PERSON, MemberKind.LEGAL_REPRESENTATIVE)
]
_OTHER_ROLES = [r.value for r in Role if r not in (Role.ESMS, Role.PERSON)]
_A_PERSON_OR_LOGIN: dict[str, Any] = {
    "anyOf": [
        {"properties": {"user_id": {"type": "string"}}, "required": ["user_id"]},
        {"properties": {"professional_id": {"type": "string"}}, "required": ["professional_id"]},
    ]
}
_NO_MEASURE: dict[str, Any] = {"mesure": {"type": "null"}, "mesure_portee": {"type": "null"}}
"""Only a legal representative holds a protection measure (rule 3, server.cercle.rules)."""
# The request's own rules, in JSON Schema (the validator below and server.cercle.rules.role_problem
# apply them): a structure's software is designated by api_client_id alone, with the role esms
# (reads validated versions) or contributor (its DUI writes the drafts, issue 13);
# the person is a member of kind person with the role person; anyone else by user_id and/or
# professional_id, with neither of those roles. What depends on the designated account (its kind)
# is checked against the database: 409.
MEMBER_RULES: dict[str, Any] = {
    "anyOf": [
        {
            "properties": {
                "kind": {"const": MemberKind.STRUCTURE_SYSTEM.value},
                "role": {"enum": [Role.ESMS.value, Role.CONTRIBUTOR.value]},
                "api_client_id": {"type": "string"},
                "user_id": {"type": "null"},
                "professional_id": {"type": "null"},
                **_NO_MEASURE,
            },
            "required": ["api_client_id"],
        },
        {
            "properties": {
                "kind": {"const": MemberKind.PERSON.value},
                "role": {"const": Role.PERSON.value},
                "api_client_id": {"type": "null"},
                **_NO_MEASURE,
            },
            **_A_PERSON_OR_LOGIN,
        },
        {
            "properties": {
                "kind": {"enum": _OTHER_KINDS},
                "role": {"enum": _OTHER_ROLES},
                "api_client_id": {"type": "null"},
                **_NO_MEASURE,
            },
            **_A_PERSON_OR_LOGIN,
        },
        {
            "properties": {
                "kind": {"const": MemberKind.LEGAL_REPRESENTATIVE.value},
                "role": {"enum": _OTHER_ROLES},
                "api_client_id": {"type": "null"},
                "mesure": {"enum": [m.value for m in ProtectionMeasure]},
            },
            "required": ["mesure"],
            **_A_PERSON_OR_LOGIN,
        },
    ]
}


class MemberCreate(TextInput):
    model_config = ConfigDict(extra="forbid", json_schema_extra=MEMBER_RULES)

    kind: MemberKind
    role: Role
    user_id: str | None = Field(default=None, min_length=1, max_length=36)
    api_client_id: str | None = Field(default=None, min_length=1, max_length=36)
    professional_id: str | None = Field(default=None, min_length=1, max_length=36)
    display_name: str | None = Field(default=None, max_length=200)
    mesure: ProtectionMeasure | None = Field(
        default=None, description="A legal representative's protection measure (required for one)"
    )
    mesure_portee: MeasureScope | None = Field(
        default=None, description="What the measure covers: the person, her property, or both"
    )

    @model_validator(mode="after")
    def _one_principal(self) -> MemberCreate:
        given = [x for x in (self.user_id, self.api_client_id, self.professional_id) if x]
        if not given:
            raise ValueError("indiquez user_id, professional_id ou api_client_id")
        if self.api_client_id and (self.user_id or self.professional_id):
            raise ValueError("un système de structure ne peut pas être aussi un utilisateur")
        if (self.kind is MemberKind.STRUCTURE_SYSTEM) != bool(self.api_client_id):
            raise ValueError("un système de structure est désigné par api_client_id, et lui seul")
        problem = measure_problem(self.kind, self.mesure, self.mesure_portee)
        if problem is not None:
            raise ValueError(problem)
        return self


class MemberUpdate(TextInput):
    model_config = ConfigDict(extra="forbid")

    role: Role


class OppositionUpdate(TextInput):
    model_config = ConfigDict(extra="forbid")

    opposed: StrictBool  # not 0/1 nor "yes": the schema says boolean


class MemberRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    person_id: str
    kind: str
    role: str
    user_id: str | None
    api_client_id: str | None
    professional_id: str | None
    display_name: str
    mesure: str | None = None
    mesure_portee: str | None = None
    opposed: bool
    opposed_at: datetime | None
    created_at: datetime
