from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from server.people.schemas import MSS_ADDRESS_PATTERN


class _Schema(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RecipientIn(_Schema):
    """One recipient: a professional of the cercle, a structure of the directory, or a free
    MSSanté address (of a domain in ``PPA_MSS_DOMAINS``). Exactly one of the three."""

    professional_id: str | None = Field(default=None, min_length=1, max_length=36)
    structure_id: str | None = Field(default=None, min_length=1, max_length=36)
    address: str | None = Field(default=None, max_length=254, pattern=MSS_ADDRESS_PATTERN)

    @model_validator(mode="after")
    def _one(self) -> RecipientIn:
        given = [v for v in (self.professional_id, self.structure_id, self.address) if v]
        if len(given) != 1:
            raise ValueError(
                "un destinataire est soit professional_id, soit structure_id, soit address"
            )
        return self


class TransmissionCreate(_Schema):
    channel: Literal["mssante", "dmp"]
    document: Literal["ppa", "mdph"] = "ppa"
    to: list[RecipientIn] = Field(default_factory=list, max_length=20)
    """MSSanté only; empty for the MDPH fiche: the MDPH of the person's département."""


class FicheMdphCreate(_Schema):
    """Use case 3: send the fiche de liaison to the MDPH by MSSanté and deposit it in the DMP."""

    to: list[RecipientIn] = Field(default_factory=list, max_length=20)
    dmp: bool = True


class RecipientRead(BaseModel):
    kind: str
    id: str | None = None
    address: str
    label: str = ""


class TransmissionRead(BaseModel):
    id: str
    ppa_id: str
    version_number: int
    channel: str
    document: str
    recipients: list[RecipientRead]
    status: str
    status_label: str
    error_code: str | None
    error_label: str | None
    attempts: int
    next_attempt_at: datetime | None
    message_id: str
    document_unique_id: str | None
    group_id: str | None
    created_at: datetime
    sent_at: datetime | None
    received_at: datetime | None
    read_at: datetime | None
