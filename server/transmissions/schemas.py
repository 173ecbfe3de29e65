from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from server.people.schemas import MSS_ADDRESS_PATTERN
from server.text_input import TextInput


class _Schema(TextInput):
    model_config = ConfigDict(extra="forbid")


class ProfessionalRecipient(_Schema):
    """A professional of the person's cercle with an MSSanté address."""

    professional_id: str = Field(min_length=1, max_length=36)


class StructureRecipient(_Schema):
    """A structure of the directory with an MSSanté address (an MDPH, an ESMS...)."""

    structure_id: str = Field(min_length=1, max_length=36)


class AddressRecipient(_Schema):
    """A free MSSanté address, of a domain in ``PPA_MSS_DOMAINS``."""

    address: str = Field(max_length=254, pattern=MSS_ADDRESS_PATTERN)


RecipientIn = ProfessionalRecipient | StructureRecipient | AddressRecipient


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
