"""TDDUI import (flow 1 of TDDUI, ppa-collab as the consumer): a DUI's ``tddui-bundle``
transaction merged into the PPA it names, or made a new draft (use case 1, "previous PPA").

* The bundle is read and checked whole first (:func:`exports.tddui_import.read_bundle`: shape,
  TDDUI and every FR Core slice): a refusal lists every problem and writes nothing (422).
* The person is the one the Patient's INS names; the caller must edit her PPAs (a coordinator,
  a contributor, a structure's software granted ``contributor``), like the merge PATCH.
* The CarePlan identifier (system ``https://identifiant-medicosocial-projetpersonnalise...``)
  names a PPA of ours when it is the identifier our export gives it (``3+FINESS/<local id>-
  PPER-<n>``) or the one a previous import created it from: the bundle is then merged into its
  live draft through the merge PATCH's code path (:func:`server.versions_api.content_patch.
  merge_live`: Yjs operations in the live room, minimal text diffs, authored by the caller, a
  checkpoint), items matched by the id in their identifiers; a validated (locked) PPA is never
  modified (409). Otherwise a new draft is created with the bundle's content, the identifier it
  came with and the importing structure recorded.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from editor.schema import PPAContent
from exports.tddui_import import ImportRefused, TdduiImport, changed_paths, read_bundle
from server.auth.principal import Principal, PrincipalType
from server.errors import InvalidInput
from server.models import PPA, ApiClient, Person
from server.models.identity import Professional, Structure
from server.ppas import service as ppas
from server.ppas.documents import DocumentSource
from server.versions_api.content_patch import merge_live
from server.versions_api.runtime import LifecycleGuard, VersionsRuntime

Json = dict[str, Any]
INS_OIDS = {f"urn:oid:1.2.250.1.213.1.4.{n}": f"1.2.250.1.213.1.4.{n}" for n in (8, 9, 10, 11)}


@dataclass
class Imported:
    """The outcome of an import: the PPA written, whether it was created, the fields changed."""

    ppa: PPA
    created: bool
    changes: list[str]


def checked(bundle: Any) -> TdduiImport:
    """The bundle read and checked; 422 with every problem (path, French message) otherwise."""
    try:
        return read_bundle(bundle)
    except ImportRefused as refused:
        problems = [{"path": p, "message": m} for p, m in refused.problems]
        raise InvalidInput(
            f"Bundle TDDUI refusé : {len(problems)} problème(s), rien n'a été écrit.",
            extra={"problems": problems},
        ) from refused


async def person_of_ins(session: AsyncSession, bundle: TdduiImport) -> str | None:
    """The id of the person the bundle's INS names (any structure; authorisation comes next)."""
    person_id: str | None = await session.scalar(
        select(Person.id).where(
            Person.ins_oid == INS_OIDS.get(bundle.ins_system, ""),
            Person.ins_matricule == bundle.ins_value,
        )
    )
    return person_id


def same_person(person: Person, bundle: TdduiImport) -> None:
    if (INS_OIDS.get(bundle.ins_system), bundle.ins_value) != (
        person.ins_oid,
        person.ins_matricule,
    ):
        raise InvalidInput(
            "Le Patient du bundle (INS) n'est pas cette personne : rien n'a été écrit.",
            extra={
                "problems": [{"path": "Patient.identifier", "message": "INS d'une autre personne"}]
            },
        )


async def pper_identifiers(session: AsyncSession, person: Person) -> dict[str, PPA]:
    """The CarePlan identifiers naming each PPA of the person: the one our TDDUI export gives it
    (``3+FINESS/<local id>-PPER-<rank>``, as in :mod:`server.exports_api.context`) and the one
    it was imported from."""
    rows = list(
        await session.scalars(
            select(PPA).where(PPA.person_id == person.id).order_by(PPA.created_at, PPA.id)
        )
    )
    finess = {
        s.id: s.finess
        for s in await session.scalars(
            select(Structure).where(Structure.id.in_({p.structure_id for p in rows} - {None}))
        )
    }
    out: dict[str, PPA] = {}
    for rank, ppa in enumerate(rows, start=1):
        if ppa.structure_id in finess:
            out[f"3{finess[ppa.structure_id]}/{person.local_id or person.id}-PPER-{rank}"] = ppa
        if ppa.imported_identifier:
            out.setdefault(ppa.imported_identifier, ppa)
    return out


async def importer_structure(session: AsyncSession, principal: Principal) -> str | None:
    """The structure of the caller: its software's, else the professional's."""
    if principal.type is PrincipalType.API_CLIENT:
        client = await session.get(ApiClient, principal.id)
        return client.structure_id if client else None
    if principal.professional_id:
        pro = await session.get(Professional, principal.professional_id)
        return pro.structure_id if pro else None
    return None


async def import_bundle(
    session: AsyncSession,
    rt: VersionsRuntime,
    guard: LifecycleGuard,
    documents: DocumentSource,
    principal: Principal,
    person: Person,
    bundle: TdduiImport,
) -> Imported:
    """Merge ``bundle`` into the PPA it names, or create a draft from it (see the module)."""
    ppa = (await pper_identifiers(session, person)).get(bundle.careplan_identifier)
    if ppa is not None:
        before, after = await merge_live(
            session,
            rt,
            guard,
            ppa,
            principal,
            bundle.patch_for,
            if_match=None,
            label=f"Import TDDUI de {principal.display_name}",
        )
        return Imported(ppa, False, changed_paths(before, after))
    content = bundle.content()
    ppa = await ppas.create_ppa(
        session,
        documents,
        person=person,
        created_by=principal.id,
        title=None,
        content=content,
        previous=None,
    )
    ppa.imported_identifier = bundle.careplan_identifier[:200] or None
    ppa.imported_by_structure_id = await importer_structure(session, principal)
    await session.flush()
    empty = PPAContent().model_dump(mode="json")
    return Imported(ppa, True, changed_paths(empty, content.model_dump(mode="json")))
