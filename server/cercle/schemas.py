from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, model_validator

from server.models.person import MemberKind, Role

_PEOPLE_KINDS = [k.value for k in MemberKind if k is not MemberKind.STRUCTURE_SYSTEM]
_PEOPLE_ROLES = [r.value for r in Role if r is not Role.ESMS]
# The validator's rules below, in JSON Schema: a structure's software is designated by
# api_client_id alone; anyone else by user_id and/or professional_id, never with the esms role.
MEMBER_RULES: dict[str, Any] = {
    "anyOf": [
        {
            "properties": {
                "kind": {"const": MemberKind.STRUCTURE_SYSTEM.value},
                "api_client_id": {"type": "string"},
                "user_id": {"type": "null"},
                "professional_id": {"type": "null"},
            },
            "required": ["api_client_id"],
        },
        {
            "properties": {
                "kind": {"enum": _PEOPLE_KINDS},
                "role": {"enum": _PEOPLE_ROLES},
                "api_client_id": {"type": "null"},
            },
            "anyOf": [
                {"properties": {"user_id": {"type": "string"}}, "required": ["user_id"]},
                {
                    "properties": {"professional_id": {"type": "string"}},
                    "required": ["professional_id"],
                },
            ],
        },
    ]
}


class MemberCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra=MEMBER_RULES)

    kind: MemberKind
    role: Role
    user_id: str | None = Field(default=None, min_length=1, max_length=36)
    api_client_id: str | None = Field(default=None, min_length=1, max_length=36)
    professional_id: str | None = Field(default=None, min_length=1, max_length=36)
    display_name: str | None = Field(default=None, max_length=200)

    @model_validator(mode="after")
    def _one_principal(self) -> MemberCreate:
        given = [x for x in (self.user_id, self.api_client_id, self.professional_id) if x]
        if not given:
            raise ValueError("indiquez user_id, professional_id ou api_client_id")
        if self.api_client_id and (self.user_id or self.professional_id):
            raise ValueError("un système de structure ne peut pas être aussi un utilisateur")
        if (self.kind is MemberKind.STRUCTURE_SYSTEM) != bool(self.api_client_id):
            raise ValueError("un système de structure est désigné par api_client_id, et lui seul")
        if self.role is Role.ESMS and self.kind is not MemberKind.STRUCTURE_SYSTEM:
            raise ValueError("le rôle esms est réservé aux systèmes de structure")
        return self


class MemberUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Role


class OppositionUpdate(BaseModel):
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
    opposed: bool
    opposed_at: datetime | None
    created_at: datetime
