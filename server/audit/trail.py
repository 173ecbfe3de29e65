"""The audit of one request: the single dependency every route touching personal data declares.

A route names its action once, ``audit: Annotated[AuditTrail, audited("ppa.read")]``, and gets
the caller (``audit.principal``) from it: the trail knows who, from where, and in which session;
the route says on which object (:meth:`AuditTrail.ppa`, :meth:`AuditTrail.person`, ...), and
the role is looked up in the person's cercle.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import Annotated, Any

import structlog
from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from server import authz
from server.audit.service import trace
from server.auth.principal import Principal
from server.deps import ClientAddr, SessionDep, SettingsDep, get_principal, oauth2_scheme
from server.models import PPA

log = structlog.get_logger(__name__)

Account = Callable[[Principal], Awaitable[Principal]]


class AuditTrail:
    """Who (principal, client address) does the route's action, traced in the request's session."""

    def __init__(
        self, session: AsyncSession, principal: Principal, client_addr: str | None, action: str
    ) -> None:
        self.session = session
        self.principal = principal
        self.client_addr = client_addr
        self.action = action

    def record(
        self,
        object_type: str,
        object_id: str | None,
        *,
        person_id: str | None,
        role: str | None,
        action: str | None = None,
        outcome: str = "ok",
    ) -> None:
        """One trace with the role given (e.g. the administrator's, or a role already known)."""
        trace(
            self.session,
            self.principal,
            action or self.action,
            object_type,
            object_id,
            person_id=person_id,
            role=role,
            client_addr=self.client_addr,
            outcome=outcome,
        )

    async def on(
        self,
        object_type: str,
        object_id: str | None,
        person_id: str,
        *,
        action: str | None = None,
        outcome: str = "ok",
    ) -> None:
        """One trace of an object of the person, with the caller's role in their cercle."""
        role = await authz.role_value(self.session, self.principal, person_id)
        self.record(
            object_type, object_id, person_id=person_id, role=role, action=action, outcome=outcome
        )

    async def ppa(self, ppa: PPA, *, action: str | None = None, outcome: str = "ok") -> None:
        await self.on("ppa", ppa.id, ppa.person_id, action=action, outcome=outcome)

    async def person(self, person_id: str, *, action: str | None = None) -> None:
        await self.on("person", person_id, person_id, action=action)

    async def each(
        self, object_type: str, objects: Iterable[tuple[str, str]], *, outcome: str = "ok"
    ) -> dict[str, str | None]:
        """One trace per (object id, person id) pair (a listing), each with the caller's role in
        that person's cercle; returns those roles (person id -> role)."""
        pairs = list(objects)
        roles = await authz.roles_for_persons(self.session, self.principal, {p for _, p in pairs})
        for object_id, person_id in pairs:
            self.record(
                object_type, object_id, person_id=person_id, role=roles[person_id], outcome=outcome
            )
        return roles


class Audited:
    """Dependency: the request's :class:`AuditTrail` for ``action`` (``account``: the account
    check of a route not tied to one person, e.g. :func:`server.authz.admin_account`)."""

    def __init__(self, action: str, *, account: Account | None = None) -> None:
        self.action = action
        self.account = account

    async def __call__(
        self,
        request: Request,
        session: SessionDep,
        settings: SettingsDep,
        addr: ClientAddr,
        token: Annotated[str | None, Depends(oauth2_scheme)],
    ) -> AsyncIterator[AuditTrail]:
        principal = await get_principal(session, settings, token)
        if self.account is not None:
            principal = await self.account(principal)
        yield AuditTrail(session, principal, addr, self.action)


def audited(action: str, *, account: Account | None = None) -> Any:
    """``Depends`` on :class:`Audited` (function scope: it traces in the request's session)."""
    return Depends(Audited(action, account=account), scope="function")
