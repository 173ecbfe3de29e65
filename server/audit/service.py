"""Append-only audit trail of every access to personal data.

Each trace says who, with which role, did what to which object, when, and from where.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

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


def trace_many(
    session: AsyncSession,
    principal: Principal,
    action: str,
    object_type: str,
    objects: Iterable[tuple[str, str]],
    *,
    client_addr: str | None,
    role: str | None = None,
    roles: Mapping[str, str | None] | None = None,
) -> None:
    """One trace per (object id, person id) pair, e.g. for a list of persons.

    The principal's role is ``role`` for every pair, or ``roles[person id]`` (its role in each
    person's cercle, e.g. from :func:`server.authz.roles_for_persons`).
    """
    if role is not None and roles is not None:
        raise ValueError("trace_many takes role or roles, not both")
    for object_id, person_id in objects:
        trace(
            session,
            principal,
            action,
            object_type,
            object_id,
            person_id=person_id,
            role=roles.get(person_id) if roles is not None else role,
            client_addr=client_addr,
        )
