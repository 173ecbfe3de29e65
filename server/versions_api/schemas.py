from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from editor.schema import IsoDate, PPAContent
from server.openapi import TEXT, is_blank
from server.text_input import TextInput
from versions.chain import AccordMode

A = AccordMode
# The validators' rules below, in JSON Schema (one branch per mode; the texts must not be blank).
STRUCTURE_ACCORD_RULES: dict[str, Any] = {
    "anyOf": [
        {"properties": {"mode": {"const": "signe"}}},
        {"properties": {"mode": {"const": "oral"}, "temoin": TEXT}, "required": ["mode", "temoin"]},
    ]
}
PERSON_ACCORD_RULES: dict[str, Any] = {
    "anyOf": [
        {"properties": {"mode": {"const": A.SIGNE}, "par": TEXT}, "required": ["par"]},
        {
            "properties": {"mode": {"const": A.ORAL}, "par": TEXT, "temoin": TEXT},
            "required": ["par", "temoin"],
        },
        {
            "properties": {"mode": {"const": A.REFUSE}, "par": TEXT, "motif": TEXT},
            "required": ["par", "motif"],
        },
        {"properties": {"mode": {"const": A.NON_SOLLICITE}, "motif": TEXT}, "required": ["motif"]},
    ]
}


class VersionCreate(TextInput):
    model_config = ConfigDict(extra="forbid")

    label: str = Field(min_length=1, max_length=200, description="Name of the version")


class StructureAccordIn(TextInput):
    """The structure's agreement (required to validate): who gave it, when, how."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=STRUCTURE_ACCORD_RULES)

    par: str = Field(min_length=1, max_length=200, description="Who agreed for the structure")
    mode: Literal["signe", "oral"] = "signe"
    date: IsoDate | None = Field(default=None, description="Default: the validation day")
    temoin: str = Field(default="", max_length=200)

    @model_validator(mode="after")
    def _witness(self) -> StructureAccordIn:
        if self.mode == "oral" and is_blank(self.temoin):
            raise ValueError("un accord oral de la structure doit indiquer un témoin")
        return self


class PersonAccordIn(TextInput):
    """The person's agreement: signed, oral (with a witness), refused, or not sought (reason)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=PERSON_ACCORD_RULES)

    mode: AccordMode
    par: str = Field(default="", max_length=200, description="Who gave it (the person, or...)")
    temoin: str = Field(default="", max_length=200)
    date: IsoDate | None = Field(default=None, description="Default: the validation day")
    motif: str = Field(default="", max_length=2000)

    @model_validator(mode="after")
    def _rules(self) -> PersonAccordIn:
        if self.mode in (AccordMode.SIGNE, AccordMode.ORAL, AccordMode.REFUSE) and is_blank(
            self.par
        ):
            raise ValueError("indiquez qui a donné (ou refusé) l'accord de la personne")
        if self.mode is AccordMode.ORAL and is_blank(self.temoin):
            raise ValueError("un accord oral de la personne doit indiquer un témoin")
        if self.mode in (AccordMode.REFUSE, AccordMode.NON_SOLLICITE) and is_blank(self.motif):
            raise ValueError("indiquez le motif (refus ou accord non sollicité)")
        return self


REPRESENTATIVE_ACCORD_RULES: dict[str, Any] = {
    "anyOf": [
        {"properties": {"mode": {"const": A.SIGNE}}},
        {"properties": {"mode": {"const": A.ORAL}, "temoin": TEXT}, "required": ["temoin"]},
        {
            "properties": {"mode": {"enum": [A.REFUSE, A.NON_SOLLICITE]}, "motif": TEXT},
            "required": ["motif"],
        },
    ]
}


class RepresentativeAccordIn(TextInput):
    """The legal representative's agreement: the cercle member who gave it (a legal
    representative of the person), and how."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=REPRESENTATIVE_ACCORD_RULES)

    membre_id: str = Field(
        min_length=1, max_length=36, description="Cercle member id of the legal representative"
    )
    mode: AccordMode
    temoin: str = Field(default="", max_length=200)
    date: IsoDate | None = Field(default=None, description="Default: the validation day")
    motif: str = Field(default="", max_length=2000)

    @model_validator(mode="after")
    def _rules(self) -> RepresentativeAccordIn:
        if self.mode is AccordMode.ORAL and is_blank(self.temoin):
            raise ValueError("un accord oral du représentant légal doit indiquer un témoin")
        if self.mode in (AccordMode.REFUSE, AccordMode.NON_SOLLICITE) and is_blank(self.motif):
            raise ValueError("indiquez le motif (refus ou accord non sollicité)")
        return self


class ValidateIn(TextInput):
    model_config = ConfigDict(extra="forbid")

    structure: StructureAccordIn
    personne: PersonAccordIn | None = Field(
        default=None,
        description="The person's agreement: required to validate (409 when missing)",
    )
    representant: RepresentativeAccordIn | None = Field(
        default=None,
        description="The legal representative's agreement: required (409) when a legal "
        "representative's measure covers the person",
    )


class VersionRefRead(BaseModel):
    ppa_id: str
    number: int


class AccordRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    type: str
    mode: str
    par: str
    temoin: str
    date: date | None
    motif: str
    recorded_by: str
    recorded_at: datetime


class VersionSummary(BaseModel):
    ppa_id: str
    number: int
    kind: str
    label: str
    summary: str
    created_at: datetime
    created_by: str
    created_by_name: str | None
    authors: list[str]
    author_names: dict[str, str]
    content_hash: str
    prev_chain_hash: str
    chain_hash: str
    leaf_index: int
    parent_number: int | None
    based_on: VersionRefRead | None
    series_rank: int | None
    avenant_number: int | None
    next_review: date | None
    rules_edition: int | None = Field(
        description="Edition of the validation rules (docs/domain-rules.md) a validated version "
        "was checked against; null for a draft's version and a version validated before it was "
        "recorded"
    )
    predates_rules: list[int] = Field(
        description="The numbered rules of docs/domain-rules.md a validated version was not "
        "checked against (validated before them; it is never rewritten): every rule when "
        "rules_edition is null; empty for a draft's version"
    )


class VersionRead(VersionSummary):
    content: PPAContent
    accords: list[AccordRead]


class RestoreRead(BaseModel):
    ppa_id: str
    new_ppa: bool = Field(description="True when the PPA was locked: the restore is a new PPA")
    version: VersionSummary


class RestorePreviewRead(BaseModel):
    """What restoring a version would take out of the live draft (kept as a checkpoint)."""

    ppa_id: str
    version: VersionSummary
    summary: str
    items: list[ItemChangeRead]


class LifecycleRead(BaseModel):
    ppa_id: str
    status: str
    locked: bool
    base_version: VersionSummary


class SegmentRead(BaseModel):
    op: str
    text: str


class AuthorRead(BaseModel):
    author: str
    name: str | None
    first_at: datetime
    last_at: datetime


class FieldChangeRead(BaseModel):
    field: str
    path: str
    label: str
    kind: str
    old: Any
    new: Any
    old_labels: list[str]
    new_labels: list[str]
    segments: list[SegmentRead]
    authors: list[AuthorRead]


class ItemChangeRead(BaseModel):
    section: str
    item_id: str | None
    kind: str
    title: str
    path: str
    description: str
    fields: list[FieldChangeRead]
    authors: list[AuthorRead]


class DiffRead(BaseModel):
    ppa_id: str
    from_version: VersionSummary
    to_version: VersionSummary
    summary: str
    items: list[ItemChangeRead]
    authorship: Literal["update_log", "versions"]
    """Where authors come from: the update log, or the authors recorded on each version."""


class PendingAvenantRead(BaseModel):
    """What abandoning the avenant in progress takes out of the live document."""

    ppa_id: str
    base_version: VersionSummary
    summary: str
    items: list[ItemChangeRead]


class ChainCheck(BaseModel):
    ok: bool
    checked: int
    broken_number: int | None
    reason: str | None


class TreeHeadRead(BaseModel):
    tree_size: int
    root_hash: str
    timestamp: int
    signature: str
    key_id: str


class HistoryEntry(VersionSummary):
    accords: list[AccordRead]


class HistoryRead(BaseModel):
    ppa_id: str
    versions: list[HistoryEntry]
    chain: ChainCheck
    latest_head: TreeHeadRead | None


class ReviewDueRead(BaseModel):
    ppa_id: str
    person_id: str
    title: str
    status: str
    version_number: int
    version_label: str
    next_review: date
    review_status: str
    days_left: int
    echu: bool = Field(
        default=False, description="The period ended or the review date passed (rule 6)"
    )
    echu_reasons: list[str] = Field(default_factory=list, description="Why, in French")
    period_end: date | None = None


class LogKeyRead(BaseModel):
    key_id: str
    public_key_pem: str
    latest_head: TreeHeadRead | None


class ConsistencyRead(BaseModel):
    """RFC 9162 consistency proof between two signed heads (the audit bundle's JSON form)."""

    old_size: int
    new_size: int
    path: list[str]


class AuditCheckpointRead(BaseModel):
    seq: int
    first_seq: int
    last_seq: int
    events: int
    events_digest: str
    at: datetime
    leaf_index: int
    tree_size: int
