"""Subscribable agenda feeds: a revocable token in the URL, the latest validated events.

A feed reads with its owner's rights, evaluated at every fetch (a professional removed from a
cercle, or opposed by the person, stops seeing that person's events). Only validated versions
ever reach a feed: for each PPA of the person that is not superseded, its latest validated
version (validation or avenant), so an avenant shows up as the same UIDs with SEQUENCE + 1 and
cancelled sessions as ``STATUS:CANCELLED``.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

import anyio.to_thread
from icalendar import Calendar, Component
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from exports.context import ExportInput
from exports.ical import PRODID, paris_vtimezone, render_ical, render_ical_for_professional
from server import authz
from server.auth.principal import Principal, PrincipalType
from server.auth.service import client_principal, user_principal
from server.authz import Capability
from server.errors import Forbidden, NotFound
from server.exports_api.context import export_input
from server.exports_api.repository import latest_validated
from server.exports_api.service import RENDER_LIMITER
from server.models import PPA, ApiClient, Person, Professional, User
from server.models.exports import AgendaFeed, AgendaFeedKind
from server.models.ppa import PPAStatus

TOKEN_PREFIX = "cal_"


def new_feed_token() -> tuple[str, str, str]:
    """(token shown once, lookup prefix stored in clear, SHA-256 hash stored)."""
    prefix = secrets.token_hex(6)
    token = f"{TOKEN_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    return token, prefix, hash_token(token)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def token_prefix(token: str) -> str | None:
    if not token.startswith(TOKEN_PREFIX):
        return None
    prefix, _, rest = token[len(TOKEN_PREFIX) :].partition("_")
    return prefix if len(prefix) == 12 and rest else None


def feed_path(token: str) -> str:
    return f"/api/agenda/{token}.ics"


async def create_feed(
    session: AsyncSession,
    principal: Principal,
    kind: AgendaFeedKind,
    person_id: str | None,
    label: str,
) -> tuple[AgendaFeed, str]:
    """A new feed and its token (returned once, stored hashed)."""
    professional_id: str | None = None
    if kind is AgendaFeedKind.PERSON:
        if not person_id:
            raise NotFound("Indiquez la personne (person_id) dont suivre l'agenda.")
        person = await authz.get_person(session, principal, person_id, Capability.READ_VALIDATED)
        person_id = person.id
    else:
        if principal.professional_id is None:
            raise Forbidden("Seul un professionnel peut s'abonner à son propre agenda.")
        professional_id = principal.professional_id
        person_id = None
    token, prefix, token_hash = new_feed_token()
    feed = AgendaFeed(
        kind=kind.value,
        person_id=person_id,
        professional_id=professional_id,
        owner_type=principal.type.value,
        owner_id=principal.id,
        label=label,
        token_prefix=prefix,
        token_hash=token_hash,
    )
    session.add(feed)
    await session.flush()
    return feed, token


async def own_feeds(session: AsyncSession, principal: Principal) -> list[AgendaFeed]:
    return list(
        await session.scalars(
            select(AgendaFeed)
            .where(AgendaFeed.owner_type == principal.type.value)
            .where(AgendaFeed.owner_id == principal.id)
            .order_by(AgendaFeed.created_at, AgendaFeed.id)
        )
    )


async def get_own_feed(session: AsyncSession, principal: Principal, feed_id: str) -> AgendaFeed:
    feed = await session.scalar(
        select(AgendaFeed).where(
            AgendaFeed.id == feed_id,
            AgendaFeed.owner_type == principal.type.value,
            AgendaFeed.owner_id == principal.id,
        )
    )
    if feed is None:
        raise NotFound("Abonnement d'agenda introuvable.")
    return feed


async def feed_by_token(session: AsyncSession, token: str) -> tuple[AgendaFeed, Principal]:
    """The live feed of this token and its owner's principal; 404 for anything else."""
    gone = NotFound("Agenda introuvable ou abonnement révoqué.")
    prefix = token_prefix(token)
    if prefix is None:
        raise gone
    feed = await session.scalar(select(AgendaFeed).where(AgendaFeed.token_prefix == prefix))
    if feed is None or feed.revoked_at is not None:
        raise gone
    if not hmac.compare_digest(hash_token(token), feed.token_hash):
        raise gone
    principal: Principal | None = None
    if feed.owner_type == PrincipalType.USER.value:
        user = await session.get(User, feed.owner_id)
        if user is not None and user.is_active:
            principal = user_principal(user)
    else:
        client = await session.get(ApiClient, feed.owner_id)
        if client is not None and client.revoked_at is None:
            principal = client_principal(client)
    if principal is None:
        raise gone
    if feed.kind == AgendaFeedKind.PROFESSIONAL.value and (
        principal.professional_id != feed.professional_id
    ):
        raise gone
    return feed, principal


@dataclass(frozen=True)
class FeedContent:
    ics: bytes
    ppas: list[tuple[str, str]]
    """(PPA id, person id) of every PPA whose events are in the feed (for the audit trail)."""


async def _inputs(
    session: AsyncSession, principal: Principal, person_id: str | None
) -> list[tuple[PPA, ExportInput]]:
    persons = authz.persons_with(principal, Capability.READ_VALIDATED).with_only_columns(Person.id)
    query = (
        select(PPA)
        .where(PPA.person_id.in_(persons), PPA.status != PPAStatus.SUPERSEDED.value)
        .order_by(PPA.person_id, PPA.created_at, PPA.id)
    )
    if person_id is not None:
        query = query.where(PPA.person_id == person_id)
    inputs = []
    for ppa in await session.scalars(query):
        version = await latest_validated(session, ppa.id)
        if version is not None:
            inputs.append((ppa, await export_input(session, ppa, version)))
    return inputs


def merge_calendars(parts: list[bytes], name: str) -> bytes:
    """One VCALENDAR with every VEVENT of ``parts`` (their UIDs are per action, so distinct)."""
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", name)
    cal.add("x-wr-timezone", "Europe/Paris")
    cal.add_component(paris_vtimezone())
    for part in parts:
        component: Component
        for component in Calendar.from_ical(part).walk("VEVENT"):
            cal.add_component(component)
    data: bytes = cal.to_ical()
    return data


async def _render(inputs: list[ExportInput], professional_id: str | None) -> list[bytes]:
    parts = []
    for inp in inputs:
        if professional_id is None:
            part = await anyio.to_thread.run_sync(render_ical, inp, limiter=RENDER_LIMITER)
        else:
            part = await anyio.to_thread.run_sync(
                render_ical_for_professional, inp, professional_id, limiter=RENDER_LIMITER
            )
        parts.append(part)
    return parts


async def feed_content(
    session: AsyncSession, feed: AgendaFeed, principal: Principal
) -> FeedContent:
    """The feed's calendar now (rendered in worker threads)."""
    if feed.kind == AgendaFeedKind.PERSON.value:
        pairs = await _inputs(session, principal, feed.person_id)
        inputs = [inp for _, inp in pairs]
        parts = await _render(inputs, None)
        if len(parts) == 1:
            ics = parts[0]
        else:
            name = f"PPA - {inputs[0].person.display_name}" if inputs else "PPA"
            ics = merge_calendars(parts, name)
    else:
        pro_id = feed.professional_id or ""
        pairs = await _inputs(session, principal, None)
        pro = await session.get(Professional, pro_id)
        name = f"PPA - agenda de {pro.first_name} {pro.last_name.upper()}" if pro else "PPA"
        ics = merge_calendars(await _render([inp for _, inp in pairs], pro_id), name)
    return FeedContent(ics, [(ppa.id, ppa.person_id) for ppa, _ in pairs])
