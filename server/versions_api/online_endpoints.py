"""The person's own agreement, given online by her or by her aidant on her behalf."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, status
from pydantic import BaseModel, ConfigDict, Field, model_validator

from server import authz
from server.audit.trail import AuditTrail, audited
from server.authz import Capability
from server.deps import SessionDep
from server.openapi import TEXT, is_blank
from server.text_input import TextInput
from server.versions_api.runtime import Runtime
from server.versions_api.service import online

router = APIRouter(prefix="/api", tags=["versions"])

REFUSAL_RULE: dict[str, Any] = {
    "anyOf": [
        {"properties": {"accord": {"const": True}}},
        {
            "properties": {"accord": {"const": False}, "motif": TEXT},
            "required": ["accord", "motif"],
        },
    ]
}


class OnlineAgreementIn(TextInput):
    """Her answer: she agrees with the draft as it stands, or she does not (and says why)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=REFUSAL_RULE)

    accord: bool
    motif: str = Field(default="", max_length=2000, description="Her words, when she refuses")

    @model_validator(mode="after")
    def _reason(self) -> OnlineAgreementIn:
        if not self.accord and is_blank(self.motif):
            raise ValueError("dites pourquoi vous n'êtes pas d'accord (motif)")
        return self


class OnlineAgreementRead(BaseModel):
    mode: str
    """As rule 2 records it: ``signe`` (the person), ``oral`` (her aidant for her), ``refuse``."""
    accord: bool
    motif: str
    par: str
    """"Léa MARTIN (en ligne)" or "Paul MARTIN pour Léa MARTIN (en ligne)"."""
    given_by: str
    given_by_name: str
    on_behalf: bool
    """Given by the aidant on the person's behalf."""
    given_at: datetime
    current: bool
    """The draft is still what was agreed to; else it changed since and is asked again."""


class OnlineAgreementState(BaseModel):
    agreement: OnlineAgreementRead | None


def _read(found: online.OnlineAccord) -> OnlineAgreementRead:
    row = found.row
    return OnlineAgreementRead(
        mode=found.mode.value,
        accord=row.mode != "refuse",
        motif=row.motif,
        par=found.par,
        given_by=row.given_by,
        given_by_name=found.by_name,
        on_behalf=row.role == "aidant",
        given_at=row.given_at,
        current=found.current,
    )


@router.get("/ppas/{ppa_id}/person-agreement", response_model=OnlineAgreementState)
async def get_online_agreement(
    ppa_id: str,
    audit: Annotated[AuditTrail, audited("ppa.person_agreement.read")],
    session: SessionDep,
    rt: Runtime,
) -> OnlineAgreementState:
    """The person's agreement given online on the current draft (not yet recorded with a
    version), and whether the draft is still what she agreed to."""
    ppa = await authz.get_ppa(session, audit.principal, ppa_id, Capability.READ)
    await audit.ppa(ppa)
    row = await online.latest(session, ppa.id)
    if row is None:
        return OnlineAgreementState(agreement=None)
    found = await online.describe(session, ppa, row, await online.current_hash(session, rt, ppa.id))
    return OnlineAgreementState(agreement=_read(found))


@router.post(
    "/ppas/{ppa_id}/person-agreement",
    status_code=status.HTTP_201_CREATED,
    response_model=OnlineAgreementState,
)
async def give_online_agreement(
    ppa_id: str,
    body: OnlineAgreementIn,
    audit: Annotated[AuditTrail, audited("ppa.person_agreement")],
    session: SessionDep,
    rt: Runtime,
) -> OnlineAgreementState:
    """The person (or her aidant, on her behalf) agrees with the draft as it stands, or refuses
    it with her words. Recorded with the version when the coordinator validates that very
    content (docs/domain-rules.md, rule 2); a new answer replaces the previous one."""
    ppa = await authz.get_ppa(session, audit.principal, ppa_id, Capability.EDIT_OWN_FIELDS)
    row = await online.give(session, rt, audit.principal, ppa, accord=body.accord, motif=body.motif)
    await audit.ppa(ppa)
    found = await online.describe(session, ppa, row, row.content_hash)
    return OnlineAgreementState(agreement=_read(found))
