"""What the FHIR read API serves, under the cercle rules of :mod:`server.authz`.

* A CarePlan is served from a stored version: the last validated one (validation or avenant) to
  every member reading validated versions; to a member who writes (capability ``edit``: a
  coordinator, a contributor, a structure's software granted ``contributor``), the latest version
  when it is a draft one newer than the last validation (checkpoint, named version), marked
  ``status=draft``. ``meta.versionId`` is the version number, the ETag ``W/"<number>"``.
* The CareTeam is the cercle, for any unopposed member (``see_person``).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from exports.context import InsOid
from exports.fhir import render_fhir_bundle
from exports.fhir_contained import careplan_resource
from server import authz
from server.auth.principal import Principal
from server.authz import Capability
from server.errors import AppError, Forbidden, NotFound
from server.exports_api.context import export_input
from server.fhir.careteam import careteam
from server.models import PPA, ApiClient, CercleDeparture, CercleMember, Person, Version
from server.models.identity import Professional, Structure
from versions.chain import VALIDATED_KINDS

Json = dict[str, Any]
VALIDATED = tuple(k.value for k in VALIDATED_KINDS)


class BadSearch(AppError):  # noqa: N818 - named as its wire code
    """A search the server cannot run (FHIR: 400 Bad Request)."""

    status_code = 400
    code = "BadRequest"


INS_SYSTEMS = {f"urn:oid:{oid.value}": oid.value for oid in InsOid}


def parse_ins(token: str) -> tuple[str, str]:
    """``<system>|<value>`` of an INS -> (OID, matricule); 400 otherwise."""
    system, sep, value = token.partition("|")
    if not sep or system not in INS_SYSTEMS or not value.strip():
        raise BadSearch(
            "patient.identifier : attendu <système INS>|<matricule>, le système étant "
            "urn:oid:1.2.250.1.213.1.4.8 (NIR), .9 (NIA), .10 (test) ou .11 (démo)."
        )
    return INS_SYSTEMS[system], value.strip()


async def find_person(session: AsyncSession, principal: Principal, token: str) -> Person | None:
    """The person the INS names, if the principal is an unopposed member of their cercle."""
    oid, matricule = parse_ins(token)
    person: Person | None = await session.scalar(
        authz.persons_with(principal, Capability.SEE_PERSON).where(
            Person.ins_oid == oid, Person.ins_matricule == matricule
        )
    )
    return person


async def get_ppa(session: AsyncSession, principal: Principal, ppa_id: str) -> PPA:
    """The PPA, if the principal reads the person's validated versions (an ESMS client keeps
    reading the last validated version while an avenant is drafted); 404 / 403 otherwise."""
    ppa = await session.get(PPA, ppa_id)
    if ppa is None:
        raise NotFound("PPA introuvable (ou non partagé avec vous).")
    try:
        await authz.get_person(session, principal, ppa.person_id, Capability.READ_VALIDATED)
    except NotFound as exc:
        raise NotFound("PPA introuvable (ou non partagé avec vous).") from exc
    return ppa


async def writes(session: AsyncSession, principal: Principal, person_id: str) -> bool:
    role = await authz.role_value(session, principal, person_id)
    return Capability.EDIT in authz.capabilities_of(role)


async def served_version(session: AsyncSession, principal: Principal, ppa: PPA) -> Version | None:
    """The version the principal reads as the PPA's CarePlan (``None``: none to serve)."""
    latest: Version | None = await session.scalar(
        select(Version).where(Version.ppa_id == ppa.id).order_by(Version.number.desc()).limit(1)
    )
    if latest is None:
        return None
    if latest.kind not in VALIDATED and await writes(session, principal, ppa.person_id):
        return latest
    validated: Version | None = await session.scalar(
        select(Version)
        .where(Version.ppa_id == ppa.id, Version.kind.in_(VALIDATED))
        .order_by(Version.number.desc())
        .limit(1)
    )
    return validated


async def readable_version(
    session: AsyncSession, principal: Principal, ppa: PPA, number: int
) -> Version:
    """Version ``number`` of the PPA for a vread: validated ones to readers, drafts to writers."""
    version: Version | None = await session.get(Version, (ppa.id, number))
    if version is None:
        raise NotFound(f"Version {number} introuvable pour ce PPA.")
    if version.kind not in VALIDATED and not await writes(session, principal, ppa.person_id):
        raise Forbidden(
            f"La version {number} n'est pas validée : seuls les membres du cercle qui écrivent "
            "le PPA lisent ses brouillons."
        )
    return version


async def _visible(session: AsyncSession, principal: Principal, ppa: PPA) -> Any:
    """The condition on ``versions`` rows of the PPA the principal reads."""
    condition = Version.ppa_id == ppa.id
    if not await writes(session, principal, ppa.person_id):
        condition = and_(condition, Version.kind.in_(VALIDATED))
    return condition


async def visible_versions(
    session: AsyncSession, principal: Principal, ppa: PPA, count: int, offset: int = 0
) -> list[Version]:
    """The versions of the PPA's history the principal reads, newest first: ``count`` of them
    from the ``offset``-th."""
    query = select(Version).where(await _visible(session, principal, ppa))
    query = query.order_by(Version.number.desc()).offset(offset).limit(count)
    return list(await session.scalars(query))


async def count_visible_versions(session: AsyncSession, principal: Principal, ppa: PPA) -> int:
    """How many versions of the PPA the principal reads."""
    query = select(func.count()).select_from(Version).where(await _visible(session, principal, ppa))
    return int(await session.scalar(query) or 0)


def instant(version: Version) -> str:
    at = version.created_at
    return at.isoformat(timespec="seconds") + ("" if at.tzinfo else "Z")


async def careplan_of(session: AsyncSession, ppa: PPA, version: Version) -> Json:
    """The served CarePlan of ``version`` (TDDUI resources contained)."""
    inp = await export_input(session, ppa, version)
    return careplan_resource(
        render_fhir_bundle(inp),
        ppa.id,
        str(version.number),
        instant(version),
        draft=version.kind not in VALIDATED,
    )


async def careplans_of_person(
    session: AsyncSession, principal: Principal, person: Person
) -> list[tuple[PPA, Json]]:
    """Each PPA of the person the principal reads, as its served CarePlan. A PPA that cannot be
    rendered (no structure, no author in the cercle) is left out of a search."""
    out: list[tuple[PPA, Json]] = []
    reads = await session.scalar(
        authz.persons_with(principal, Capability.READ_VALIDATED)
        .where(Person.id == person.id)
        .with_only_columns(Person.id)
    )
    if reads is None:
        return out
    ppas = await session.scalars(
        select(PPA).where(PPA.person_id == person.id).order_by(PPA.created_at)
    )
    for ppa in list(ppas):
        version = await served_version(session, principal, ppa)
        if version is None:
            continue
        try:
            out.append((ppa, await careplan_of(session, ppa, version)))
        except AppError:
            continue
    return out


async def careteam_of(session: AsyncSession, person: Person) -> Json:
    members = list(
        await session.scalars(select(CercleMember).where(CercleMember.person_id == person.id))
    )
    departures = list(
        await session.scalars(select(CercleDeparture).where(CercleDeparture.person_id == person.id))
    )
    rows: list[CercleMember | CercleDeparture] = [*members, *departures]
    pro_ids = {m.professional_id for m in rows if m.professional_id}
    pros = {
        p.id: p
        for p in await session.scalars(select(Professional).where(Professional.id.in_(pro_ids)))
    }
    client_ids = {m.api_client_id for m in rows if m.api_client_id}
    clients = {
        c.id: c.structure_id or ""
        for c in await session.scalars(select(ApiClient).where(ApiClient.id.in_(client_ids)))
    }
    structures = {
        s.id: s
        for s in await session.scalars(
            select(Structure).where(Structure.id.in_(set(clients.values())))
        )
    }
    return careteam(person, members, pros, structures, clients, departures)


def weak_etag(resource: Json) -> str:
    """ETag of a resource: its ``meta.versionId``, else a hash of its JSON."""
    version = resource.get("meta", {}).get("versionId")
    if version is None:
        text = json.dumps(resource, sort_keys=True, ensure_ascii=False).encode("utf-8")
        version = hashlib.sha256(text).hexdigest()[:16]
    return f'W/"{version}"'


def etag_matches(header: str | None, etag: str) -> bool:
    if not header:
        return False
    tags = {t.strip() for t in header.split(",")}
    return "*" in tags or etag in tags or etag.removeprefix("W/") in tags
