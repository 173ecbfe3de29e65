"""Reading versions: diffs, history, audit bundles, reviews due."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Literal

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server import authz
from server.audit.bundle import ppa_audit_trail
from server.auth.principal import Principal
from server.authz import Capability
from server.errors import Conflict, InvalidInput
from server.ledger.log import head_of, latest_head, tree
from server.models import PPA, Person, TreeHead, Version, VersionAccord
from server.models.ppa import PPAStatus
from server.ppas.timeline import InForce, in_force
from server.versions_api import repository
from server.versions_api.authorship import authorship_between
from server.versions_api.runtime import VersionsRuntime
from server.versions_api.service.common import content_of
from versions.bundle import assemble_bundle
from versions.chain import VALIDATED_KINDS, verify_chain
from versions.chain import VerifyResult as ChainVerifyResult
from versions.diff import VersionDiff, diff_contents


async def diff_versions(
    session: AsyncSession, ppa: PPA, older: Version, newer: Version
) -> tuple[VersionDiff, Literal["update_log", "versions"]]:
    """Structured diff from ``older`` to ``newer`` (any two versions), with authorship."""
    low, high = sorted((older.number, newer.number))
    between = [v for v in await repository.all_versions(session, ppa.id) if low <= v.number <= high]
    changes, source = await authorship_between(session, between[0], between[-1], between)
    return diff_contents(content_of(older), content_of(newer), authorship=changes), source


@dataclass(frozen=True)
class History:
    versions: list[Version]
    accords: dict[int, list[VersionAccord]]
    chain: ChainVerifyResult
    head: TreeHead | None


async def history(session: AsyncSession, ppa: PPA) -> History:
    """Every version of the PPA with its agreements, the chain checked, the latest head."""
    versions = await repository.all_versions(session, ppa.id)
    accords = await repository.accords_of(session, ppa.id)
    records = [repository.version_record(v, accords.get(v.number, [])) for v in versions]
    chain = verify_chain(records, [v.content for v in versions])
    return History(versions, accords, chain, await latest_head(session))


async def audit_bundle(
    session: AsyncSession, rt: VersionsRuntime, ppa: PPA, known_sizes: Sequence[int] = ()
) -> bytes:
    """The zip an auditor verifies offline (:mod:`versions.bundle`).

    ``known_sizes`` are sizes of signed heads the auditor (or a witness) already holds: their
    heads join the bundle, linked to the others by consistency proofs, so ``ppa audit verify
    --known-head`` checks that today's log extends what was published then. The PPA's audit
    events and the checkpoints sealing them under the latest head come along
    (:func:`server.audit.bundle.ppa_audit_trail`).
    """
    latest = await latest_head(session)
    if latest is None:
        raise Conflict("Le journal des versions est vide : aucune preuve à exporter.")
    if any(size < 1 or size > latest.tree_size for size in known_sizes):
        raise InvalidInput("Taille de tête signée inconnue du journal.")
    versions = await repository.all_versions(session, ppa.id)
    accords = await repository.accords_of(session, ppa.id)
    sizes = {v.leaf_index + 1 for v in versions} | {latest.tree_size} | set(known_sizes)
    heads = list(
        await session.scalars(
            select(TreeHead).where(TreeHead.tree_size.in_(sizes)).order_by(TreeHead.tree_size)
        )
    )
    entries = [
        (repository.version_record(v, accords.get(v.number, [])), v.content, v.leaf_index)
        for v in versions
    ]
    signed = [head_of(h) for h in heads]
    public_key = rt.key.public_key()
    events, batches = await ppa_audit_trail(session, ppa, latest.tree_size)

    def build(sync: Any) -> bytes:
        return assemble_bundle(
            ppa.id,
            entries,
            tree(sync, latest.tree_size),
            signed,
            public_key,
            events,
            batches,
        )

    return await session.run_sync(build)


def _due(timeline: InForce, horizon: date) -> bool:
    review = timeline.next_review
    return timeline.echu or (review is not None and review <= horizon)


async def review_due(
    session: AsyncSession, principal: Principal, within_days: int, today: date
) -> list[tuple[PPA, Version, InForce]]:
    """PPAs in force whose next review falls before ``today + within_days`` or that are *échu*
    (period ended), with their current validated version and timeline. The next review is
    the version's, never later than 12 months after the last full validation (an avenant does
    not reset it)."""
    current = (
        select(Version.ppa_id, func.max(Version.number).label("number"))
        .where(Version.kind.in_([k.value for k in VALIDATED_KINDS]))
        .group_by(Version.ppa_id)
        .subquery()
    )
    readers = authz.persons_with(principal, Capability.READ_VALIDATED).with_only_columns(Person.id)
    rows = await session.execute(
        select(PPA, Version)
        .join(current, current.c.ppa_id == PPA.id)
        .join(Version, and_(Version.ppa_id == PPA.id, Version.number == current.c.number))
        .where(
            PPA.status.in_([PPAStatus.VALIDATED.value, PPAStatus.AVENANT_DRAFT.value]),
            PPA.person_id.in_(readers),
        )
        .order_by(PPA.id)
    )
    pairs = [(ppa, version) for ppa, version in rows]
    timelines = await in_force(session, [ppa for ppa, _ in pairs], today)
    horizon = today + timedelta(days=within_days)
    due = [
        (ppa, version, timelines[ppa.id])
        for ppa, version in pairs
        if ppa.id in timelines and _due(timelines[ppa.id], horizon)
    ]
    return sorted(due, key=lambda row: (row[2].next_review or date.max, row[0].id))
