"""The auditor's view of the audit trail of a person."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict
from sqlalchemy import select

from server import authz
from server.audit.service import trace
from server.authz import Capability
from server.deps import ClientAddr, CurrentPrincipal, SessionDep
from server.models import AuditEvent
from server.openapi import SQL_INT_MAX

router = APIRouter(prefix="/api", tags=["audit"])


class AuditEventRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    actor_type: str
    actor_id: str | None
    role: str | None
    action: str
    object_type: str
    object_id: str | None
    person_id: str | None
    client_addr: str | None
    outcome: str


@router.get("/persons/{person_id}/audit", response_model=list[AuditEventRead])
async def list_audit_events(
    person_id: str,
    session: SessionDep,
    principal: CurrentPrincipal,
    addr: ClientAddr,
    after_id: int = Query(
        default=0, ge=0, le=SQL_INT_MAX, description="Return traces after this id (paging)"
    ),
    limit: int = Query(default=500, ge=1, le=5000),
) -> list[AuditEvent]:
    """Every access to the person's data, oldest first (auditors)."""
    person = await authz.get_person(session, principal, person_id, Capability.READ_AUDIT)
    events = list(
        await session.scalars(
            select(AuditEvent)
            .where(AuditEvent.person_id == person.id, AuditEvent.id > after_id)
            .order_by(AuditEvent.id)
            .limit(limit)
        )
    )
    trace(
        session,
        principal,
        "audit.list",
        "person",
        person.id,
        person_id=person.id,
        role="auditor",
        client_addr=addr,
    )
    return events
