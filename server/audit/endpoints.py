"""The auditor's view of the audit trail of a person."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic.dataclasses import dataclass
from sqlalchemy import select

from server import authz
from server.audit.seal import record_of
from server.audit.trail import AuditTrail, audited
from server.authz import Capability
from server.deps import SessionDep
from server.models import AuditEvent
from server.openapi import SQL_INT_MAX
from versions.audit import AuditEventRecord

router = APIRouter(prefix="/api", tags=["audit"])


@dataclass(frozen=True)
class AuditEventRead(AuditEventRecord):
    """One audit event as the API returns it: the fields of the sealed record, defined there."""


@router.get("/persons/{person_id}/audit", response_model=list[AuditEventRead])
async def list_audit_events(
    person_id: str,
    audit: Annotated[AuditTrail, audited("audit.list")],
    session: SessionDep,
    after_id: int = Query(
        default=0, ge=0, le=SQL_INT_MAX, description="Return traces after this id (paging)"
    ),
    limit: int = Query(default=500, ge=1, le=5000),
) -> list[AuditEventRead]:
    """Every access to the person's data, oldest first (auditors)."""
    person = await authz.get_person(session, audit.principal, person_id, Capability.READ_AUDIT)
    events = list(
        await session.scalars(
            select(AuditEvent)
            .where(AuditEvent.person_id == person.id, AuditEvent.id > after_id)
            .order_by(AuditEvent.id)
            .limit(limit)
        )
    )
    audit.record("person", person.id, person_id=person.id, role="auditor")
    return [AuditEventRead(**asdict(record_of(event))) for event in events]
