"""PDSm (ANS, IHE MHD ITI-65) ``pdsm-comprehensive-provide-document-bundle`` of one CDA.

Pure: the same input gives the same bundle. Every ``urn:uuid`` derives from ``submission``
(one per transmission), so a retry sends the very same bundle, with the same document
``masterIdentifier`` (the CDA ``id``: system ``urn:oid:<root>``, value ``<extension>``) and the
same SubmissionSet ``uniqueId``: the DMP recognises a repeat.

Sources: PDSm 3.1.1 profiles (``PDSm_ComprehensiveDocumentReference``,
``PDSm_SubmissionSetComprehensive``, ``PDSm_ComprehensiveProvideDocumentBundle``), IHE MHD 4.2
Comprehensive; NOS code systems by their FHIR URLs. See docs/transmissions.md.
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from datetime import UTC, datetime
from typing import Any

from exports.cda import CdaDocument
from exports.context import OID_ID_NAT_PS, OID_ID_NAT_STRUCT, ExportInput, uuid_oid
from exports.xdm import SOURCE_ID

PDSM = "https://interop.esante.gouv.fr/ig/fhir/pdsm/StructureDefinition/"
BUNDLE_PROFILE = PDSM + "pdsm-comprehensive-provide-document-bundle"
DOCREF_PROFILE = PDSM + "pdsm-comprehensive-document-reference"
SUBMISSION_PROFILE = PDSM + "pdsm-submissionset-comprehensive"
NOS = "https://mos.esante.gouv.fr/NOS/"
TRE_A03 = NOS + "TRE_A03-ClasseDocument/FHIR/TRE-A03-ClasseDocument"
TRE_A11 = NOS + "TRE_A11-IheFormatCode/FHIR/TRE-A11-IheFormatCode"
TRE_R02 = NOS + "TRE_R02-SecteurActivite/FHIR/TRE-R02-SecteurActivite"
TRE_A01 = NOS + "TRE_A01-CadreExercice/FHIR/TRE-A01-CadreExercice"
LOINC = "http://loinc.org"
CONFIDENTIALITY = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality"
MHD_LIST_TYPES = "https://profiles.ihe.net/ITI/MHD/CodeSystem/MHDlistTypes"
MHD_EXT = "https://profiles.ihe.net/ITI/MHD/StructureDefinition/"
RFC3986 = "urn:ietf:rfc:3986"
PDF_FORMAT = "urn:ihe:iti:xds-sd:pdf:2008"


def _coding(system: str, code: str, display: str | None = None) -> dict[str, Any]:
    c = {"system": system, "code": code}
    if display:
        c["display"] = display
    return {"coding": [c]}


def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def master_identifier(cda: CdaDocument) -> dict[str, str]:
    """The document's global id: the CDA ``id`` (root OID, extension)."""
    return {"system": f"urn:oid:{cda.document_id_root}", "value": cda.document_id_extension}


def _patient_ref(inp: ExportInput) -> dict[str, Any]:
    p = inp.person
    return {"identifier": {"system": f"urn:oid:{p.ins_oid.value}", "value": p.ins}}


def _patient(inp: ExportInput) -> dict[str, Any]:
    p = inp.person
    gender = {"M": "male", "F": "female"}.get(p.sex.value, "unknown")
    return {
        "resourceType": "Patient",
        "id": "patient",
        "identifier": [{"system": f"urn:oid:{p.ins_oid.value}", "value": p.ins}],
        "name": [{"use": "official", "family": p.birth_family_name, "given": list(p.first_names)}],
        "gender": gender,
        "birthDate": p.birth_date.isoformat(),
    }


def _practitioner(inp: ExportInput, rid: str, legal: bool = False) -> dict[str, Any]:
    pro = inp.legal_authenticator if legal else inp.author
    return {
        "resourceType": "Practitioner",
        "id": rid,
        "identifier": [
            {
                "system": f"urn:oid:{OID_ID_NAT_PS}",
                "value": pro.id_nat_ps(inp.structure.finess),
                "type": _coding(
                    "https://hl7.fr/ig/fhir/core/CodeSystem/fr-core-cs-v2-0203", "IDNPS"
                ),
            }
        ],
        "name": [{"family": pro.family_name, "given": [pro.given_name]}],
    }


def _period(inp: ExportInput, cda: CdaDocument) -> dict[str, str]:
    start = cda.service_start
    period = {
        "start": start.isoformat() if start else _iso(inp.version.document_date),
    }
    if cda.service_stop:
        period["end"] = cda.service_stop.isoformat()
    return period


def document_reference(
    inp: ExportInput, cda: CdaDocument, entry_uuid: uuid.UUID, binary_uuid: uuid.UUID
) -> dict[str, Any]:
    s = inp.structure
    doc: dict[str, Any] = {
        "resourceType": "DocumentReference",
        "meta": {"profile": [DOCREF_PROFILE]},
        "contained": [
            _practitioner(inp, "auteur"),
            _practitioner(inp, "authentificateur", legal=True),
            _patient(inp),
        ],
        "masterIdentifier": master_identifier(cda),
        "identifier": [{"use": "official", "system": RFC3986, "value": f"urn:uuid:{entry_uuid}"}],
        "status": "current",
        "type": _coding(LOINC, cda.doc_type.code, cda.doc_type.display),
        "category": [_coding(TRE_A03, cda.doc_type.class_code, cda.doc_type.class_display)],
        "subject": _patient_ref(inp),
        "date": _iso(inp.version.document_date),
        "author": [{"reference": "#auteur"}],
        "authenticator": {"reference": "#authentificateur"},
        "custodian": {
            "identifier": {"system": f"urn:oid:{OID_ID_NAT_STRUCT}", "value": s.id_nat_struct},
            "display": s.name,
        },
        "description": inp.version.label,
        "securityLabel": [_coding(CONFIDENTIALITY, "N", "normal")],
        "content": [
            {
                "attachment": {
                    "contentType": "text/xml",
                    "language": "fr-FR",
                    "url": f"urn:uuid:{binary_uuid}",
                    "size": cda.size,
                    "hash": base64.b64encode(
                        hashlib.sha1(cda.xml, usedforsecurity=False).digest()
                    ).decode(),
                    "title": cda.title,
                    "creation": _iso(cda.effective_time),
                },
                "format": _coding(TRE_A11, PDF_FORMAT, "Document à corps non structuré en PDF"),
            }
        ],
        "context": {
            "period": _period(inp, cda),
            "facilityType": _coding(TRE_R02, s.facility_type_code, s.facility_type_label),
            "practiceSetting": _coding(TRE_A01, s.practice_setting_code, s.practice_setting_label),
            "sourcePatientInfo": {"reference": "#patient"},
        },
    }
    replaced = replaced_identifier(cda)
    if replaced is not None:
        doc["relatesTo"] = [{"code": "replaces", "target": {"identifier": replaced}}]
    return doc


def replaced_identifier(cda: CdaDocument) -> dict[str, str] | None:
    """The ``masterIdentifier`` of the version this one replaces (same series, rank - 1)."""
    if cda.version_number <= 1:
        return None
    return {"system": f"urn:oid:{cda.document_id_root}", "value": str(cda.version_number - 1)}


def submission_set(
    inp: ExportInput, cda: CdaDocument, submission: uuid.UUID, docref_uuid: uuid.UUID
) -> dict[str, Any]:
    s = inp.structure
    author = inp.author
    return {
        "resourceType": "List",
        "meta": {"profile": [SUBMISSION_PROFILE]},
        "contained": [
            {
                "resourceType": "PractitionerRole",
                "id": "source-auteur",
                "identifier": [
                    {
                        "system": f"urn:oid:{OID_ID_NAT_PS}",
                        "value": author.id_nat_ps(s.finess),
                    }
                ],
            }
        ],
        "extension": [
            {
                "url": MHD_EXT + "ihe-designationType",
                "valueCodeableConcept": _coding(
                    TRE_R02, s.facility_type_code, s.facility_type_label
                ),
            },
            {
                "url": MHD_EXT + "ihe-sourceId",
                "valueIdentifier": {"system": RFC3986, "value": f"urn:oid:{SOURCE_ID}"},
            },
        ],
        "identifier": [
            {"use": "usual", "system": RFC3986, "value": f"urn:oid:{uuid_oid(submission)}"},
            {"use": "official", "system": RFC3986, "value": f"urn:uuid:{submission}"},
        ],
        "status": "current",
        "mode": "working",
        "title": cda.title,
        "code": _coding(MHD_LIST_TYPES, "submissionset"),
        "subject": _patient_ref(inp),
        "date": _iso(inp.version.document_date),
        "source": {"reference": "#source-auteur"},
        "entry": [{"item": {"reference": f"urn:uuid:{docref_uuid}"}}],
    }


def provide_bundle(inp: ExportInput, cda: CdaDocument, submission: uuid.UUID) -> dict[str, Any]:
    """The ITI-65 transaction depositing ``cda``."""
    docref = uuid.uuid5(submission, "document-reference")
    binary = uuid.uuid5(submission, "binary")
    list_uuid = uuid.uuid5(submission, "submission-set")

    def entry(u: uuid.UUID, resource: dict[str, Any]) -> dict[str, Any]:
        return {
            "fullUrl": f"urn:uuid:{u}",
            "resource": resource,
            "request": {"method": "POST", "url": resource["resourceType"]},
        }

    return {
        "resourceType": "Bundle",
        "meta": {"profile": [BUNDLE_PROFILE]},
        "type": "transaction",
        "timestamp": _iso(inp.version.document_date),
        "entry": [
            entry(list_uuid, submission_set(inp, cda, submission, docref)),
            entry(docref, document_reference(inp, cda, docref, binary)),
            entry(
                binary,
                {
                    "resourceType": "Binary",
                    "contentType": "text/xml",
                    "data": base64.b64encode(cda.xml).decode(),
                },
            ),
        ],
    }
