"""Who a structure's software may be told about: the ESMS feed's rule, shared by its webhooks
and the NdE subscriptions (an API client of a structure in the person's cercle, not opposed)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from server import authz
from server.auth.service import client_principal
from server.authz import Capability
from server.models import ApiClient, Person


async def may_read(session: AsyncSession, client: ApiClient, person_id: str) -> bool:
    """Whether the API client reads the person's validated PPAs."""
    found = await session.scalar(
        authz.persons_with(client_principal(client), Capability.READ_VALIDATED)
        .with_only_columns(Person.id)
        .where(Person.id == person_id)
    )
    return found is not None
