"""The audit of one request: the single dependency every route touching personal data declares.

A route names its action once, ``audit: Annotated[AuditTrail, audited("ppa.read")]``, and gets
the caller (``audit.principal``) from it: the trail knows who, from where, and in which session;
the route says on which object (:meth:`AuditTrail.ppa`, :meth:`AuditTrail.person`, ...), and
the role is looked up in the person's cercle. A refusal (401, 403, 404) of a route whose path
names a PPA or a person leaves one ``denied`` trace of that object instead, committed although
the request's own changes are rolled back.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import Annotated, Any

import structlog
from fastapi import Depends, Request
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server import authz
from server.audit.service import trace
from server.auth.deps import get_principal, oauth2_scheme
from server.auth.principal import Principal
from server.deps import ClientAddr, SessionDep, SettingsDep
from server.errors import AppError
from server.models import PPA, Person

log = structlog.get_logger(__name__)

DENIED_STATUSES = frozenset({401, 403, 404})
SUBJECTS = (("ppa_id", "ppa"), ("person_id", "person"))
"""Path parameters naming the object of a route (most precise first) and its object type."""
_ID = re.compile(r"[A-Za-z0-9_.-]{1,36}")
"""What a denied trace keeps of the id in the path (anything else is not an id: dropped)."""

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
        principal: Principal | None = None
        try:
            principal = await get_principal(request, session, settings, token)
            if self.account is not None:
                principal = await self.account(principal)
            yield AuditTrail(session, principal, addr, self.action)
        except AppError as error:
            if error.status_code in DENIED_STATUSES:
                await _denied(session, principal, addr, self.action, request.path_params)
            raise


async def _denied(
    session: AsyncSession,
    principal: Principal | None,
    addr: str | None,
    action: str,
    path_params: dict[str, Any],
) -> None:
    """Commit one ``denied`` trace of the object the path names (none if it names none)."""
    subject = next(
        ((kind, str(path_params[name])) for name, kind in SUBJECTS if name in path_params), None
    )
    if subject is None:
        return
    object_type, raw_id = subject
    object_id = raw_id if _ID.fullmatch(raw_id) else None
    try:
        await session.rollback()  # the refused request's own changes are not kept
        person_id = await _person_of(session, object_type, object_id)
        role = None
        if principal is not None and person_id is not None:
            role = await authz.role_value(session, principal, person_id)
        trace(
            session,
            principal,
            action,
            object_type,
            object_id,
            person_id=person_id,
            role=role,
            client_addr=addr,
            outcome="denied",
        )
        await session.commit()
    except Exception as failure:  # the refusal stands; the missing trace is logged
        log.error("audit.denied_failed", action=action, error=type(failure).__name__)


async def _person_of(session: AsyncSession, object_type: str, object_id: str | None) -> str | None:
    """The person the object belongs to (``None``: no such object)."""
    if object_id is None:
        return None
    if object_type == "ppa":
        return await session.scalar(select(PPA.person_id).where(PPA.id == object_id))
    return await session.scalar(select(Person.id).where(Person.id == object_id))


def audited(action: str, *, account: Account | None = None) -> Any:
    """``Depends`` on :class:`Audited` (function scope: it traces in the request's session)."""
    return Depends(Audited(action, account=account), scope="function")


def trace_login(
    session: AsyncSession, login: str, addr: str | None, outcome: str, user: Principal | None
) -> None:
    """A login attempt's trace (no principal yet): the login name as typed, address, outcome."""
    trace(
        session,
        user,
        "auth.login",
        "login",
        login,
        person_id=None,
        client_addr=addr,
        outcome=outcome,
    )


def trace_logout(
    session: AsyncSession, user: Principal | None, session_id: str, addr: str | None
) -> None:
    """A browser logout's trace: who, which session (its row id, never its cookie), address."""
    trace(
        session,
        user,
        "auth.logout",
        "session",
        session_id,
        person_id=None,
        client_addr=addr,
    )
