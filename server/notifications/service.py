"""Emission: an event becomes notices for the right people, inside the event's transaction.

:func:`emit` runs in the transaction of the change it tells (a member added, a version
validated...): it computes the recipients from the person's cercle at that moment (members who
may read the object, never an opposed member, never the actor), stores one notice per recipient,
and for each channel the recipient chose, either an immediate message in the outbox or a
dispatch waiting for the next digest. Nothing leaves the service before the transaction commits;
the worker (:mod:`server.notifications.worker`) sends afterwards.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import ColumnElement, event, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from server import authz
from server.auth.principal import Principal
from server.authz import Capability, roles_with
from server.db import new_uuid, utcnow
from server.models import CercleMember, Person, User
from server.models.audit import AuditEvent
from server.models.identity import UserKind
from server.models.notifications import (
    Channel,
    Frequency,
    Notice,
    NoticeDispatch,
    NotificationContact,
    NotificationOutbox,
    NotificationPreference,
    OutboxStatus,
)
from server.models.person import Role
from server.notifications.natures import NATURES, Default, Nature, concerns

ROLE_ORDER = (
    Role.COORDINATOR,
    Role.CONTRIBUTOR,
    Role.READER,
    Role.PERSON,
    Role.AIDANT,
    Role.AUDITOR,
    Role.ESMS,
)
"""When a user holds several roles in one cercle, the first one decides the defaults."""

_wakers: set[Callable[[], None]] = set()
_EMITTED = "notifications.emitted"


def add_waker(waker: Callable[[], None]) -> None:
    _wakers.add(waker)


def remove_waker(waker: Callable[[], None]) -> None:
    _wakers.discard(waker)


@event.listens_for(Session, "after_commit")
def _wake_after_commit(session: Session) -> None:
    if session.info.pop(_EMITTED, False):
        for waker in list(_wakers):
            waker()


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(_EMITTED, None)


def changed(session: AsyncSession) -> None:
    """After this session commits, wake the worker and the live bells (notices read...)."""
    session.info[_EMITTED] = True


@dataclass(frozen=True)
class Event:
    """What happened, as a notice tells it: ids only."""

    nature: str
    object_type: str
    object_id: str | None
    person_id: str | None = None
    ppa_id: str | None = None
    version_number: int | None = None
    actor_id: str | None = None
    """The user who acted (never told); ``None`` for the service itself."""
    also_not: frozenset[str] = field(default_factory=frozenset)
    """Other users not told (the authors of a session checkpoint: they know)."""
    dedupe_key: str | None = None
    """Periodic natures: one notice per recipient and key, ever."""
    only: frozenset[str] | None = None
    """Tell only these users (a mention, the intervenants of an action), among those the
    nature's rules already allow; ``None``: everyone they allow."""


@dataclass(frozen=True)
class Recipient:
    user_id: str
    role: Role | None


def initials(person: Person) -> str:
    """ "J. D.": the first letter of the first first name and of the name in use."""
    first = (person.first_names.strip()[:1] or "?").upper()
    last = ((person.used_name or person.birth_family_name).strip()[:1] or "?").upper()
    return f"{first}. {last}."


def best_role(roles: Iterable[Role]) -> Role | None:
    held = set(roles)
    return next((role for role in ROLE_ORDER if role in held), None)


async def cercle_recipients(
    session: AsyncSession, found: Nature, person_id: str
) -> list[Recipient]:
    """Users told of ``found`` about this person: unopposed members whose role has the nature's
    capability (and is among its roles); a user with any opposed membership gets nothing."""
    rows = (
        await session.execute(
            select(
                CercleMember.user_id,
                CercleMember.professional_id,
                CercleMember.role,
                CercleMember.opposed,
            ).where(CercleMember.person_id == person_id)
        )
    ).all()
    # As authz.is_member: a row designates its login and every login of its professional.
    pro_ids = {pro for _u, pro, _r, _o in rows if pro is not None}
    users_of_pro: dict[str, list[str]] = {}
    if pro_ids:
        for uid, pro in await session.execute(
            select(User.id, User.professional_id).where(User.professional_id.in_(pro_ids))
        ):
            users_of_pro.setdefault(str(pro), []).append(uid)
    roles: dict[str, list[Role]] = {}
    opposed: set[str] = set()
    for user_id, pro, role_value, is_opposed in rows:
        users = set(users_of_pro.get(pro, [])) if pro is not None else set()
        if user_id is not None:
            users.add(user_id)
        for uid in users:
            if is_opposed:
                opposed.add(uid)
            else:
                roles.setdefault(uid, []).append(Role(role_value))
    allowed = {Role(r) for r in roles_with(found.capability)} if found.capability else set()
    inactive = set(
        await session.scalars(
            select(User.id).where(User.id.in_(list(roles)), User.is_active.is_(False))
        )
    )
    out = []
    for uid, held in roles.items():
        if uid in opposed or uid in inactive:
            continue
        chosen = best_role(r for r in held if r in allowed and concerns(found, r))
        if chosen is not None:
            out.append(Recipient(uid, chosen))
    return out


async def admin_recipients(session: AsyncSession) -> list[Recipient]:
    ids = await session.scalars(
        select(User.id).where(User.kind == UserKind.ADMIN.value, User.is_active.is_(True))
    )
    return [Recipient(uid, None) for uid in ids]


async def preferences_of(
    session: AsyncSession, user_ids: list[str], nature: str
) -> dict[str, NotificationPreference]:
    if not user_ids:
        return {}
    rows = await session.scalars(
        select(NotificationPreference).where(
            NotificationPreference.user_id.in_(user_ids), NotificationPreference.nature == nature
        )
    )
    return {row.user_id: row for row in rows}


def effective(pref: NotificationPreference | None, found: Nature, role: Role | None) -> Default:
    if pref is None:
        return found.default_for(role)
    return Default(tuple(Channel(c) for c in pref.channels), Frequency(pref.frequency))


async def reachable(session: AsyncSession, user_ids: list[str]) -> dict[str, set[Channel]]:
    """Which outside channels each user can be reached on (an email; a verified mobile)."""
    out: dict[str, set[Channel]] = {}
    if not user_ids:
        return out
    for contact in await session.scalars(
        select(NotificationContact).where(NotificationContact.user_id.in_(user_ids))
    ):
        channels = out.setdefault(contact.user_id, set())
        if contact.email:
            channels.add(Channel.EMAIL)
        if contact.mobile and contact.mobile_verified_at is not None:
            channels.add(Channel.SMS)
    return out


def audit_sent(session: AsyncSession, notice: Notice, channel: Channel | str) -> None:
    """Trace one notice told on one channel: who (the recipient), nature, channel, object."""
    session.add(
        AuditEvent(
            at=utcnow(),
            actor_type="notification",
            actor_id=notice.recipient_id,
            role=None,
            action=f"notify.{Channel(channel).value}.{notice.nature}"[:60],
            object_type=notice.object_type[:30],
            object_id=notice.object_id,
            person_id=notice.person_id,
            outcome="ok",
        )
    )


def visible_to(principal: Principal) -> ColumnElement[bool]:
    """SQL condition on notices: those the user may still see now. A notice about a person
    whose cercle the user left, or who opposed them since, is hidden (and never sent)."""
    persons = authz.persons_with(principal, Capability.SEE_PERSON).with_only_columns(Person.id)
    return or_(Notice.person_id.is_(None), Notice.person_id.in_(persons))


async def _actor_name(session: AsyncSession, actor_id: str | None) -> str | None:
    if actor_id is None:
        return None
    user = await session.get(User, actor_id)
    return user.display_name if user is not None else None


async def emit(session: AsyncSession, ev: Event, *, now: datetime | None = None) -> list[Notice]:
    """Store the notices of ``ev`` (and their messages) in the caller's transaction."""
    found = NATURES[ev.nature]
    at = now or utcnow()
    if found.audience == "admins":
        recipients = await admin_recipients(session)
    elif ev.person_id is None:
        raise ValueError(f"nature {ev.nature} needs a person")
    else:
        recipients = await cercle_recipients(session, found, ev.person_id)
    skip = {ev.actor_id, *ev.also_not}
    recipients = [
        r for r in recipients if r.user_id not in skip and (ev.only is None or r.user_id in ev.only)
    ]
    if ev.dedupe_key is not None and recipients:
        told = set(
            await session.scalars(
                select(Notice.recipient_id).where(
                    Notice.dedupe_key == ev.dedupe_key,
                    Notice.recipient_id.in_([r.user_id for r in recipients]),
                )
            )
        )
        recipients = [r for r in recipients if r.user_id not in told]
    if not recipients:
        return []
    ids = [r.user_id for r in recipients]
    prefs = await preferences_of(session, ids, ev.nature)
    contacts = await reachable(session, ids)
    person = await session.get(Person, ev.person_id) if ev.person_id else None
    person_initials = initials(person) if person is not None else None
    actor_name = await _actor_name(session, ev.actor_id)
    notices: list[Notice] = []
    outboxes: list[NotificationOutbox] = []
    dispatches: list[NoticeDispatch] = []
    for recipient in recipients:
        choice = effective(prefs.get(recipient.user_id), found, recipient.role)
        outside = [
            c
            for c in choice.channels
            if c is not Channel.APP and c in contacts.get(recipient.user_id, set())
        ]
        if Channel.APP not in choice.channels and not outside:
            continue
        notice = Notice(
            id=new_uuid(),
            recipient_id=recipient.user_id,
            nature=ev.nature,
            person_id=ev.person_id,
            ppa_id=ev.ppa_id,
            object_type=ev.object_type,
            object_id=ev.object_id,
            version_number=ev.version_number,
            actor_id=ev.actor_id,
            actor_name=actor_name,
            initials=person_initials,
            in_app=Channel.APP in choice.channels,
            dedupe_key=ev.dedupe_key,
            created_at=at,
        )
        notices.append(notice)
        for channel in outside:
            outbox, dispatch = _dispatch(notice, channel, choice.frequency, at)
            if outbox is not None:
                outboxes.append(outbox)
            dispatches.append(dispatch)
    # Parents first (no ORM relationships: the unit of work does not order these tables).
    for batch in (notices, outboxes, dispatches):
        session.add_all(batch)
        await session.flush()
    for notice in notices:
        if notice.in_app:
            audit_sent(session, notice, Channel.APP)
    session.info[_EMITTED] = True
    return notices


def _dispatch(
    notice: Notice, channel: Channel, frequency: Frequency, at: datetime
) -> tuple[NotificationOutbox | None, NoticeDispatch]:
    """The notice on one channel: its own message now, or a dispatch for the next digest."""
    outbox = None
    if frequency is Frequency.IMMEDIATE:
        outbox = NotificationOutbox(
            id=new_uuid(),
            recipient_id=notice.recipient_id,
            channel=channel.value,
            frequency=frequency.value,
            period_key=f"notice:{notice.id}",
            status=OutboxStatus.PENDING.value,
            attempts=0,
            next_attempt_at=at,
            created_at=at,
        )
    dispatch = NoticeDispatch(
        id=new_uuid(),
        notice_id=notice.id,
        recipient_id=notice.recipient_id,
        channel=channel.value,
        frequency=frequency.value,
        created_at=at,
        outbox_id=None if outbox is None else outbox.id,
    )
    return outbox, dispatch


async def version_event(
    session: AsyncSession,
    nature: str,
    ppa_id: str,
    person_id: str,
    number: int | None,
    actor_id: str | None,
    *,
    also_not: Iterable[str] = (),
) -> list[Notice]:
    """A PPA's lifecycle step (a version recorded, validated, an avenant, a revision) told."""
    object_type, object_id = ("version", f"{ppa_id}/{number}") if number else ("ppa", ppa_id)
    ev = Event(
        nature,
        object_type,
        object_id,
        person_id=person_id,
        ppa_id=ppa_id,
        version_number=number,
        actor_id=actor_id,
        also_not=frozenset(also_not),
    )
    return await emit(session, ev)
