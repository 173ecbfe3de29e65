from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from editor.schema import PPAContent, Severity
from server.people.schemas import PersonRead
from server.text_input import TextInput
from versions.timeline import FirstPpaStatus


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
    echu: bool = Field(
        default=False,
        description="In force (validated) but its period ended or its review date passed",
    )
    echu_reasons: list[str] = Field(default_factory=list, description="Why, in French")
    next_review: date | None = Field(
        default=None,
        description="In force: next review, at most 12 months after the last full validation",
    )
    imported_identifier: str | None = Field(
        default=None,
        description="Created by a TDDUI import: the CarePlan identifier it came with",
    )
    imported_by_structure_id: str | None = Field(
        default=None, description="Created by a TDDUI import: the importing structure"
    )


class FirstPpaRead(BaseModel):
    deadline: date | None = Field(description="Admission + 6 months (CASF D311)")
    status: FirstPpaStatus
    message: str


class InForceRead(BaseModel):
    ppa_id: str
    version_number: int
    full_validated_on: date | None = Field(description="Last full validation (not an avenant)")
    next_review: date | None
    period_end: date | None
    echu: bool
    echu_reasons: list[str]


class TimelineRead(BaseModel):
    """A person's PPA timeline (docs/domain-rules.md, rule 6)."""

    person_id: str
    admission_date: date | None
    first_ppa: FirstPpaRead
    in_force: InForceRead | None = Field(description="The PPA in force (the newest validated)")
    draft_ppa_ids: list[str] = Field(description="PPAs being prepared (drafts, revisions)")
    gap: bool = Field(description="No PPA in force, or the one in force is échu")
    gap_reason: str = ""


class PersonOverview(BaseModel):
    """One person of the home page: identity, PPAs and timeline in one answer."""

    person: PersonRead
    ppas: list[PPASummary] = Field(description="Newest first, as GET /api/persons/{id}/ppas")
    timeline: TimelineRead


class PPARead(PPASummary):
    content: PPAContent
    problems: list[ProblemRead]
    serafin: dict[str, str] = Field(
        default_factory=dict, description="Official SERAFIN-PH label of every code in the content"
    )
    my_role: str | None = None
