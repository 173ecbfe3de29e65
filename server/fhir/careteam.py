"""The cercle of a person as a CDS 2.0.1 ``cds-ihe-careteam`` CareTeam.

Profile ``https://interop.esante.gouv.fr/ig/fhir/cds/StructureDefinition/cds-ihe-careteam``:
identifier 1..1, status, name, subject (the person, by INS identifier), ``period.start``, one
``participant`` per member with ``period.start`` (when the member joined). Members are contained
resources (CDS: ``as-practitionerrole``, ``cds-fr-related-person``, ``cds-organization``): a
PractitionerRole naming the professional by idNat_PS, a RelatedPerson for an aidant or a legal
representative, an Organization (idNat_Struct) for a structure's software. Members the person
opposed are absent, as are auditors (they review, they do not accompany). A member who left
(removed from the cercle: :class:`server.models.CercleDeparture`) stays listed with
``period.end``; rejoining is a new participant entry. Roles: TRE_R260
``CAREGIVER`` (aidant) and ``GUARD`` (représentant légal), others by their French label.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from exports.context import EXPORT_NAMESPACE, OID_ID_NAT_PS, OID_ID_NAT_STRUCT
from exports.fhir import FR_CORE_V2_0203
from server.models import CercleDeparture, CercleMember, Person
from server.models.identity import Professional, Structure
from server.models.person import MemberKind, Role

Json = dict[str, Any]

CDS = "https://interop.esante.gouv.fr/ig/fhir/cds"
CARETEAM_PROFILE = CDS + "/StructureDefinition/cds-ihe-careteam"
TRE_R260 = "https://mos.esante.gouv.fr/NOS/TRE_R260-HL7RoleClass/FHIR/TRE-R260-HL7RoleClass"
CARETEAM_ID_SYSTEM = "urn:ietf:rfc:3986"

ROLE_LABELS = {
    Role.COORDINATOR: "Coordinateur du PPA",
    Role.CONTRIBUTOR: "Contributeur",
    Role.READER: "Lecteur",
    Role.AIDANT: "Aidant",
    Role.ESMS: "Logiciel de la structure",
}
KIND_CODES = {MemberKind.AIDANT: "CAREGIVER", MemberKind.LEGAL_REPRESENTATIVE: "GUARD"}


def _instant(dt: datetime) -> str:
    return dt.isoformat(timespec="seconds") + ("" if dt.tzinfo else "Z")


def patient_reference(person: Person) -> Json:
    """A logical reference to the person by INS (no Patient resource is served)."""
    return {
        "type": "Patient",
        "identifier": {"system": f"urn:oid:{person.ins_oid}", "value": person.ins_matricule},
    }


def _member(
    m: CercleMember | CercleDeparture,
    cid: str,
    pros: dict[str, Professional],
    structures: dict[str, Structure],
    patient: Json,
) -> Json | None:
    kind = MemberKind(m.kind)
    if kind is MemberKind.PROFESSIONAL:
        pro = pros.get(m.professional_id or "")
        practitioner: Json = {"display": m.display_name}
        if pro is not None and pro.rpps:
            practitioner["identifier"] = {
                "type": {"coding": [{"system": FR_CORE_V2_0203, "code": "IDNPS"}]},
                "system": f"urn:oid:{OID_ID_NAT_PS}",
                "value": "8" + pro.rpps,
            }
        return {"resourceType": "PractitionerRole", "id": cid, "practitioner": practitioner}
    if kind in (MemberKind.AIDANT, MemberKind.LEGAL_REPRESENTATIVE):
        return {
            "resourceType": "RelatedPerson",
            "id": cid,
            "patient": patient,
            "relationship": [
                {"coding": [{"system": TRE_R260, "code": KIND_CODES[kind]}]},
            ],
            "name": [{"text": m.display_name}],
        }
    if kind is MemberKind.STRUCTURE_SYSTEM:
        return {"resourceType": "Organization", "id": cid, "name": m.display_name}
    return None


def careteam(
    person: Person,
    members: list[CercleMember],
    pros: dict[str, Professional],
    structures: dict[str, Structure],
    client_structures: dict[str, str],
    departures: Sequence[CercleDeparture] = (),
) -> Json:
    """The CareTeam of ``person`` (``members``: the cercle rows, opposed ones included;
    ``departures``: the members who left, listed with their ``period.end``)."""
    patient = patient_reference(person)
    contained: list[Json] = []
    participants: list[Json] = []
    entries: list[tuple[datetime, str, CercleMember | CercleDeparture, datetime | None]] = [
        (m.created_at, m.id, m, None) for m in members
    ] + [(d.joined_at, d.id, d, d.created_at) for d in departures]
    for start, _, m, left_at in sorted(entries, key=lambda e: (e[0], e[1])):
        if m.opposed or m.kind in (MemberKind.AUDITOR.value, MemberKind.PERSON.value):
            continue
        cid = f"m{len(contained) + 1}"
        res = _member(m, cid, pros, structures, patient)
        if res is None:
            continue
        structure = structures.get(client_structures.get(m.api_client_id or "", ""))
        if res["resourceType"] == "Organization" and structure is not None:
            res["identifier"] = [
                {
                    "use": "official",
                    "type": {"coding": [{"system": FR_CORE_V2_0203, "code": "IDNST"}]},
                    "system": f"urn:oid:{OID_ID_NAT_STRUCT}",
                    "value": "1" + structure.finess,
                }
            ]
        contained.append(res)
        role: Json = {"text": ROLE_LABELS.get(Role(m.role), m.role)}
        if MemberKind(m.kind) in KIND_CODES:
            code = KIND_CODES[MemberKind(m.kind)]
            role["coding"] = [{"system": TRE_R260, "code": code}]
        participants.append(
            {
                "role": [role],
                "member": {"reference": "#" + cid, "display": m.display_name},
                "period": {
                    "start": _instant(start),
                    **({"end": _instant(left_at)} if left_at is not None else {}),
                },
            }
        )
    return {
        "resourceType": "CareTeam",
        "id": person.id,
        "meta": {"profile": [CARETEAM_PROFILE]},
        "contained": contained,
        "identifier": [
            {
                "system": CARETEAM_ID_SYSTEM,
                "value": f"urn:uuid:{uuid.uuid5(EXPORT_NAMESPACE, 'careteam:' + person.id)}",
            }
        ],
        "status": "active",
        "name": "Cercle de santé et d'accompagnement",
        "subject": patient,
        "period": {"start": _instant(person.created_at)},
        "participant": participants,
    }
