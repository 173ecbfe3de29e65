"""DMP flux A: CDA R2 level 1 (PDF in ``nonXMLBody``) and its XDS metadata.

Header per the ANS example ``DOC_NON_STRUCTURE_CDA-R2-N1.xml`` (TestContenuCDA-3-0): realmCode FR,
typeId, templateIds (HL7 France, CI-SIS, IHE XDS-SD), document id, LOINC type ``80788-3``, title,
effectiveTime, confidentiality ``N``, ``fr-FR``, setId + versionNumber (the same setId for every
version and avenant of a PPA, so the DMP replaces the previous one; from the second version on,
a ``relatedDocument`` RPLC points to the replaced document), recordTarget with the INS,
author (idNat_PS), custodian (idNat_Struct ``1`` + FINESS), legalAuthenticator,
documentationOf/serviceEvent (practiceSettingCode ESSMS), componentOf/encompassingEncounter
(healthcareFacilityTypeCode). :func:`xds_metadata` derives the XDS DocumentEntry values from
the same input, as the CI-SIS CDA -> XDS mapping does.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.resources
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache
from typing import Any

from lxml import etree

from exports.context import (
    OID_ID_NAT_PS,
    OID_ID_NAT_STRUCT,
    ExportInput,
    Person,
    Professional,
    uuid_oid,
)
from exports.local_time import PARIS
from exports.pdf import render_pdf

NS = "urn:hl7-org:v3"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
LOINC = "2.16.840.1.113883.6.1"
OID_PROFESSION = "1.2.250.1.213.1.1.4.5"
OID_PRACTICE_SETTING = "1.2.250.1.213.1.1.4.9"
OID_FACILITY_TYPE = "1.2.250.1.71.4.2.4"
OID_CLASS_CODE = "1.2.250.1.213.1.1.4.1"
OID_FORMAT_CODE = "1.2.250.1.213.1.1.4.2.282"
OID_CONFIDENTIALITY = "2.16.840.1.113883.5.25"
OID_GENDER = "2.16.840.1.113883.5.1"


@dataclass(frozen=True)
class DocType:
    """Type of the DMP document (XDS typeCode / classCode)."""

    code: str = "80788-3"
    display: str = "Projet personnalisé d'accompagnement"
    class_code: str = "44"
    class_display: str = "Plan de soins, protocole de soins"


PPA_DOC = DocType()


@dataclass(frozen=True)
class CdaDocument:
    """A rendered CDA document with the values the XDS metadata needs."""

    xml: bytes
    document_id_root: str
    document_id_extension: str
    set_id: str
    version_number: int
    doc_type: DocType
    title: str
    effective_time: datetime
    service_start: date | None
    service_stop: date | None
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def unique_id(self) -> str:
        """XDS uniqueId (``root^extension``)."""
        return f"{self.document_id_root}^{self.document_id_extension}"

    @property
    def sha1(self) -> str:
        """SHA-1 of the document bytes (XDS ``hash``)."""
        # XDS.b (ITI-41) mandates SHA-1 for the metadata slot: an integrity tag, not security.
        return hashlib.sha1(self.xml, usedforsecurity=False).hexdigest()

    @property
    def size(self) -> int:
        """Size in bytes (XDS ``size``)."""
        return len(self.xml)


def _ts(dt: datetime) -> str:
    """CDA TS with seconds and offset, in Europe/Paris time."""
    local = dt.astimezone(PARIS)
    return local.strftime("%Y%m%d%H%M%S%z")


def _d(d: date) -> str:
    return d.strftime("%Y%m%d")


def _el(parent: etree._Element, tag: str, text: str | None = None, **attrs: str) -> etree._Element:
    e = etree.SubElement(parent, f"{{{NS}}}{tag}", {k: v for k, v in attrs.items() if v})
    if text is not None:
        e.text = text
    return e


def document_id_root(inp: ExportInput) -> str:
    """OID root of the documents of this PPA series (document id = root + version number)."""
    return uuid_oid(uuid.uuid5(inp.version.series_id, "cda-document"))


def set_id(inp: ExportInput, kind: str = "ppa") -> str:
    """setId of the series (stable across versions and avenants)."""
    return uuid_oid(uuid.uuid5(inp.version.series_id, f"cda-set-{kind}"))


def _person(parent: etree._Element, tag: str, pro: Professional) -> None:
    person = _el(parent, tag)
    name = _el(person, "name")
    _el(name, "given", pro.given_name)
    _el(name, "family", pro.family_name.upper())


def _organization(parent: etree._Element, tag: str, inp: ExportInput) -> etree._Element:
    org = _el(parent, tag)
    _el(org, "id", root=OID_ID_NAT_STRUCT, extension=inp.structure.id_nat_struct)
    _el(org, "name", inp.structure.name)
    return org


def _addr(parent: etree._Element, inp: ExportInput) -> None:
    s = inp.structure
    if not s.city:
        return
    # CI-SIS addr: either structured parts or streetAddressLine only (never both)
    addr = _el(parent, "addr")
    for line in (*s.address_lines, f"{s.postal_code} {s.city}".strip(), "FRANCE"):
        _el(addr, "streetAddressLine", line)


def _record_target(doc: etree._Element, p: Person) -> None:
    """recordTarget: INS and identity traits."""
    role = _el(_el(doc, "recordTarget"), "patientRole")
    _el(role, "id", root=p.ins_oid.value, extension=p.ins)
    patient = _el(role, "patient", classCode="PSN")
    name = _el(patient, "name")
    _el(name, "family", p.birth_family_name.upper(), qualifier="BR")
    _el(name, "given", " ".join(p.first_names))
    _el(name, "given", p.first_names[0], qualifier="BR")
    if p.used_name or p.used_first_name:
        _el(name, "family", p.display_family.upper(), qualifier="CL")
        _el(name, "given", p.display_given, qualifier="CL")
    sex_display = {"M": "Masculin", "F": "Féminin", "U": "Inconnu"}[p.sex.value]
    _el(
        patient,
        "administrativeGenderCode",
        code=p.sex.value,
        displayName=sex_display,
        codeSystem=OID_GENDER,
    )
    _el(patient, "birthTime", value=_d(p.birth_date))
    place = _el(_el(patient, "birthplace"), "place")
    _el(_el(place, "addr"), "county", p.birthplace_insee)


def _author(doc: etree._Element, inp: ExportInput, eff: datetime) -> None:
    """author: the professional who wrote the document."""
    author_pro = inp.author
    author = _el(doc, "author")
    _el(author, "time", value=_ts(eff))
    assigned = _el(author, "assignedAuthor")
    _el(assigned, "id", root=OID_ID_NAT_PS, extension=author_pro.id_nat_ps(inp.structure.finess))
    # assignedAuthor/code 1..1 in the ANS header (profession / specialty, JDV_J01 on
    # 1.2.250.1.213.1.1.4.5, e.g. ``G15_10/SM03`` in the ANS example); unknown profession code
    # (a free-text profession in the directory): nullFlavor UNK rather than a guessed code.
    if author_pro.profession_code:
        _el(
            assigned,
            "code",
            code=author_pro.profession_code,
            displayName=author_pro.profession_label,
            codeSystem=OID_PROFESSION,
        )
    else:
        _el(assigned, "code", nullFlavor="UNK")
    _person(assigned, "assignedPerson", author_pro)
    _organization(assigned, "representedOrganization", inp)


def _custodian(doc: etree._Element, inp: ExportInput) -> None:
    """custodian: the structure keeping the document."""
    cust = _el(_el(_el(doc, "custodian"), "assignedCustodian"), "representedCustodianOrganization")
    _el(cust, "id", root=OID_ID_NAT_STRUCT, extension=inp.structure.id_nat_struct)
    _el(cust, "name", inp.structure.name)
    _addr(cust, inp)


def _legal_authenticator(doc: etree._Element, inp: ExportInput, when: datetime) -> None:
    """legalAuthenticator: who validated the document, and when."""
    legal = inp.legal_authenticator
    la = _el(doc, "legalAuthenticator")
    _el(la, "time", value=_ts(when))
    _el(la, "signatureCode", code="S")
    entity = _el(la, "assignedEntity")
    _el(entity, "id", root=OID_ID_NAT_PS, extension=legal.id_nat_ps(inp.structure.finess))
    _person(entity, "assignedPerson", legal)
    _organization(entity, "representedOrganization", inp)


def _period(start: date | None, stop: date | None, eff: datetime) -> tuple[str, str | None]:
    """(low, high) of the service period: the project's dates, else the document's time."""
    return (_d(start) if start else _ts(eff), _d(stop) if stop else None)


def _period_el(parent: etree._Element, period: tuple[str, str | None]) -> None:
    ivl = _el(parent, "effectiveTime")
    _el(ivl, "low", value=period[0])
    if period[1]:
        _el(ivl, "high", value=period[1])


def _service_event(
    doc: etree._Element, inp: ExportInput, doc_type: DocType, period: tuple[str, str | None]
) -> None:
    """documentationOf/serviceEvent (practiceSettingCode)."""
    legal = inp.legal_authenticator
    event = _el(_el(doc, "documentationOf"), "serviceEvent")
    _el(event, "code", code=doc_type.code, displayName=doc_type.display, codeSystem=LOINC)
    _period_el(event, period)
    perf = _el(event, "performer", typeCode="PRF")
    pent = _el(perf, "assignedEntity")
    _el(pent, "id", root=OID_ID_NAT_PS, extension=legal.id_nat_ps(inp.structure.finess))
    _person(pent, "assignedPerson", legal)
    org = _organization(pent, "representedOrganization", inp)
    _el(
        org,
        "standardIndustryClassCode",
        code=inp.structure.practice_setting_code,
        displayName=inp.structure.practice_setting_label,
        codeSystem=OID_PRACTICE_SETTING,
        codeSystemName="practiceSettingCode",
    )


def _encounter(doc: etree._Element, inp: ExportInput, period: tuple[str, str | None]) -> None:
    """componentOf/encompassingEncounter (healthcareFacilityTypeCode)."""
    enc = _el(_el(doc, "componentOf"), "encompassingEncounter")
    _period_el(enc, period)
    facility = _el(_el(enc, "location"), "healthCareFacility")
    _el(facility, "id", root=OID_ID_NAT_STRUCT, extension=inp.structure.id_nat_struct)
    _el(
        facility,
        "code",
        code=inp.structure.facility_type_code,
        displayName=inp.structure.facility_type_label,
        codeSystem=OID_FACILITY_TYPE,
    )


def build_cda(
    inp: ExportInput,
    pdf: bytes,
    *,
    doc_type: DocType = PPA_DOC,
    title: str | None = None,
    series_kind: str = "ppa",
    version_number: int | None = None,
) -> CdaDocument:
    """Build a CDA R2 level 1 document embedding ``pdf`` for ``inp`` (pure, deterministic)."""
    v = inp.version
    eff = v.document_date
    title = title or f"{doc_type.display} - version {v.number}"
    root_oid = (
        document_id_root(inp)
        if series_kind == "ppa"
        else uuid_oid(uuid.uuid5(v.series_id, f"cda-document-{series_kind}"))
    )
    setid = set_id(inp, series_kind)
    version_number = version_number or v.series_version

    doc = etree.Element(f"{{{NS}}}ClinicalDocument", nsmap={None: NS, "xsi": XSI})  # type: ignore[dict-item]
    _el(doc, "realmCode", code="FR")
    _el(doc, "typeId", root="2.16.840.1.113883.1.3", extension="POCD_HD000040")
    _el(doc, "templateId", root="2.16.840.1.113883.2.8.2.1")
    _el(doc, "templateId", root="1.2.250.1.213.1.1.1.1")
    _el(doc, "templateId", root="1.3.6.1.4.1.19376.1.2.20")
    _el(doc, "id", root=root_oid, extension=str(version_number))
    _el(
        doc,
        "code",
        code=doc_type.code,
        displayName=doc_type.display,
        codeSystem=LOINC,
        codeSystemName="LOINC",
    )
    _el(doc, "title", title)
    _el(doc, "effectiveTime", value=_ts(eff))
    _el(
        doc,
        "confidentialityCode",
        code="N",
        displayName="Normal",
        codeSystem=OID_CONFIDENTIALITY,
        codeSystemName="Confidentiality",
    )
    _el(doc, "languageCode", code="fr-FR")
    _el(doc, "setId", root=setid)
    _el(doc, "versionNumber", value=str(version_number))

    start, stop = inp.content.projet.date_debut, inp.content.projet.date_fin
    _record_target(doc, inp.person)
    _author(doc, inp, eff)
    _custodian(doc, inp)
    _legal_authenticator(doc, inp, v.validated_at or eff)
    _service_event(doc, inp, doc_type, _period(start, stop, eff))

    # relatedDocument: replaces the previous document of the series. The CI-SIS template
    # (CI-SISRelatedDocument, 1.2.250.1.213.1.1.1.1.10.3) allows only id (1..1) and
    # versionNumber (0..1) in parentDocument; the CDA R2 schema has setId optional there, so
    # leaving it out satisfies both (the series is the document's own setId).
    if version_number > 1:
        rel = _el(doc, "relatedDocument", typeCode="RPLC")
        parent = _el(rel, "parentDocument")
        _el(parent, "id", root=root_oid, extension=str(version_number - 1))
        _el(parent, "versionNumber", value=str(version_number - 1))

    _encounter(doc, inp, _period(start, stop, eff))

    # body: the PDF
    body = _el(_el(doc, "component"), "nonXMLBody")
    _el(
        body,
        "text",
        base64.b64encode(pdf).decode("ascii"),
        mediaType="application/pdf",
        representation="B64",
    )

    xml = etree.tostring(doc, xml_declaration=True, encoding="UTF-8", standalone=True)
    return CdaDocument(
        xml=xml,
        document_id_root=root_oid,
        document_id_extension=str(version_number),
        set_id=setid,
        version_number=version_number,
        doc_type=doc_type,
        title=title,
        effective_time=eff,
        service_start=start,
        service_stop=stop,
    )


def render_cda_document(inp: ExportInput) -> CdaDocument:
    """The PPA CDA (with the PPA PDF inside) and its header values."""
    return build_cda(inp, render_pdf(inp), title=inp.content.projet.titre or None)


def render_cda(inp: ExportInput) -> bytes:
    """Render the PPA as a CDA R2 level 1 XML document (bytes)."""
    return render_cda_document(inp).xml


@cache
def _schema() -> etree.XMLSchema:
    folder = importlib.resources.files("exports").joinpath("data/cda")
    with importlib.resources.as_file(folder) as path:
        return etree.XMLSchema(etree.parse(str(path / "CDA_extended.xsd")))


def validate_cda(xml: bytes) -> list[str]:
    """Validate against the shipped HL7 CDA R2 schema (CI-SIS extended); return the errors."""
    schema = _schema()
    ok = schema.validate(etree.fromstring(xml))
    errors: Iterable[Any] = schema.error_log  # type: ignore[assignment]
    return [] if ok else [f"{e.line}: {e.message}" for e in errors]
