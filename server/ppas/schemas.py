from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from editor.schema import PPAContent, Severity
from server.text_input import TextInput


class ProblemRead(BaseModel):
    """One problem of the content: what to correct (or check) before validating."""

    path: str = Field(description="The field, by item id: 'objectifs[<id>].titre', 'attentes'")
    code: str = Field(description="Stable key of the rule (docs/domain-rules.md)")
    message: str = Field(description="What is wrong, in French")
    severity: Severity = Field(
        default=Severity.BLOQUANT,
        description="'bloquant': the validation is refused (409) until corrected; "
        "'a_verifier': shown, does not block",
    )


class PPACreate(TextInput):
    model_config = ConfigDict(extra="forbid")

    title: str | None = Field(default=None, max_length=200)
    from_previous: StrictBool = Field(
        default=False, description="Start from the person's most recent PPA (use case 1)"
    )
    previous_ppa_id: str | None = Field(
        default=None, description="Start from this PPA of the same person"
    )
    content: PPAContent | None = Field(
        default=None, description="Initial content (ignored when starting from a previous PPA)"
    )


class PPAUpdate(TextInput):
    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=200)


class PPASummary(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    person_id: str
    title: str
    status: str
    locked: bool
    previous_ppa_id: str | None
    created_at: datetime
    updated_at: datetime


class PPARead(PPASummary):
    content: PPAContent
    problems: list[ProblemRead]
    serafin: dict[str, str] = Field(
        default_factory=dict, description="Official SERAFIN-PH label of every code in the content"
    )
    my_role: str | None = None
