"""Your notifications (the bell) and your preferences; the one-click unsubscribe of emails."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import func, select, update

from server.audit.trail import AuditTrail, audited
from server.auth.principal import Principal
from server.authz import UserAccount, user_account
from server.db import utcnow
from server.deps import SessionDep, SettingsDep
from server.errors import Conflict, NotFound
from server.models import CercleMember, User
from server.models.identity import UserKind
from server.models.notifications import (
    Channel,
    Notice,
    NotificationContact,
    NotificationPreference,
)
from server.models.person import Role
from server.notifications import mail, worker
from server.notifications.delivery import role_of
from server.notifications.links import notice_path
from server.notifications.natures import NATURES, concerns, label_for
from server.notifications.schemas import (
    MarkRead,
    NaturePreferenceRead,
    NoticePage,
    NoticeRead,
    PreferencesRead,
    PreferencesUpdate,
    UnreadCount,
)
from server.notifications.service import best_role, changed, effective, visible_to
from server.notifications.settings import NotificationSettings

router = APIRouter(tags=["notifications"], lifespan=worker.lifespan)


def _settings(request: Request) -> NotificationSettings:
    found: NotificationSettings | None = getattr(request.app.state, "notification_settings", None)
    return found or NotificationSettings()


async def _unread(session: SessionDep, principal: Principal) -> int:
    count = await session.scalar(
        select(func.count())
        .select_from(Notice)
        .where(
            Notice.recipient_id == principal.id,
            Notice.in_app.is_(True),
            Notice.read_at.is_(None),
            visible_to(principal),
        )
    )
    return int(count or 0)


@router.get("/api/me/notifications", response_model=NoticePage)
async def list_notices(
    request: Request,
    session: SessionDep,
    audit: Annotated[AuditTrail, audited("notifications.list", account=user_account)],
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> NoticePage:
    """Your notices, newest first, with the number not read yet."""
    principal = audit.principal
    user = await session.get(User, principal.id)
    if user is None:
        raise NotFound("Compte introuvable.")
    mine = (Notice.recipient_id == user.id, Notice.in_app.is_(True), visible_to(principal))
    total = int(await session.scalar(select(func.count()).select_from(Notice).where(*mine)) or 0)
    rows = list(
        await session.scalars(
            select(Notice)
            .where(*mine)
            .order_by(Notice.created_at.desc(), Notice.id.desc())
            .offset(offset)
            .limit(limit)
        )
    )
    role = role_of(user)
    items = [
        NoticeRead(
            id=n.id,
            nature=n.nature,
            label=label_for(n.nature, role),
            person_id=n.person_id,
            initials=n.initials,
            ppa_id=n.ppa_id,
            version=n.version_number,
            actor_name=n.actor_name,
            created_at=n.created_at,
            read=n.read_at is not None,
            link=notice_path(n),
        )
        for n in rows
    ]
    for person_id in sorted({n.person_id for n in rows if n.person_id}):
        audit.record("notices", None, person_id=person_id, role=None)
    return NoticePage(
        items=items,
        total=total,
        unread=await _unread(session, principal),
        offset=offset,
        limit=limit,
    )


@router.get("/api/me/notifications/unread", response_model=UnreadCount)
async def unread_count(session: SessionDep, principal: UserAccount) -> UnreadCount:
    """How many of your notices are not read yet (the bell's number)."""
    return UnreadCount(unread=await _unread(session, principal))


@router.post("/api/me/notifications/read", response_model=UnreadCount)
async def mark_read(body: MarkRead, session: SessionDep, principal: UserAccount) -> UnreadCount:
    """Mark some of your notices read (``ids``), or all of them (``all``)."""
    condition = [Notice.recipient_id == principal.id, Notice.read_at.is_(None)]
    if not body.all:
        if not body.ids:
            return UnreadCount(unread=await _unread(session, principal))
        condition.append(Notice.id.in_(body.ids))
    await session.execute(update(Notice).where(*condition).values(read_at=utcnow()))
    changed(session)  # the bells of this account follow
    await session.flush()
    return UnreadCount(unread=await _unread(session, principal))


async def _main_role(session: SessionDep, user: User) -> Role | None:
    """The role whose defaults a user sees on the settings page (their most responsible one)."""
    kind_role = role_of(user)
    if kind_role is not None:
        return kind_role
    if user.kind == UserKind.ADMIN.value:
        return None
    condition = CercleMember.user_id == user.id
    if user.professional_id:
        condition = condition | (CercleMember.professional_id == user.professional_id)
    roles = await session.scalars(
        select(CercleMember.role).where(condition, CercleMember.opposed.is_(False)).distinct()
    )
    return best_role(Role(r) for r in roles) or Role.READER


async def _preferences(
    session: SessionDep, user: User, settings: NotificationSettings
) -> PreferencesRead:
    role = await _main_role(session, user)
    stored = {
        p.nature: p
        for p in await session.scalars(
            select(NotificationPreference).where(NotificationPreference.user_id == user.id)
        )
    }
    contact = await session.get(NotificationContact, user.id)
    natures = []
    for code, nature in NATURES.items():
        if nature.audience == "admins" and user.kind != UserKind.ADMIN.value:
            continue
        if nature.audience == "cercle" and role is not None and not concerns(nature, role):
            continue
        choice = effective(stored.get(code), nature, role)
        natures.append(
            NaturePreferenceRead(
                nature=code,
                label=label_for(code, role),
                channels=list(choice.channels),
                frequency=choice.frequency,
                custom=code in stored,
            )
        )
    return PreferencesRead(
        email=contact.email if contact else None,
        mobile=contact.mobile if contact else None,
        mobile_verified=bool(contact and contact.mobile_verified_at),
        email_available=settings.email_enabled,
        sms_available=settings.sms_enabled,
        natures=natures,
    )


@router.get("/api/me/notification-preferences", response_model=PreferencesRead)
async def get_preferences(
    request: Request, session: SessionDep, principal: UserAccount
) -> PreferencesRead:
    """Your channels and frequency per nature (the defaults of your role until you choose)."""
    user = await session.get(User, principal.id)
    if user is None:
        raise NotFound("Compte introuvable.")
    return await _preferences(session, user, _settings(request))


@router.put("/api/me/notification-preferences", response_model=PreferencesRead)
async def put_preferences(
    request: Request, body: PreferencesUpdate, session: SessionDep, principal: UserAccount
) -> PreferencesRead:
    """Change your email address and your choices per nature (all of it, or nothing)."""
    user = await session.get(User, principal.id)
    if user is None:
        raise NotFound("Compte introuvable.")
    now = utcnow()
    contact = await session.get(NotificationContact, user.id)
    if "email" in body.model_fields_set:
        if contact is None:
            contact = NotificationContact(user_id=user.id, mobile_code_attempts=0, updated_at=now)
            session.add(contact)
        contact.email = body.email
        contact.updated_at = now
    has_email = bool(contact and contact.email)
    has_mobile = bool(contact and contact.mobile and contact.mobile_verified_at)
    for choice in body.natures:
        if Channel.EMAIL in choice.channels and not has_email:
            raise Conflict(
                f"{choice.nature} : indiquez d'abord votre adresse électronique (champ email)."
            )
        if Channel.SMS in choice.channels and not has_mobile:
            raise Conflict(
                f"{choice.nature} : vérifiez d'abord votre numéro de mobile pour recevoir des SMS."
            )
        row = await session.get(NotificationPreference, (user.id, choice.nature))
        if row is None:
            row = NotificationPreference(user_id=user.id, nature=choice.nature)
            session.add(row)
        row.channels = [c.value for c in choice.channels]
        row.frequency = choice.frequency.value
        row.updated_at = now
    for code in body.reset:
        row = await session.get(NotificationPreference, (user.id, code))
        if row is not None:
            await session.delete(row)
    await session.flush()
    return await _preferences(session, user, _settings(request))


UNSUBSCRIBE_PAGE = """<!DOCTYPE html><html lang="fr"><head><meta charset="utf-8">
<title>{title}</title></head><body><main><h1>{title}</h1><p>{text}</p>{form}</main></body></html>
"""


def _page(title: str, text: str, form: str = "", status_code: int = 200) -> HTMLResponse:
    return HTMLResponse(
        UNSUBSCRIBE_PAGE.format(title=title, text=text, form=form), status_code=status_code
    )


async def _unsubscribe(
    session: SessionDep, settings: SettingsDep, token: str
) -> tuple[str, Channel, list[str]] | None:
    found = mail.read_unsubscribe_token(settings.resolved_secret_key(), token)
    if found is None or await session.get(User, found[0]) is None:
        return None
    return found


@router.get(
    "/api/notifications/unsubscribe/{token}", response_class=HTMLResponse, include_in_schema=False
)
async def unsubscribe_page(token: str, session: SessionDep, settings: SettingsDep) -> HTMLResponse:
    """The link of an email's footer: a page asking to confirm (a link checker changes nothing)."""
    if await _unsubscribe(session, settings, token) is None:
        return _page("Lien invalide", "Ce lien de désinscription n'est pas valide.", "", 404)
    form = (
        '<form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click">'
        '<button type="submit">Ne plus recevoir ces courriels</button></form>'
    )
    return _page(
        "Se désinscrire",
        "Vous ne recevrez plus de courriel pour ces notifications (vous les verrez toujours "
        "dans l'application).",
        form,
    )


@router.post(
    "/api/notifications/unsubscribe/{token}", response_class=HTMLResponse, include_in_schema=False
)
async def unsubscribe(token: str, session: SessionDep, settings: SettingsDep) -> HTMLResponse:
    """RFC 8058 one-click: the channel of the message is turned off for its natures."""
    found = await _unsubscribe(session, settings, token)
    if found is None:
        return _page("Lien invalide", "Ce lien de désinscription n'est pas valide.", "", 404)
    user_id, channel, natures = found
    user = await session.get(User, user_id)
    if user is None:
        raise NotFound("Compte introuvable.")
    role = await _main_role(session, user)
    now = utcnow()
    for code in natures:
        nature = NATURES.get(code)
        if nature is None:
            continue
        row = await session.get(NotificationPreference, (user_id, code))
        current = effective(row, nature, role)
        kept = [c.value for c in current.channels if c is not channel]
        if row is None:
            row = NotificationPreference(user_id=user_id, nature=code)
            session.add(row)
        row.channels = kept
        row.frequency = current.frequency.value
        row.updated_at = now
    return _page("Désinscription faite", "Vous ne recevrez plus ces courriels.")
