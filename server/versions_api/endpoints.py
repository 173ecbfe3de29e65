"""Versions: history, named versions, diffs, validation, avenants, restores, revisions, audit."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from exports.local_time import PARIS
from exports.registry import audit_bundle_filename
from server import authz
from server.audit.seal import seal as seal_audit
from server.audit.trail import AuditTrail, audited
from server.auth.deps import CurrentPrincipal
from server.authz import Capability
from server.deps import SessionDep
from server.errors import InvalidInput, NotFound
from server.ledger.log import latest_head, tree
from server.models import PPA, Person, TreeHead, Version, VersionAccord
from server.openapi import SQL_INT_MAX, SQL_INTEGER_MAX, TreeSize, VersionNumber, error_responses
from server.versions_api import repository, service
from server.versions_api.runtime import Guard, Runtime
from server.versions_api.schemas import (
    AccordRead,
    AuditCheckpointRead,
    AuthorRead,
    ChainCheck,
    ConsistencyRead,
    DiffRead,
    FieldChangeRead,
    HistoryEntry,
    HistoryRead,
    ItemChangeRead,
    LifecycleRead,
    LogKeyRead,
    PendingAvenantRead,
    RestorePreviewRead,
    RestoreRead,
    ReviewDueRead,
    SegmentRead,
    TreeHeadRead,
    ValidateIn,
    VersionCreate,
    VersionRead,
    VersionRefRead,
    VersionSummary,
)
from versions.chain import AccordMode
from versions.diff import Author, VersionDiff
from versions.lifecycle import review_status
from versions.rules import predated_rules
from versions.signing import key_id, public_key_to_pem

router = APIRouter(prefix="/api", tags=["versions"])

LOCKED_RESPONSES: dict[int | str, dict[str, str]] = {
    409: {"description": "PPA validé et verrouillé (Locked) ou état changé (Conflict)"}
}


def _summary(version: Version, names: dict[str, str]) -> VersionSummary:
    based_on = None
    if version.based_on_ppa_id is not None and version.based_on_number is not None:
        based_on = VersionRefRead(ppa_id=version.based_on_ppa_id, number=version.based_on_number)
    return VersionSummary(
        ppa_id=version.ppa_id,
        number=version.number,
        kind=version.kind,
        label=version.label,
        summary=version.summary,
        created_at=version.created_at,
        created_by=version.created_by,
        created_by_name=names.get(version.created_by),
        authors=list(version.authors),
        author_names={a: names[a] for a in version.authors if a in names},
        content_hash=version.content_hash,
        prev_chain_hash=version.prev_chain_hash,
        chain_hash=version.chain_hash,
        leaf_index=version.leaf_index,
        parent_number=version.parent_number,
        based_on=based_on,
        series_rank=version.series_rank,
        avenant_number=version.avenant_number,
        next_review=version.next_review,
        rules_edition=version.rules_edition,
        predates_rules=predated_rules(version.kind, version.rules_edition),
    )


async def _summaries(session: AsyncSession, versions: list[Version]) -> list[VersionSummary]:
    ids = {v.created_by for v in versions} | {a for v in versions for a in v.authors}
    ppa_id = versions[0].ppa_id if versions else None
    names = await repository.display_names(session, ids, ppa_id)
    return [_summary(v, names) for v in versions]


def _accords(rows: list[VersionAccord]) -> list[AccordRead]:
    return [AccordRead.model_validate(row) for row in rows]


async def _read(session: AsyncSession, version: Version) -> VersionRead:
    (summary,) = await _summaries(session, [version])
    accords = await repository.accords_of(session, version.ppa_id, [version.number])
    return VersionRead(
        **summary.model_dump(),
        content=service.content_of(version),
        accords=_accords(accords.get(version.number, [])),
    )


def _head(row: TreeHead | None) -> TreeHeadRead | None:
    if row is None:
        return None
    return TreeHeadRead(
        tree_size=row.tree_size,
        root_hash=row.root_hash.hex(),
        timestamp=row.timestamp,
        signature=row.signature.hex(),
        key_id=row.key_id,
    )


@router.get("/ppas/review-due", response_model=list[ReviewDueRead])
async def list_review_due(
    audit: Annotated[AuditTrail, audited("ppa.review_due")],
    session: SessionDep,
    within_days: int = Query(default=30, ge=0, le=3660, description="Due within this many days"),
) -> list[ReviewDueRead]:
    """Validated PPAs the caller may read whose review is due or overdue (HAS: yearly)."""
    today = service.local_day(datetime.now(PARIS))
    rows = await service.review_due(session, audit.principal, within_days, today)
    await audit.each("ppa", [(ppa.id, ppa.person_id) for ppa, _, _ in rows])
    result = []
    for ppa, version, timeline in rows:
        next_review = timeline.next_review or version.next_review
        if next_review is None:
            raise RuntimeError("version.next_review is None")
        result.append(
            ReviewDueRead(
                ppa_id=ppa.id,
                person_id=ppa.person_id,
                title=ppa.title,
                status=ppa.status,
                version_number=version.number,
                version_label=version.label,
                next_review=next_review,
                review_status=review_status(next_review, today, within_days).value,
                days_left=(next_review - today).days,
                echu=timeline.echu,
                echu_reasons=timeline.echu_reasons,
                period_end=timeline.period_end,
            )
        )
    return result


@router.get("/log/key", response_model=LogKeyRead)
async def get_log_key(session: SessionDep, principal: CurrentPrincipal, rt: Runtime) -> LogKeyRead:
    """The service's public key (auditors compare its id with the audit bundles') and latest
    signed tree head of the global log."""
    public = rt.key.public_key()
    return LogKeyRead(
        key_id=key_id(public),
        public_key_pem=public_key_to_pem(public).decode(),
        latest_head=_head(await latest_head(session)),
    )


async def _head_row(session: AsyncSession, size: int | None) -> TreeHead:
    row = (
        await latest_head(session)
        if size is None
        else await session.scalar(select(TreeHead).where(TreeHead.tree_size == size))
    )
    if row is None:
        raise NotFound("Aucune tête d'arbre signée de cette taille.")
    return row


@router.get("/log/heads/latest", response_model=TreeHeadRead)
async def get_latest_head(session: SessionDep, principal: CurrentPrincipal) -> TreeHeadRead:
    """The latest signed tree head of the global log (witnesses keep it: ``ppa audit verify
    --known-head``)."""
    head = _head(await _head_row(session, None))
    if head is None:
        raise RuntimeError("head is None")
    return head


@router.get("/log/heads/{tree_size}", response_model=TreeHeadRead)
async def get_head(
    tree_size: TreeSize, session: SessionDep, principal: CurrentPrincipal
) -> TreeHeadRead:
    """The signed tree head of the log when it had ``tree_size`` leaves (one per leaf)."""
    head = _head(await _head_row(session, tree_size))
    if head is None:
        raise RuntimeError("head is None")
    return head


@router.get("/log/consistency", response_model=ConsistencyRead, responses=error_responses(404))
async def get_consistency(
    session: SessionDep,
    principal: CurrentPrincipal,
    from_: int = Query(
        alias="from", ge=1, le=SQL_INT_MAX, description="Size of the earlier signed head"
    ),
    to: int | None = Query(
        default=None,
        ge=1,
        le=SQL_INT_MAX,
        description="Size of the later head (latest), at least from",
    ),
) -> ConsistencyRead:
    """RFC 9162 consistency proof from the head of size ``from`` to the head of size ``to``:
    a witness holding the earlier head checks that the log only grew."""
    new = await _head_row(session, to)
    old = await _head_row(session, from_)
    if old.tree_size > new.tree_size:
        raise InvalidInput("« from » doit être inférieur ou égal à « to ».")
    new_size, old_size = new.tree_size, old.tree_size

    def prove(sync: Any) -> list[bytes]:
        return tree(sync, new_size).consistency_proof(old_size, new_size)

    path = await session.run_sync(prove)
    return ConsistencyRead(old_size=old_size, new_size=new_size, path=[p.hex() for p in path])


@router.post(
    "/log/audit-checkpoints",
    response_model=AuditCheckpointRead | None,
    responses={403: {"description": "Réservé aux auditeurs et administrateurs"}},
)
async def seal_audit_trail(
    audit: Annotated[AuditTrail, audited("audit.seal", account=authz.audit_sealer)],
    session: SessionDep,
    rt: Runtime,
) -> AuditCheckpointRead | None:
    """Seal the audit events not sealed yet into the global log now (auditor and admin
    accounts); ``null`` when nothing was pending."""
    row = await seal_audit(session, rt.key, publish_dir=rt.publish_dir)
    audit.record("log", None, person_id=None, role=None)
    if row is None:
        return None
    return AuditCheckpointRead(
        seq=row.seq,
        first_seq=row.first_seq,
        last_seq=row.last_seq,
        events=row.last_seq - row.first_seq + 1,
        events_digest=row.events_digest,
        at=row.at,
        leaf_index=row.leaf_index,
        tree_size=row.leaf_index + 1,
    )


@router.get("/ppas/{ppa_id}/versions", response_model=list[VersionSummary])
async def list_versions(
    ppa_id: str, audit: Annotated[AuditTrail, audited("version.list")], session: SessionDep
) -> list[VersionSummary]:
    """The PPA's versions, oldest first (ESMS software: validated versions only)."""
    ppa = await repository.ppa_for_versions(session, audit.principal, ppa_id)
    versions = await repository.list_readable(session, audit.principal, ppa.id)
    await audit.ppa(ppa)
    return await _summaries(session, versions)


@router.post(
    "/ppas/{ppa_id}/versions",
    status_code=status.HTTP_201_CREATED,
    response_model=VersionSummary,
    responses=LOCKED_RESPONSES,
)
async def save_version(
    ppa_id: str,
    body: VersionCreate,
    audit: Annotated[AuditTrail, audited("version.save")],
    session: SessionDep,
    rt: Runtime,
) -> VersionSummary:
    """Save a named version of the live document ("Enregistrer une version")."""
    ppa = await authz.get_ppa(session, audit.principal, ppa_id, Capability.EDIT)
    version = await service.save_named(session, rt, audit.principal, ppa, body.label)
    await audit.ppa(ppa)
    (summary,) = await _summaries(session, [version])
    return summary


@router.get("/ppas/{ppa_id}/versions/{number}", response_model=VersionRead)
async def get_version(
    ppa_id: str,
    number: VersionNumber,
    audit: Annotated[AuditTrail, audited("version.read")],
    session: SessionDep,
) -> VersionRead:
    """One version: its content as JSON, hashes, authors and agreements."""
    ppa = await repository.ppa_for_versions(session, audit.principal, ppa_id)
    version = await repository.get_readable(session, audit.principal, ppa, number)
    await audit.ppa(ppa)
    return await _read(session, version)


def _authors(authors: tuple[Author, ...], names: dict[str, str]) -> list[AuthorRead]:
    return [
        AuthorRead(
            author=a.author, name=names.get(a.author), first_at=a.first_at, last_at=a.last_at
        )
        for a in authors
    ]


def _diff_items(diff: VersionDiff, names: dict[str, str]) -> list[ItemChangeRead]:
    return [
        ItemChangeRead(
            section=item.section,
            item_id=item.item_id,
            kind=item.kind.value,
            title=item.title,
            path=item.path,
            description=item.describe_fr(),
            fields=[
                FieldChangeRead(
                    field=f.field,
                    path=f.path,
                    label=f.label,
                    kind=f.kind,
                    old=f.old,
                    new=f.new,
                    old_labels=list(f.old_labels),
                    new_labels=list(f.new_labels),
                    segments=[SegmentRead(op=s.op, text=s.text) for s in f.segments],
                    authors=_authors(f.authors, names),
                )
                for f in item.fields
            ],
            authors=_authors(item.authors, names),
        )
        for item in diff.items
    ]


@router.get("/ppas/{ppa_id}/diff", response_model=DiffRead)
async def diff_versions(
    ppa_id: str,
    audit: Annotated[AuditTrail, audited("version.diff")],
    session: SessionDep,
    from_: int = Query(
        alias="from", ge=1, le=SQL_INTEGER_MAX, description="Version number to compare from"
    ),
    to: int = Query(ge=1, le=SQL_INTEGER_MAX, description="Version number to compare to"),
) -> DiffRead:
    """What changed between any two versions: items added / removed / changed, coded fields
    with their labels, word-level text, and who made each change and when."""
    ppa = await repository.ppa_for_versions(session, audit.principal, ppa_id)
    older = await repository.get_readable(session, audit.principal, ppa, from_)
    newer = await repository.get_readable(session, audit.principal, ppa, to)
    diff, source = await service.diff_versions(session, ppa, older, newer)
    ids = {a.author for item in diff.items for a in item.authors}
    names = await repository.display_names(session, ids, ppa.id)
    summaries = await _summaries(session, [older, newer])
    await audit.ppa(ppa)
    return DiffRead(
        ppa_id=ppa.id,
        from_version=summaries[0],
        to_version=summaries[1],
        summary=diff.summary_fr(),
        items=_diff_items(diff, names),
        authorship=source,
    )


@router.post(
    "/ppas/{ppa_id}/validate",
    status_code=status.HTTP_201_CREATED,
    response_model=VersionRead,
    responses={
        409: {
            "description": "Points bloquants à corriger (ValidationRefused : `problems` les liste, "
            "avec `code` et `severity`), PPA validé et verrouillé (Locked) ou état changé "
            "(Conflict)"
        },
        422: {"description": "Requête invalide, ou avenant touchant objectifs / besoins"},
    },
)
async def validate_ppa(
    ppa_id: str,
    guard: Guard,
    body: ValidateIn,
    audit: Annotated[AuditTrail, audited("ppa.validate")],
    session: SessionDep,
    rt: Runtime,
) -> VersionRead:
    """Validate the PPA (or the avenant in progress) with the recorded agreements: the version
    is frozen for ever and the live document turns read-only for everyone."""
    ppa = await authz.get_ppa(session, audit.principal, ppa_id, Capability.VALIDATE)
    s = body.structure
    personne = None
    if body.personne is not None:
        p = body.personne
        personne = service.AccordInput(p.mode, p.par, p.temoin, p.date, p.motif)
    representant = None
    if body.representant is not None:
        r = body.representant
        representant = service.RepresentativeInput(r.membre_id, r.mode, r.temoin, r.date, r.motif)
    version = await service.validate(
        session,
        rt,
        guard,
        audit.principal,
        ppa,
        service.AccordInput(AccordMode(s.mode), s.par, s.temoin, s.date),
        personne,
        representant,
    )
    await audit.ppa(ppa)
    return await _read(session, version)


async def _lifecycle_read(session: AsyncSession, ppa: PPA, base: Version) -> LifecycleRead:
    await session.refresh(ppa)
    (summary,) = await _summaries(session, [base])
    return LifecycleRead(ppa_id=ppa.id, status=ppa.status, locked=ppa.locked, base_version=summary)


@router.post("/ppas/{ppa_id}/avenant", response_model=LifecycleRead, responses=LOCKED_RESPONSES)
async def open_avenant(
    ppa_id: str,
    guard: Guard,
    audit: Annotated[AuditTrail, audited("ppa.avenant.open")],
    session: SessionDep,
    rt: Runtime,
) -> LifecycleRead:
    """Open an avenant from the validated version: the live document becomes editable again
    (actions, modalités, planning, prestations; not objectives nor besoins)."""
    ppa = await authz.get_ppa(session, audit.principal, ppa_id, Capability.VALIDATE)
    base = await service.open_avenant(session, rt, guard, audit.principal, ppa)
    await audit.ppa(ppa)
    return await _lifecycle_read(session, ppa, base)


@router.get(
    "/ppas/{ppa_id}/avenant/pending",
    response_model=PendingAvenantRead,
    responses={409: {"description": "Aucun avenant en cours (Conflict)"}},
)
async def pending_avenant(
    ppa_id: str,
    audit: Annotated[AuditTrail, audited("ppa.avenant.pending")],
    session: SessionDep,
    rt: Runtime,
) -> PendingAvenantRead:
    """What abandoning the avenant in progress would take out of the live document (kept as a
    checkpoint in the history): the changes since the validated version, with their authors."""
    ppa = await authz.get_ppa(session, audit.principal, ppa_id, Capability.VALIDATE)
    pending = await service.pending_avenant(session, rt, ppa)
    ids = {a.author for item in pending.diff.items for a in item.authors}
    names = await repository.display_names(session, ids, ppa.id)
    (base,) = await _summaries(session, [pending.base])
    await audit.ppa(ppa)
    return PendingAvenantRead(
        ppa_id=ppa.id,
        base_version=base,
        summary=pending.diff.summary_fr(),
        items=_diff_items(pending.diff, names),
    )


@router.post(
    "/ppas/{ppa_id}/avenant/abandon", response_model=LifecycleRead, responses=LOCKED_RESPONSES
)
async def abandon_avenant(
    ppa_id: str,
    guard: Guard,
    audit: Annotated[AuditTrail, audited("ppa.avenant.abandon")],
    session: SessionDep,
    rt: Runtime,
) -> LifecycleRead:
    """Abandon the avenant in progress (its draft is kept as a checkpoint)."""
    ppa = await authz.get_ppa(session, audit.principal, ppa_id, Capability.VALIDATE)
    base = await service.abandon_avenant(session, rt, guard, audit.principal, ppa)
    await audit.ppa(ppa)
    return await _lifecycle_read(session, ppa, base)


@router.get(
    "/ppas/{ppa_id}/versions/{number}/restore/preview",
    response_model=RestorePreviewRead,
    responses={409: {"description": "PPA verrouillé : rien n'est retiré (Conflict)"}},
)
async def restore_preview(
    ppa_id: str,
    number: VersionNumber,
    audit: Annotated[AuditTrail, audited("version.restore.preview")],
    session: SessionDep,
    rt: Runtime,
) -> RestorePreviewRead:
    """What restoring version ``number`` would take out of the live draft (kept as a
    checkpoint in the history): the changes since that version, each with its authors."""
    ppa = await authz.get_ppa(session, audit.principal, ppa_id, Capability.EDIT)
    source = await repository.get_readable(session, audit.principal, ppa, number)
    diff = await service.restore_preview(session, rt, ppa, source)
    ids = {a.author for item in diff.items for a in item.authors}
    names = await repository.display_names(session, ids, ppa.id)
    (summary,) = await _summaries(session, [source])
    await audit.ppa(ppa)
    return RestorePreviewRead(
        ppa_id=ppa.id, version=summary, summary=diff.summary_fr(), items=_diff_items(diff, names)
    )


@router.post(
    "/ppas/{ppa_id}/versions/{number}/restore",
    status_code=status.HTTP_201_CREATED,
    response_model=RestoreRead,
    responses=LOCKED_RESPONSES,
)
async def restore_version(
    ppa_id: str,
    number: VersionNumber,
    guard: Guard,
    audit: Annotated[AuditTrail, audited("version.restore")],
    session: SessionDep,
    rt: Runtime,
) -> RestoreRead:
    """Bring a version back as the new draft: into the live document when the PPA is editable,
    as a new draft PPA when it is validated. History and hashes stay untouched."""
    ppa = await authz.get_ppa(session, audit.principal, ppa_id, Capability.EDIT)
    source = await repository.get_readable(session, audit.principal, ppa, number)
    restored = await service.restore(session, rt, guard, audit.principal, ppa, source)
    await audit.ppa(ppa)
    if restored.new_ppa:
        await audit.ppa(restored.ppa, action="ppa.create")
    (summary,) = await _summaries(session, [restored.version])
    return RestoreRead(ppa_id=restored.ppa.id, new_ppa=restored.new_ppa, version=summary)


@router.post(
    "/ppas/{ppa_id}/revisions", status_code=status.HTTP_201_CREATED, response_model=RestoreRead
)
async def start_revision(
    ppa_id: str,
    audit: Annotated[AuditTrail, audited("ppa.create")],
    session: SessionDep,
    rt: Runtime,
) -> RestoreRead:
    """Start the revision of a PPA: a new PPA for the next period from its last validated
    version (the old one is superseded when the revision is validated)."""
    ppa = await authz.get_ppa(session, audit.principal, ppa_id, Capability.EDIT)
    created = await service.start_revision(session, rt, audit.principal, ppa)
    await audit.ppa(created.ppa)
    (summary,) = await _summaries(session, [created.version])
    return RestoreRead(ppa_id=created.ppa.id, new_ppa=True, version=summary)


@router.get("/ppas/{ppa_id}/history", response_model=HistoryRead)
async def get_history(
    ppa_id: str, audit: Annotated[AuditTrail, audited("ppa.history")], session: SessionDep
) -> HistoryRead:
    """Auditors: every version with its hashes, agreements and log leaf, the chain checked."""
    ppa = await authz.get_ppa(session, audit.principal, ppa_id, Capability.READ_AUDIT)
    found = await service.history(session, ppa)
    summaries = await _summaries(session, found.versions)
    await audit.ppa(ppa)
    return HistoryRead(
        ppa_id=ppa.id,
        versions=[
            HistoryEntry(
                **summary.model_dump(), accords=_accords(found.accords.get(summary.number, []))
            )
            for summary in summaries
        ],
        chain=ChainCheck(
            ok=found.chain.ok,
            checked=found.chain.checked,
            broken_number=found.chain.broken_number,
            reason=found.chain.reason,
        ),
        latest_head=_head(found.head),
    )


@router.get(
    "/ppas/{ppa_id}/audit-bundle",
    response_class=Response,
    responses={200: {"content": {"application/zip": {}}, "description": "Audit bundle (zip)"}},
)
async def get_audit_bundle(
    ppa_id: str,
    audit: Annotated[AuditTrail, audited("ppa.audit_bundle")],
    session: SessionDep,
    rt: Runtime,
    known_size: list[int] = Query(
        default=[],
        description="Sizes of signed heads already held (published sth-<size>.json): their "
        "heads are added, linked by consistency proofs",
    ),
) -> Response:
    """Auditors: every version's canonical content, the proofs, the signed tree heads and the
    service's public key, in a zip that ``ppa audit verify`` checks offline."""
    ppa = await authz.get_ppa(session, audit.principal, ppa_id, Capability.READ_AUDIT)
    data = await service.audit_bundle(session, rt, ppa, known_size[:50])
    await audit.ppa(ppa)
    return Response(
        content=data,
        media_type="application/zip",
        headers={
            "Content-Disposition": f'attachment; filename="{await _bundle_name(session, ppa)}"'
        },
    )


async def _bundle_name(session: AsyncSession, ppa: PPA) -> str:
    """``Dossier-audit-PPA-Lea-MARTIN-2026.zip``: the person's name and the year her projet
    starts in its last validated version (else the PPA's creation year), as the exports."""
    person = await session.get(Person, ppa.person_id)
    validated = await repository.last_validated(session, ppa.id)
    start = service.content_of(validated).projet.date_debut if validated is not None else None
    year = start.year if start is not None else ppa.created_at.year
    if person is None:
        return f"Dossier-audit-PPA-{year}.zip"
    family = person.used_name or person.birth_family_name
    return audit_bundle_filename(person.first_names, family, year)
