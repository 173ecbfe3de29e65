"""Append-only audit trail of every access to personal data.

Each trace says who, with which role, did what to which object, when, and from where.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from server.auth.principal import Principal
from server.db import utcnow
from server.models import AuditEvent


def trace(
    session: AsyncSession,
    principal: Principal | None,
    action: str,
    object_type: str,
    object_id: str | None,
    *,
    person_id: str | None,
    role: str | None = None,
    client_addr: str | None = None,
    outcome: str = "ok",
) -> None:
    """Add one trace to the current transaction (it commits with the access it describes)."""
    session.add(
        AuditEvent(
            at=utcnow(),
            actor_type=principal.type.value if principal else "anonymous",
            actor_id=principal.id if principal else None,
            role=role,
            action=action,
            object_type=object_type,
            object_id=object_id,
            person_id=person_id,
            client_addr=client_addr,
            outcome=outcome,
        )
    )
