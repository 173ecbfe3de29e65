"""API schemas of the agenda feeds."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from server.models.exports import AgendaFeedKind
from server.text_input import TextInput


class AgendaFeedCreate(TextInput):
    model_config = ConfigDict(extra="forbid")

    kind: AgendaFeedKind
    """``person``: the person's agenda (needs ``person_id``); ``professional``: your own."""
    person_id: str | None = None
    label: str = Field(default="", max_length=200)
    """Free text to recognise the subscription later (e.g. "Téléphone de Léa")."""


class AgendaFeedRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    kind: str
    person_id: str | None
    professional_id: str | None
    label: str
    created_at: datetime
    revoked_at: datetime | None


class AgendaFeedCreated(AgendaFeedRead):
    url: str
    """The subscription URL (shown once: only a hash of its token is kept)."""
    webcal_url: str
    """The same with the ``webcal://`` scheme, which calendar applications open directly."""
