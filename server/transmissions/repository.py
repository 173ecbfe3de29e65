"""Queries of the transmissions: recipients (cercle, directory, the person's MDPH), listings."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.errors import Conflict, InvalidInput
from server.models import CercleMember, Person, Professional, Structure
from server.models.transmissions import Transmission


def _structure_departement(structure: Structure) -> str:
    return structure.departement or structure.finess[:2]


async def mdph_of_person(session: AsyncSession, person_id: str) -> dict[str, Any]:
    """The MDPH of the person's département: the structure of kind ``mdph`` of the département
    of the person's structure (its ``departement``, else its FINESS's first two characters)."""
    person = await session.get(Person, person_id)
    home = (
        await session.get(Structure, person.structure_id)
        if person and person.structure_id
        else None
    )
    if home is None:
        raise Conflict(
            "La personne n'est rattachée à aucune structure : le département de sa MDPH est "
            "inconnu. Indiquez la MDPH en destinataire."
        )
    dep = _structure_departement(home)
    mdph = await session.scalar(
        select(Structure)
        .where(Structure.kind == "mdph", Structure.departement == dep)
        .order_by(Structure.created_at)
        .limit(1)
    )
    if mdph is None or not mdph.mss_address:
        raise Conflict(
            f"Aucune MDPH avec une adresse MSSanté n'est enregistrée pour le département {dep} : "
            "ajoutez-la à l'annuaire des structures (type mdph) ou indiquez-la en destinataire."
        )
    return {"kind": "structure", "id": mdph.id, "address": mdph.mss_address, "label": mdph.name}


async def cercle_professional(
    session: AsyncSession, person_id: str, professional_id: str
) -> dict[str, Any]:
    """A professional of the person's cercle (not opposed) with an MSSanté address."""
    row = (
        await session.execute(
            select(Professional)
            .join(CercleMember, CercleMember.professional_id == Professional.id)
            .where(
                Professional.id == professional_id,
                CercleMember.person_id == person_id,
                CercleMember.opposed.is_(False),
            )
            .limit(1)
        )
    ).scalar()
    if row is None:
        raise InvalidInput(
            "Ce professionnel n'est pas membre du cercle de la personne (ou la personne s'y "
            "oppose) : il ne peut pas recevoir son PPA."
        )
    if not row.mss_address:
        raise InvalidInput(
            f"{row.first_name} {row.last_name.upper()} n'a pas d'adresse MSSanté enregistrée."
        )
    name = f"{row.first_name} {row.last_name.upper()}"
    return {"kind": "professional", "id": row.id, "address": row.mss_address, "label": name}


async def directory_structure(session: AsyncSession, structure_id: str) -> dict[str, Any]:
    structure = await session.get(Structure, structure_id)
    if structure is None:
        raise InvalidInput("Structure introuvable dans l'annuaire.")
    if not structure.mss_address:
        raise InvalidInput(f"La structure {structure.name} n'a pas d'adresse MSSanté enregistrée.")
    return {
        "kind": "structure",
        "id": structure.id,
        "address": structure.mss_address,
        "label": structure.name,
    }


async def of_version(session: AsyncSession, ppa_id: str, number: int) -> list[Transmission]:
    return list(
        await session.scalars(
            select(Transmission)
            .where(Transmission.ppa_id == ppa_id, Transmission.version_number == number)
            .order_by(Transmission.created_at, Transmission.id)
        )
    )
