from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, model_validator

from server.models.person import MemberKind, Role
from server.text_input import TextInput


class MemberCreate(TextInput):
    model_config = ConfigDict(extra="forbid")

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
        if self.kind is MemberKind.STRUCTURE_SYSTEM and not self.api_client_id:
            raise ValueError("un système de structure est désigné par api_client_id")
        return self


class MemberUpdate(TextInput):
    model_config = ConfigDict(extra="forbid")

    role: Role


class OppositionUpdate(TextInput):
    model_config = ConfigDict(extra="forbid")

    opposed: bool


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
