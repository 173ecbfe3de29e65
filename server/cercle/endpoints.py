"""The person's cercle de santé et d'accompagnement: members, roles, opposition."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request, status
from sqlalchemy import func, select

from server import authz
from server.audit.trail import AuditTrail, audited
from server.authz import Capability
from server.cercle import rules
from server.cercle.live import cercle_changed
from server.cercle.schemas import MemberCreate, MemberRead, MemberUpdate, OppositionUpdate
from server.db import utcnow
from server.deps import SessionDep
from server.errors import Conflict, InvalidInput, NotFound
from server.models import ApiClient, CercleDeparture, CercleMember, Professional, User
from server.models.person import MemberKind, Role
from server.notifications.service import Event, emit

router = APIRouter(prefix="/api/persons/{person_id}/cercle", tags=["cercle"])


def _event(nature: str, member_id: str, person_id: str, actor_id: str) -> Event:
    """A cercle change told to the cercle (ids only: the member's name is not in the notice)."""
    return Event(nature, "cercle_member", member_id, person_id=person_id, actor_id=actor_id)


@router.get("", response_model=list[MemberRead])
async def list_members(
    person_id: str, audit: Annotated[AuditTrail, audited("cercle.list")], session: SessionDep
) -> list[CercleMember]:
    """Members of the person's cercle, with their roles."""
    person = await authz.get_person(session, audit.principal, person_id, Capability.SEE_PERSON)
    members = list(
        await session.scalars(
            select(CercleMember)
            .where(CercleMember.person_id == person.id)
            .order_by(CercleMember.created_at)
        )
    )
    await audit.on("cercle", person.id, person.id)
    return members


async def _display_name(session: SessionDep, body: MemberCreate) -> str:
    if body.display_name:
        return body.display_name
    if body.professional_id:
        pro = await session.get(Professional, body.professional_id)
        if pro is None:
            raise NotFound("Professionnel introuvable.")
        return f"{pro.first_name} {pro.last_name}"
    if body.user_id:
        user = await session.get(User, body.user_id)
        if user is None:
            raise NotFound("Utilisateur introuvable.")
        return user.display_name
    if not body.api_client_id:
        raise RuntimeError("body.api_client_id is empty")
    client = await session.get(ApiClient, body.api_client_id)
    if client is None:
        raise NotFound("Client API introuvable.")
    return client.name


def _check_membership(
    kind: MemberKind, role: Role, account_kind: str | None, professional_id: str | None
) -> None:
    """409 when the member would break :func:`rules.membership_problem` (create and update):
    on create, what the request alone decides was refused before (422, in the schema); what
    remains depends on the stored account or member."""
    problem = rules.membership_problem(
        kind, role, account_kind=account_kind, professional_id=professional_id
    )
    if problem is not None:
        raise Conflict(problem)


@router.post("", status_code=status.HTTP_201_CREATED, response_model=MemberRead)
async def add_member(
    person_id: str,
    body: MemberCreate,
    audit: Annotated[AuditTrail, audited("cercle.add")],
    session: SessionDep,
    request: Request,
) -> CercleMember:
    """Add a member to the cercle (coordinator)."""
    principal = audit.principal
    person = await authz.get_person(session, principal, person_id, Capability.MANAGE_CERCLE)
    for column, value in (
        (CercleMember.user_id, body.user_id),
        (CercleMember.professional_id, body.professional_id),
        (CercleMember.api_client_id, body.api_client_id),
    ):
        if value and await session.scalar(
            select(CercleMember.id).where(CercleMember.person_id == person.id, column == value)
        ):
            raise Conflict("Ce membre fait déjà partie du cercle : modifiez son rôle.")
    professional_id = body.professional_id
    account_kind: str | None = None
    if body.user_id:
        user = await session.get(User, body.user_id)
        if user is None:
            raise NotFound("Utilisateur introuvable.")
        professional_id = professional_id or user.professional_id
        account_kind = user.kind
    role_problem = rules.role_problem(body.kind, body.role)
    if role_problem is not None:
        raise InvalidInput(role_problem)
    _check_membership(body.kind, body.role, account_kind, professional_id)
    if body.kind is MemberKind.PERSON and await session.scalar(
        select(CercleMember.id).where(
            CercleMember.person_id == person.id, CercleMember.kind == MemberKind.PERSON.value
        )
    ):
        raise Conflict("La personne fait déjà partie de son cercle (un seul membre person).")
    member = CercleMember(
        person_id=person.id,
        kind=body.kind.value,
        role=body.role.value,
        user_id=body.user_id,
        api_client_id=body.api_client_id,
        professional_id=professional_id,
        display_name=await _display_name(session, body),
        mesure=None if body.mesure is None else body.mesure.value,
        mesure_portee=None if body.mesure_portee is None else body.mesure_portee.value,
        added_by=principal.id,
    )
    session.add(member)
    await session.flush()
    audit.record("cercle_member", member.id, person_id=person.id, role=Role.COORDINATOR.value)
    await emit(session, _event("cercle.member_added", member.id, person.id, principal.id))
    await session.commit()  # then the live connections follow (a role added to the principal's)
    await cercle_changed(request.app.state, person.id)
    return member


async def _member(session: SessionDep, person_id: str, member_id: str) -> CercleMember:
    member = await session.scalar(
        select(CercleMember).where(
            CercleMember.id == member_id, CercleMember.person_id == person_id
        )
    )
    if member is None:
        raise NotFound("Membre du cercle introuvable.")
    return member


async def _ensure_other_coordinator(session: SessionDep, member: CercleMember) -> None:
    if member.role != Role.COORDINATOR.value:
        return
    count = await session.scalar(
        select(func.count())
        .select_from(CercleMember)
        .where(
            CercleMember.person_id == member.person_id,
            CercleMember.role == Role.COORDINATOR.value,
            CercleMember.opposed.is_(False),
            CercleMember.id != member.id,
        )
    )
    if not count:
        raise Conflict("Le cercle doit garder au moins un coordinateur.")


@router.patch("/{member_id}", response_model=MemberRead)
async def update_member(
    person_id: str,
    member_id: str,
    body: MemberUpdate,
    audit: Annotated[AuditTrail, audited("cercle.update")],
    session: SessionDep,
    request: Request,
) -> CercleMember:
    """Change a member's role (coordinator); its live connections follow at once."""
    person = await authz.get_person(session, audit.principal, person_id, Capability.MANAGE_CERCLE)
    member = await _member(session, person.id, member_id)
    if body.role is not Role.COORDINATOR:
        await _ensure_other_coordinator(session, member)
    user = await session.get(User, member.user_id) if member.user_id else None
    _check_membership(
        MemberKind(member.kind),
        body.role,
        user.kind if user is not None else None,
        member.professional_id,
    )
    changed = member.role != body.role.value
    member.role = body.role.value
    audit.record("cercle_member", member.id, person_id=person.id, role=Role.COORDINATOR.value)
    if changed:
        await session.flush()
        ev = _event("cercle.role_changed", member.id, person.id, audit.principal.id)
        await emit(session, ev)
    await session.commit()  # before the live connections follow: they are judged on it
    await cercle_changed(request.app.state, person.id)
    return member


@router.delete("/{member_id}", status_code=status.HTTP_204_NO_CONTENT)
async def remove_member(
    person_id: str,
    member_id: str,
    audit: Annotated[AuditTrail, audited("cercle.remove")],
    session: SessionDep,
    request: Request,
) -> None:
    """Remove a member from the cercle (coordinator); its live connections are closed."""
    person = await authz.get_person(session, audit.principal, person_id, Capability.MANAGE_CERCLE)
    member = await _member(session, person.id, member_id)
    await _ensure_other_coordinator(session, member)
    session.add(CercleDeparture.of(member))  # the CareTeam's participant.period.end
    await session.delete(member)
    audit.record("cercle_member", member_id, person_id=person.id, role=Role.COORDINATOR.value)
    await session.flush()
    await emit(session, _event("cercle.member_removed", member_id, person.id, audit.principal.id))
    await session.commit()  # before closing its live connections: they must not reconnect
    await cercle_changed(request.app.state, person.id)


@router.put("/{member_id}/opposition", response_model=MemberRead)
async def set_opposition(
    person_id: str,
    member_id: str,
    body: OppositionUpdate,
    audit: Annotated[AuditTrail, audited("cercle.opposition")],
    session: SessionDep,
    request: Request,
) -> CercleMember:
    """Record (or lift) the person's opposition to sharing with a member.

    The person does it themself, or a coordinator records it on their behalf.
    An opposed member reads nothing from then on: its live connections are closed at once.
    """
    person = await authz.get_person(session, audit.principal, person_id, Capability.OPPOSE)
    member = await _member(session, person.id, member_id)
    if member.kind == MemberKind.PERSON.value:
        raise Conflict("La personne ne peut pas s'opposer au partage avec elle-même.")
    if body.opposed:
        await _ensure_other_coordinator(session, member)
    member.opposed = body.opposed
    member.opposed_at = utcnow() if body.opposed else None
    action = "cercle.opposition" if body.opposed else "cercle.opposition_lifted"
    await audit.on("cercle_member", member.id, person.id, action=action)
    await session.flush()
    await emit(session, _event("cercle.opposition", member.id, person.id, audit.principal.id))
    await session.commit()  # before closing its live connections: they must not reconnect
    await cercle_changed(request.app.state, person.id)
    return member
