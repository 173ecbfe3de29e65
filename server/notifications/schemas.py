"""Request and response bodies of the notification routes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, JsonValue, field_validator

from server.models.notifications import Channel, Frequency
from server.notifications.natures import NATURES
from server.text_input import TextInput

NATURE_CODES: list[JsonValue] = list(NATURES)
"""The registry's codes, stated in the OpenAPI schema (any other is refused)."""

EMAIL_PATTERN = r"^[^@\s<>,;\"]{1,64}@[A-Za-z0-9.-]{1,189}\.[A-Za-z]{2,63}$"


class NoticeRead(BaseModel):
    id: str
    nature: str
    label: str
    """French words of the nature (plain French for the person and the aidant)."""
    person_id: str | None
    initials: str | None
    ppa_id: str | None
    version: int | None
    actor_name: str | None
    created_at: datetime
    read: bool
    link: str
    """Where the notice leads in the editor: ``#/ppa/<id>/diff/<n-1>/<n>`` (a new iteration:
    what it changed), ``#/ppa/<id>/version/<n>`` (another version event), ``#/ppa/<id>``."""


class NoticePage(BaseModel):
    items: list[NoticeRead]
    total: int
    unread: int
    offset: int
    limit: int


class MarkRead(TextInput):
    model_config = ConfigDict(extra="forbid")

    ids: list[Annotated[str, Field(max_length=36)]] = Field(default_factory=list, max_length=500)
    """The notices to mark read (yours; others are ignored)."""
    all: bool = Field(default=False, strict=True)
    """Mark every notice read."""


class UnreadCount(BaseModel):
    unread: int


class NaturePreference(TextInput):
    model_config = ConfigDict(extra="forbid")

    nature: str = Field(max_length=60, json_schema_extra={"enum": NATURE_CODES})
    channels: list[Channel] = Field(max_length=3, json_schema_extra={"uniqueItems": True})
    frequency: Frequency

    @field_validator("nature")
    @classmethod
    def _known(cls, value: str) -> str:
        if value not in NATURES:
            raise ValueError(f"nature inconnue : {value!r} (voir la liste des natures)")
        return value

    @field_validator("channels")
    @classmethod
    def _unique(cls, value: list[Channel]) -> list[Channel]:
        if len(set(value)) != len(value):
            raise ValueError("un canal est cité deux fois")
        return value


class NaturePreferenceRead(NaturePreference):
    label: str
    custom: bool
    """``false``: the defaults of your role."""


class PreferencesRead(BaseModel):
    email: str | None
    mobile: str | None
    mobile_verified: bool
    email_available: bool
    """The service sends email (``PPA_SMTP_HOST`` set)."""
    sms_available: bool
    natures: list[NaturePreferenceRead]


class PreferencesUpdate(TextInput):
    model_config = ConfigDict(extra="forbid")

    email: str | None = Field(default=None, max_length=254, pattern=EMAIL_PATTERN)
    """Where emails go (``null``: no email)."""
    natures: list[NaturePreference] = Field(default_factory=list, max_length=100)
    """Your choice per nature (natures not listed keep their current setting)."""
    reset: list[Annotated[str, Field(max_length=60, json_schema_extra={"enum": NATURE_CODES})]] = (
        Field(default_factory=list, max_length=100)
    )
    """Natures back to the defaults of your role."""

    @field_validator("reset")
    @classmethod
    def _known_natures(cls, value: list[str]) -> list[str]:
        unknown = [code for code in value if code not in NATURES]
        if unknown:
            raise ValueError(f"nature inconnue : {unknown[0]!r} (voir la liste des natures)")
        return value
