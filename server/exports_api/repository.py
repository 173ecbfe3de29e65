"""Queries of the exports domain: versions readable by a principal, and their history.

Authorization lives in the statements, from :func:`server.authz.version_capability`: a validated
version (validation or avenant) is exported by every member with ``READ_VALIDATED`` on the person
(``esms`` and auditors included, whatever state the live PPA is in, e.g. an avenant in progress);
any other version (checkpoint, named, restore, revision) only by members who read drafts
(``READ``): an auditor reads those but does not export them.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession

from server import authz
from server.auth.principal import Principal
from server.authz import Capability
from server.errors import Forbidden, NotFound
from server.models import PPA, Person, Version
from versions.chain import VALIDATED_KINDS

VALIDATED_KIND_VALUES = sorted(k.value for k in VALIDATED_KINDS)


def person_ids_with(principal: Principal, capability: Capability) -> ColumnElement[bool]:
    """SQL condition: the PPA's person is readable with ``capability`` by the principal."""
    persons = authz.persons_with(principal, capability).with_only_columns(Person.id)
    return PPA.person_id.in_(persons)


def version_readable(principal: Principal) -> ColumnElement[bool]:
    """SQL condition on ``versions``: the principal may export this version (``authz``'s rule)."""
    return authz.version_condition(principal, authz.VersionUse.EXPORT)


async def get_readable_version(
    session: AsyncSession, principal: Principal, ppa_id: str, number: int
) -> tuple[PPA, Version]:
    """The PPA and its version ``number`` if the principal may read it.

    404 when the PPA is not shared with the principal or the version does not exist; 403 when
    the principal sees the PPA but not this version (an ``esms`` client and a draft).
    """
    row = (
        await session.execute(
            select(PPA, Version)
            .join(Version, Version.ppa_id == PPA.id)
            .where(PPA.id == ppa_id, Version.number == number, version_readable(principal))
        )
    ).first()
    if row is not None:
        return row[0], row[1]
    ppa = await authz.get_ppa(session, principal, ppa_id, Capability.SEE_PERSON)
    exists = await session.scalar(
        select(Version.number).where(Version.ppa_id == ppa.id, Version.number == number)
    )
    if exists is None:
        raise NotFound(f"Version {number} introuvable pour ce PPA.")
    if await session.scalar(
        select(Version.number).where(
            Version.ppa_id == ppa.id,
            Version.number == number,
            authz.version_condition(principal, authz.VersionUse.READ),
        )
    ):
        raise Forbidden(
            f"Votre rôle dans le cercle permet de consulter la version {number}, qui n'est pas "
            "validée, mais d'exporter seulement les versions validées et les avenants."
        )
    raise Forbidden(
        "Votre rôle dans le cercle donne accès aux seules versions validées de ce PPA ; "
        f"la version {number} n'est pas validée."
    )


async def validated_before(session: AsyncSession, ppa_id: str, number: int) -> list[Version]:
    """Validated versions (validations and avenants) of the PPA before ``number``, oldest first."""
    return list(
        await session.scalars(
            select(Version)
            .where(
                Version.ppa_id == ppa_id,
                Version.number < number,
                Version.kind.in_(VALIDATED_KIND_VALUES),
            )
            .order_by(Version.number)
        )
    )


async def latest_validated(session: AsyncSession, ppa_id: str) -> Version | None:
    """The PPA's current validated version (last validation or avenant), if any."""
    version: Version | None = await session.scalar(
        select(Version)
        .where(Version.ppa_id == ppa_id, Version.kind.in_(VALIDATED_KIND_VALUES))
        .order_by(Version.number.desc())
        .limit(1)
    )
    return version
