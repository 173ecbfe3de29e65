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
import structlog
from icalendar import Calendar, Component
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from exports.ical import PRODID, paris_vtimezone, render_ical, render_ical_for_professional
from exports.local_time import PARIS
from server import authz
from server.auth.principal import Principal, PrincipalType
from server.auth.service import client_principal, user_principal
from server.authz import Capability
from server.errors import Conflict, NotFound
from server.exports_api.context import export_input
from server.exports_api.repository import latest_validated
from server.exports_api.service import CACHE, RENDER_LIMITER, Rendered
from server.models import PPA, ApiClient, Person, Professional, User, Version
from server.models.exports import AgendaFeed, AgendaFeedKind
from server.models.ppa import PPAStatus

log = structlog.get_logger(__name__)

TOKEN_PREFIX = "cal_"  # noqa: S105 - a public prefix, not a secret


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
        professional_id = authz.own_agenda_professional(principal)
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


async def _current_versions(
    session: AsyncSession, principal: Principal, person_id: str | None
) -> list[tuple[PPA, Version]]:
    """Latest validated version of each PPA (not superseded) the principal reads validated."""
    persons = authz.persons_with(principal, Capability.READ_VALIDATED).with_only_columns(Person.id)
    query = (
        select(PPA)
        .where(PPA.person_id.in_(persons), PPA.status != PPAStatus.SUPERSEDED.value)
        .order_by(PPA.person_id, PPA.created_at, PPA.id)
    )
    if person_id is not None:
        query = query.where(PPA.person_id == person_id)
    pairs = []
    for ppa in await session.scalars(query):
        version = await latest_validated(session, ppa.id)
        if version is not None:
            pairs.append((ppa, version))
    return pairs


def merge_calendars(parts: list[bytes], name: str | None = None) -> bytes:
    """One VCALENDAR with every VEVENT of ``parts`` (their UIDs are per action, so distinct);
    named ``name``, else like the first part."""
    calendars = [Calendar.from_ical(part) for part in parts]
    if name is None:
        name = str(calendars[0].get("X-WR-CALNAME", "PPA")) if calendars else "PPA"
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", name)
    cal.add("x-wr-timezone", PARIS.key)
    cal.add_component(paris_vtimezone())
    for calendar in calendars:
        component: Component
        for component in calendar.walk("VEVENT"):
            cal.add_component(component)
    data: bytes = cal.to_ical()
    return data


async def _part(
    session: AsyncSession, ppa: PPA, version: Version, professional_id: str | None
) -> bytes:
    """One PPA's calendar (cached per version: it never changes)."""
    key = (version.chain_hash, "ics" if professional_id is None else f"ics@{professional_id}")
    cached = CACHE.get(key)
    if cached is not None:
        return cached.data
    inp = await export_input(session, ppa, version)
    if professional_id is None:
        data = await anyio.to_thread.run_sync(render_ical, inp, limiter=RENDER_LIMITER)
    else:
        data = await anyio.to_thread.run_sync(
            render_ical_for_professional, inp, professional_id, limiter=RENDER_LIMITER
        )
    CACHE.put(key, Rendered(data, "text/calendar", "agenda.ics", "agenda.ics"))
    return data


async def feed_content(
    session: AsyncSession, feed: AgendaFeed, principal: Principal
) -> FeedContent:
    """The feed's calendar now (rendered in worker threads, cached per version)."""
    professional_id = None if feed.kind == AgendaFeedKind.PERSON.value else feed.professional_id
    pairs = []
    parts = []
    for ppa, version in await _current_versions(session, principal, feed.person_id):
        try:
            parts.append(await _part(session, ppa, version, professional_id))
        except Conflict:
            # Not exportable (no structure...): the other PPAs of the feed still go out.
            log.warning("agenda.feed.ppa_skipped", ppa_id=ppa.id, version=version.number)
            continue
        pairs.append((ppa, version))
    if professional_id is None:
        ics = parts[0] if len(parts) == 1 else merge_calendars(parts)
    else:
        pro = await session.get(Professional, professional_id)
        name = f"PPA - agenda de {pro.first_name} {pro.last_name.upper()}" if pro else "PPA"
        ics = merge_calendars(parts, name)
    return FeedContent(ics, [(ppa.id, ppa.person_id) for ppa, _ in pairs])
