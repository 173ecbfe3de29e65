"""Every query of the versions domain; who may read which version is decided here.

Who may read which version is :func:`server.authz.version_capability`: members holding
``read_history`` on its PPA read every kind (auditors review the whole history), members holding
``read_validated`` on the person read validated versions and avenants (ESMS software), whatever
the PPA's current state (a PPA with an avenant in progress keeps its validated version).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from server import authz
from server.auth.principal import Principal
from server.authz import Capability
from server.errors import Forbidden, NotFound
from server.models import PPA, ApiClient, CercleMember, Person, User, Version, VersionAccord
from server.models.person import Role
from versions.chain import (
    VALIDATED_KINDS,
    AccordMode,
    AccordRecord,
    AccordType,
    VersionKind,
    VersionMeta,
    VersionRecord,
    VersionRef,
)

VALIDATED_KIND_VALUES = tuple(kind.value for kind in VALIDATED_KINDS)


def readable_condition(principal: Principal) -> ColumnElement[bool]:
    """SQL condition on ``versions``: the principal may read the version (``authz``'s rule)."""
    return authz.version_condition(principal, authz.VersionUse.READ)


def readable_versions(principal: Principal, ppa_id: str) -> Select[Version]:
    """Versions of the PPA the principal may read."""
    return (
        select(Version)
        .join(PPA, PPA.id == Version.ppa_id)
        .where(Version.ppa_id == ppa_id, readable_condition(principal))
    )


async def ppa_for_versions(session: AsyncSession, principal: Principal, ppa_id: str) -> PPA:
    """The PPA if the principal may list some of its versions; 404 if unseen, 403 if no right."""
    validated_readers = authz.persons_with(principal, Capability.READ_VALIDATED).with_only_columns(
        Person.id
    )
    ppa = await session.scalar(
        select(PPA).where(
            PPA.id == ppa_id,
            or_(
                authz.ppa_condition(principal, Capability.READ_HISTORY),
                PPA.person_id.in_(validated_readers),
            ),
        )
    )
    if ppa is not None:
        return ppa
    # Same wording as authz.get_ppa for the other cases (403 if the person is visible).
    return await authz.get_ppa(session, principal, ppa_id, Capability.READ_HISTORY)


async def list_readable(session: AsyncSession, principal: Principal, ppa_id: str) -> list[Version]:
    return list(
        await session.scalars(readable_versions(principal, ppa_id).order_by(Version.number))
    )


async def get_readable(
    session: AsyncSession, principal: Principal, ppa: PPA, number: int
) -> Version:
    version = await session.scalar(
        readable_versions(principal, ppa.id).where(Version.number == number)
    )
    if version is not None:
        return version
    exists = await session.scalar(
        select(Version.number).where(Version.ppa_id == ppa.id, Version.number == number)
    )
    if exists is not None:
        raise Forbidden("Votre rôle ne permet de lire que les versions validées de ce PPA.")
    raise NotFound(f"Version {number} introuvable pour ce PPA.")


async def latest_version(session: AsyncSession, ppa_id: str) -> Version | None:
    return await session.scalar(
        select(Version).where(Version.ppa_id == ppa_id).order_by(Version.number.desc()).limit(1)
    )


async def all_versions(session: AsyncSession, ppa_id: str) -> list[Version]:
    return list(
        await session.scalars(
            select(Version).where(Version.ppa_id == ppa_id).order_by(Version.number)
        )
    )


async def last_validated(session: AsyncSession, ppa_id: str) -> Version | None:
    return await session.scalar(
        select(Version)
        .where(Version.ppa_id == ppa_id, Version.kind.in_(VALIDATED_KIND_VALUES))
        .order_by(Version.number.desc())
        .limit(1)
    )


async def last_full_validation(session: AsyncSession, ppa_id: str) -> Version | None:
    """The last *full* validation of a PPA (kind ``validated``, not an avenant), or ``None``."""
    return await session.scalar(
        select(Version)
        .where(Version.ppa_id == ppa_id, Version.kind == VersionKind.VALIDATED.value)
        .order_by(Version.number.desc())
        .limit(1)
    )


async def count_kind(session: AsyncSession, ppa_id: str, kinds: Iterable[str]) -> int:
    return int(
        await session.scalar(
            select(func.count())
            .select_from(Version)
            .where(Version.ppa_id == ppa_id, Version.kind.in_(list(kinds)))
        )
        or 0
    )


async def accords_of(
    session: AsyncSession, ppa_id: str, numbers: Iterable[int] | None = None
) -> dict[int, list[VersionAccord]]:
    query = select(VersionAccord).where(VersionAccord.ppa_id == ppa_id)
    if numbers is not None:
        query = query.where(VersionAccord.version_number.in_(list(numbers)))
    result: dict[int, list[VersionAccord]] = {}
    for accord in await session.scalars(
        query.order_by(VersionAccord.version_number, VersionAccord.position)
    ):
        result.setdefault(accord.version_number, []).append(accord)
    return result


def accord_record(row: VersionAccord) -> AccordRecord:
    return AccordRecord(
        type=AccordType(row.type),
        mode=AccordMode(row.mode),
        par=row.par,
        recorded_by=row.recorded_by,
        recorded_at=row.recorded_at,
        temoin=row.temoin,
        date=row.date,
        motif=row.motif,
    )


def version_meta(version: Version, accords: Sequence[VersionAccord]) -> VersionMeta:
    based_on = None
    if version.based_on_ppa_id is not None and version.based_on_number is not None:
        based_on = VersionRef(version.based_on_ppa_id, version.based_on_number)
    return VersionMeta(
        ppa_id=version.ppa_id,
        number=version.number,
        kind=VersionKind(version.kind),
        label=version.label,
        created_at=version.created_at,
        created_by=version.created_by,
        parent_number=version.parent_number,
        based_on=based_on,
        accords=tuple(accord_record(a) for a in accords),
    )


def version_record(version: Version, accords: Sequence[VersionAccord]) -> VersionRecord:
    """The chain's view of a stored version (what :func:`versions.chain.verify_chain` checks)."""
    return VersionRecord(
        meta=version_meta(version, accords),
        content_hash=version.content_hash,
        prev_chain_hash=version.prev_chain_hash,
        chain_hash=version.chain_hash,
    )


async def display_names(
    session: AsyncSession, ids: Iterable[str], ppa_id: str | None = None
) -> dict[str, str]:
    """Display names of users and API clients (``system:*`` ids read "Service ppa-collab").

    With ``ppa_id``, the person's aidants read "<aidant> pour <person>": what they write, they
    write on her behalf (issue 17, point 8)."""
    wanted = {i for i in ids if i}
    names = {i: "Service ppa-collab" for i in wanted if i.startswith("system:")}
    others = wanted - set(names)
    if others:
        for user_id, name in await session.execute(
            select(User.id, User.display_name).where(User.id.in_(others))
        ):
            names[user_id] = name
        for client_id, name in await session.execute(
            select(ApiClient.id, ApiClient.name).where(ApiClient.id.in_(others))
        ):
            names[client_id] = name
    if ppa_id is not None and others:
        await _on_behalf(session, ppa_id, names, others)
    return names


async def _on_behalf(
    session: AsyncSession, ppa_id: str, names: dict[str, str], user_ids: set[str]
) -> None:
    person = await session.scalar(
        select(Person).join(PPA, PPA.person_id == Person.id).where(PPA.id == ppa_id)
    )
    if person is None:
        return
    aidants = await session.scalars(
        select(CercleMember.user_id).where(
            CercleMember.person_id == person.id,
            CercleMember.role == Role.AIDANT.value,
            CercleMember.user_id.in_(user_ids),
        )
    )
    who = f"{person.first_names.split()[0]} {person.used_name or person.birth_family_name}"
    for user_id in aidants:
        if user_id is not None and user_id in names:
            names[user_id] = f"{names[user_id]} pour {who}"
