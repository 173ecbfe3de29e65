"""Build the renderers' :class:`exports.context.ExportInput` from an immutable stored version.

The version row gives the content and its metadata; the people it refers to (the person's INS
identity, the structure, the professionals) are frozen once per version in ``export_contexts``
(at validation, or at the first export of a version that is not validated), so that the same
version always renders the same bytes, whatever is edited in the directory afterwards.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime

from pydantic import BaseModel, ConfigDict
from sqlalchemy import and_, func, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from editor.schema import ModeAccord, PPAContent, TypeAccord
from editor.text_rules import find_illegal_chars
from exports.context import (
    AccordRecord,
    ExportInput,
    InsOid,
    Sexe,
    VersionKind,
    VersionMeta,
)
from exports.context import Person as ExportPerson
from exports.context import Professional as ExportProfessional
from exports.context import RelatedPerson as ExportRelated
from exports.context import Structure as ExportStructure
from server.cercle.rules import MEASURE_LABELS
from server.db import utcnow
from server.errors import Conflict
from server.exports_api.repository import VALIDATED_KIND_VALUES, validated_before
from server.models import (
    PPA,
    CercleMember,
    Person,
    Professional,
    Structure,
    User,
    Version,
    VersionAccord,
)
from server.models.exports import ExportContext
from server.models.person import MemberKind, ProtectionMeasure, Role
from versions.canonical import canonical_json, content_from_canonical, sha256_hex

SERIES_NAMESPACE = uuid.UUID("0b7f3a52-8d6e-4c1e-9f0a-5e2d7c4b1a93")
"""Namespace of the CDA document series id (setId) derived from the PPA id."""

FACILITY_TYPES = {
    # TRE_R02 SecteurActivite (JDV_J02 XdsHealthcareFacilityTypeCode-CISIS), the codes of the
    # medico-social sector; from the ANS vocabulary file voc-1.2.250.1.213.1.1.5.466.
    "SA05": "Centre de santé",
    "SA16": "Etablissement pour personnes handicapées",
    "SA17": "Etablissement pour personnes âgées",
    "SA18": "Etablissement aide à la famille",
    "SA20": "Etablissement pour la protection de l'enfance",
    "SA21": "Etablissement d'hébergement et de réadaptation",
    "SA28": "Association ou organisme humanitaire",
    "SA41": "Autre établissement du domaine social ou médico-social",
    "SA43": "Secteur non défini",
}


class FrozenContext(BaseModel):
    """The non-version part of an export, as frozen in ``export_contexts.data``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    person: ExportPerson
    structure: ExportStructure
    professionals: dict[str, ExportProfessional]
    author_id: str
    legal_authenticator_id: str | None = None
    ppa_number: int = 1
    related: dict[str, ExportRelated] = {}
    """The person's legal representatives and aidants at the time (contexts frozen before:
    none)."""


def export_kind(kind: str) -> VersionKind:
    """Exports' kind of a stored version kind: validations and avenants, else a working copy."""
    if kind == VersionKind.VALIDATED.value:
        return VersionKind.VALIDATED
    if kind == VersionKind.AVENANT.value:
        return VersionKind.AVENANT
    return VersionKind.CHECKPOINT


def series_id(ppa_id: str) -> uuid.UUID:
    """Stable id of the PPA's document series (CDA setId)."""
    return uuid.uuid5(SERIES_NAMESPACE, ppa_id)


def _referenced_ids(contents: Iterable[PPAContent]) -> set[str]:
    ids: set[str] = set()
    for content in contents:
        for objectif in content.objectifs:
            if objectif.referent_id:
                ids.add(objectif.referent_id)
        for action in content.actions:
            if action.referent_id:
                ids.add(action.referent_id)
            ids.update(action.intervenant_ids)
        ids.update(a.par for a in content.accords if a.par)
        if content.bilan.redige_par:
            ids.add(content.bilan.redige_par)
    return ids


def _export_person(person: Person) -> ExportPerson:
    return ExportPerson(
        ins=person.ins_matricule,
        ins_oid=InsOid(person.ins_oid),
        birth_family_name=person.birth_family_name,
        used_name=person.used_name or "",
        first_names=tuple(person.first_names.split()) or (person.first_names,),
        birth_date=person.birth_date,
        sex=Sexe.INDETERMINE if person.sex not in ("M", "F") else Sexe(person.sex),
        birthplace_insee=person.birthplace_insee,
        local_id=person.local_id or person.id,
    )


def _export_structure(structure: Structure) -> ExportStructure:
    code = structure.facility_type_code
    return ExportStructure(
        finess=structure.finess,
        name=structure.name,
        facility_type_code=code,
        facility_type_label=FACILITY_TYPES.get(code, FACILITY_TYPES["SA43"]),
    )


async def _build(
    session: AsyncSession, ppa: PPA, version: Version, contents: list[PPAContent]
) -> FrozenContext:
    person = await session.get(Person, ppa.person_id)
    if person is None:
        raise RuntimeError("person is None")  # foreign key
    structure_id = ppa.structure_id or person.structure_id
    structure = await session.get(Structure, structure_id) if structure_id else None
    if structure is None:
        raise Conflict(
            "Ce PPA n'est rattaché à aucune structure (FINESS) : export impossible. "
            "Rattachez la personne à sa structure d'accompagnement."
        )
    users = [version.created_by, *version.authors]
    user_pros = dict(
        (
            await session.execute(
                select(User.id, User.professional_id).where(
                    User.id.in_(users), User.professional_id.is_not(None)
                )
            )
        ).all()
    )
    members = list(
        (
            await session.execute(
                select(CercleMember.professional_id, CercleMember.role)
                .where(
                    CercleMember.person_id == person.id,
                    CercleMember.professional_id.is_not(None),
                    CercleMember.opposed.is_(False),
                )
                .order_by(CercleMember.created_at, CercleMember.id)
            )
        ).all()
    )
    wanted = _referenced_ids(contents) | {p for p in user_pros.values() if p}
    wanted |= {pid for pid, _ in members if pid}
    # Free texts (``par``, ``redige_par``) may name people: a text holding a character no id
    # holds is not looked up (PostgreSQL refuses NUL in a query parameter).
    wanted = {pid for pid in wanted if not find_illegal_chars(pid)}
    rows = list(await session.scalars(select(Professional).where(Professional.id.in_(wanted))))
    structures = {
        s.id: s
        for s in await session.scalars(
            select(Structure).where(Structure.id.in_({p.structure_id for p in rows}))
        )
    }
    pros: dict[str, ExportProfessional] = {}
    for pro in sorted(rows, key=lambda p: p.id):
        where = structures.get(pro.structure_id or "")
        pros[pro.id] = ExportProfessional(
            id=pro.id,
            family_name=pro.last_name,
            given_name=pro.first_name,
            rpps=pro.rpps,
            profession_label=pro.profession,
            structure_finess=where.finess if where else None,
            structure_name=where.name if where else "",
            local_id=pro.id,
        )
    candidates = [user_pros.get(u) for u in users]
    candidates += [pid for pid, role in members if role == Role.COORDINATOR.value]
    candidates += [pid for pid, _ in members]
    author = next((p for p in candidates if p and p in pros), None)
    if author is None:
        raise Conflict(
            "Aucun professionnel du cercle ne peut être indiqué comme auteur du document : "
            "export impossible."
        )
    validator = user_pros.get(version.created_by)
    legal = validator if version.kind in VALIDATED_KIND_VALUES and validator in pros else None
    ppa_number = await session.scalar(
        select(func.count(PPA.id)).where(
            PPA.person_id == person.id,
            or_(
                PPA.created_at < ppa.created_at,
                and_(PPA.created_at == ppa.created_at, PPA.id <= ppa.id),
            ),
        )
    )
    return FrozenContext(
        person=_export_person(person),
        structure=_export_structure(structure),
        professionals=pros,
        author_id=author,
        legal_authenticator_id=legal,
        ppa_number=max(int(ppa_number or 1), 1),
        related=await _related(session, person.id),
    )


async def _related(session: AsyncSession, person_id: str) -> dict[str, ExportRelated]:
    """The person's legal representatives and aidants in her cercle, by member id (named by a
    meeting, a bilan, an agreement)."""
    rows = await session.scalars(
        select(CercleMember)
        .where(
            CercleMember.person_id == person_id,
            CercleMember.kind.in_([MemberKind.LEGAL_REPRESENTATIVE.value, MemberKind.AIDANT.value]),
        )
        .order_by(CercleMember.created_at, CercleMember.id)
    )
    out: dict[str, ExportRelated] = {}
    for member in rows:
        measure = (
            MEASURE_LABELS.get(ProtectionMeasure(member.mesure))
            if member.mesure in {m.value for m in ProtectionMeasure}
            else None
        )
        out[member.id] = ExportRelated(
            id=member.id,
            name=member.display_name,
            measure=measure or "",
            scope=member.mesure_portee or "",
        )
    return out


async def frozen_context(
    session: AsyncSession,
    ppa: PPA,
    version: Version,
    contents: list[PPAContent] | None = None,
) -> FrozenContext:
    """The version's frozen context, created now if it does not exist yet.

    Concurrent first exports of the same version race on the primary key; the loser's insert
    is a no-op (``ON CONFLICT DO NOTHING``) and both read the winner's row.
    """
    row = await session.get(ExportContext, (ppa.id, version.number))
    if row is None:
        if contents is None:
            contents = [content_from_canonical(v.content) for v in (version,)]
            contents += [
                content_from_canonical(v.content)
                for v in await validated_before(session, ppa.id, version.number)
            ]
        built = await _build(session, ppa, version, contents)
        data = canonical_json(built.model_dump(mode="json"))
        values = {
            "ppa_id": ppa.id,
            "version_number": version.number,
            "data": data,
            "data_hash": sha256_hex(data),
            "created_at": utcnow(),
        }
        dialect = session.get_bind().dialect.name
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        await session.execute(insert(ExportContext).values(**values).on_conflict_do_nothing())
        row = await session.get(ExportContext, (ppa.id, version.number), populate_existing=True)
        if row is None:
            raise RuntimeError("row is None")
    return FrozenContext.model_validate_json(row.data)


def _accords(
    rows: list[VersionAccord],
    pros: dict[str, ExportProfessional],
    related: dict[str, ExportRelated],
) -> list[AccordRecord]:
    out = []
    for row in rows:
        pro = pros.get(row.par)
        # a legal representative's agreement names him by his member id (rule 3)
        rel = related.get(row.par) if row.type == TypeAccord.REPRESENTANT.value else None
        out.append(
            AccordRecord(
                id=f"accord-{row.version_number}-{row.position}",
                type=TypeAccord(row.type),
                mode=ModeAccord(row.mode),
                by=rel.name if rel else pro.display_name if pro else row.par,
                by_professional_id=pro.id if pro else None,
                by_related_id=rel.id if rel else None,
                witness=row.temoin,
                date=row.date,
                reason=row.motif,
            )
        )
    return out


async def export_input(
    session: AsyncSession, ppa: PPA, version: Version, *, generated_at: datetime | None = None
) -> ExportInput:
    """The complete renderer input of ``version``.

    ``previous_contents`` = the PPA's validated versions before this one, oldest first (agenda
    SEQUENCE and CANCELLED, MDPH base = the last one). ``generated_at`` defaults to the
    version's own date, so that even XDM (``submissionTime``) is byte-stable per version.
    """
    content = content_from_canonical(version.content)
    previous = await validated_before(session, ppa.id, version.number)
    previous_contents = [content_from_canonical(v.content) for v in previous]
    ctx = await frozen_context(session, ppa, version, [content, *previous_contents])
    kind = export_kind(version.kind)
    validated_at = None if kind.is_draft else version.created_at
    base_version = None
    avenant_number = None
    if kind is VersionKind.AVENANT:
        base_version = previous[-1].number if previous else None
        avenant_number = (
            version.avenant_number
            or sum(1 for v in previous if v.kind == VersionKind.AVENANT.value) + 1
        )
    rank = version.series_rank or (len(previous) + (0 if kind.is_draft else 1)) or 1
    meta = VersionMeta(
        ppa_id=ppa.id,
        number=version.number,
        kind=kind,
        label=version.label,
        content_hash=version.content_hash,
        created_at=version.created_at,
        validated_at=validated_at,
        next_review=version.next_review,
        series_id=series_id(ppa.id),
        series_version=rank,
        avenant_number=avenant_number,
        base_version=base_version,
        ppa_number=ctx.ppa_number,
    )
    accord_rows = list(
        await session.scalars(
            select(VersionAccord)
            .where(VersionAccord.ppa_id == ppa.id, VersionAccord.version_number == version.number)
            .order_by(VersionAccord.position)
        )
    )
    return ExportInput(
        content=content,
        version=meta,
        person=ctx.person,
        structure=ctx.structure,
        professionals=ctx.professionals,
        accords=tuple(_accords(accord_rows, ctx.professionals, ctx.related)),
        related_persons=ctx.related,
        author_id=ctx.author_id,
        legal_authenticator_id=ctx.legal_authenticator_id,
        previous_contents=tuple(previous_contents),
        generated_at=generated_at or meta.document_date,
    )
