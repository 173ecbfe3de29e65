"""IHE XDM package (ZIP) of CDA documents, ready to attach to an MSSanté message.

Layout (ITI-32 / ITI TF-1 ch. 16)::

    README.TXT
    INDEX.HTM
    IHE_XDM/SUBSET01/METADATA.XML   ebRIM 3.0 SubmitObjectsRequest (SubmissionSet + DocumentEntries)
    IHE_XDM/SUBSET01/DOC0001.XML    the CDA R2 document(s)

The DocumentEntry values are derived from the CDA header (:func:`xds_metadata`), as the CI-SIS
CDA -> XDS mapping does: typeCode = ``ClinicalDocument/code``, classCode from the type (ASS_X04:
80788-3 -> 44), formatCode from ``nonXMLBody/text/@mediaType`` (ASS_A12: application/pdf ->
``urn:ihe:iti:xds-sd:pdf:2008``), healthcareFacilityTypeCode / practiceSettingCode from the header
codes, hash (SHA-1) and size of the CDA bytes. ``submissionTime`` is the only generation
timestamp (``ExportInput.generated_at``); ZIP entries carry fixed dates, so the same input gives the
same bytes.
"""

from __future__ import annotations

import io
import uuid
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from xml.sax.saxutils import escape

from lxml import etree

from exports.cda import OID_PROFESSION, CdaDocument, render_cda_document
from exports.context import (
    EXPORT_NAMESPACE,
    OID_ID_NAT_PS,
    OID_ID_NAT_STRUCT,
    ExportInput,
    Professional,
    uuid_oid,
)

LCM = "urn:oasis:names:tc:ebxml-regrep:xsd:lcm:3.0"
RIM = "urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0"

DOCUMENT_ENTRY_TYPE = "urn:uuid:7edca82f-054d-47f2-a032-9b2a5b5186c1"
SUBMISSION_SET_NODE = "urn:uuid:a54d6aa5-d40d-43f9-88c5-b4633d873bdd"
SCHEME = {
    "author": "urn:uuid:93606bcf-9494-43ec-9b4e-a7748d1a838d",
    "classCode": "urn:uuid:41a5887f-8865-4c09-adf7-e362475b143a",
    "confidentialityCode": "urn:uuid:f4f85eac-e6cb-4883-b524-f2705394840f",
    "formatCode": "urn:uuid:a09d5840-386c-46f2-b5ad-9c3699a4309d",
    "healthcareFacilityTypeCode": "urn:uuid:f33fb8ac-18af-42cc-ae0e-ed0b0bdb91e1",
    "practiceSettingCode": "urn:uuid:cccf5598-8b07-4b77-a05e-ae952c785ead",
    "typeCode": "urn:uuid:f0306f51-975f-434e-a61c-c59651d33983",
    "patientId": "urn:uuid:58a6f841-87b3-4a3e-92fd-a8ffeff98427",
    "uniqueId": "urn:uuid:2e82c1f6-a085-4c72-9da3-8640a32e42ab",
    "ss.author": "urn:uuid:a7058bb9-b4e4-4307-ba5b-e3f0ab85e12d",
    "ss.contentTypeCode": "urn:uuid:aa543740-bdda-424e-8c96-df4873be8500",
    "ss.patientId": "urn:uuid:6b5aea1a-874d-4603-a4bc-96a0a7b38446",
    "ss.sourceId": "urn:uuid:554ac39e-e3fe-47fe-b233-965d2a147832",
    "ss.uniqueId": "urn:uuid:96fdda7c-d067-4183-912e-bf5ee74998a8",
}
SOURCE_ID = uuid_oid(uuid.uuid5(EXPORT_NAMESPACE, "ppa-collab xdm source"))
"""sourceId of the SubmissionSets this software produces."""


@dataclass(frozen=True)
class Code:
    """An XDS coded value (code, coding scheme OID, display)."""

    code: str
    scheme: str
    display: str


@dataclass(frozen=True)
class XdsMetadata:
    """The XDS DocumentEntry values of one CDA document."""

    unique_id: str
    patient_id: str
    title: str
    creation_time: str
    service_start: str | None
    service_stop: str | None
    language: str
    hash_sha1: str
    size: int
    mime_type: str
    type_code: Code
    class_code: Code
    format_code: Code
    confidentiality: Code
    facility_type: Code
    practice_setting: Code
    author_person: str
    author_institution: str
    legal_authenticator: str
    source_patient_info: tuple[str, ...]
    author_specialty: str | None = None
    """``code^display^1.2.250.1.213.1.1.4.5`` (JDV_J01 / TRE_G15), as ``assignedAuthor/code``."""


def xcn(pro: Professional, fallback_finess: str) -> str:
    """XCN of a professional as the DMP expects it: idNat_PS, names, assigning authority
    ``&1.2.250.1.71.4.2.1&ISO``, name type ``D`` and identifier type ``IDNPS``
    (e.g. ``810001234567^DUPONT^Jean^^^^^^&1.2.250.1.71.4.2.1&ISO^D^^^IDNPS``)."""
    return (
        f"{pro.id_nat_ps(fallback_finess)}^{pro.family_name.upper()}^{pro.given_name}"
        f"^^^^^^&{OID_ID_NAT_PS}&ISO^D^^^IDNPS"
    )


def _utc(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y%m%d%H%M%S")


def xds_metadata(inp: ExportInput, cda: CdaDocument) -> XdsMetadata:
    """DocumentEntry metadata of ``cda`` (values mirror its header)."""
    p = inp.person
    s = inp.structure
    author = inp.author
    legal = inp.legal_authenticator
    fin = s.finess
    return XdsMetadata(
        unique_id=cda.unique_id,
        patient_id=f"{p.ins}^^^&{p.ins_oid.value}&ISO^NH",
        title=cda.title,
        creation_time=_utc(cda.effective_time),
        service_start=cda.service_start.strftime("%Y%m%d") if cda.service_start else None,
        service_stop=cda.service_stop.strftime("%Y%m%d") if cda.service_stop else None,
        language="fr-FR",
        hash_sha1=cda.sha1,
        size=cda.size,
        mime_type="text/xml",
        type_code=Code(cda.doc_type.code, "2.16.840.1.113883.6.1", cda.doc_type.display),
        class_code=Code(
            cda.doc_type.class_code, "1.2.250.1.213.1.1.4.1", cda.doc_type.class_display
        ),
        format_code=Code(
            "urn:ihe:iti:xds-sd:pdf:2008",
            "1.3.6.1.4.1.19376.1.2.3",
            "Document à corps non structuré en PDF",
        ),
        confidentiality=Code("N", "2.16.840.1.113883.5.25", "Normal"),
        facility_type=Code(s.facility_type_code, "1.2.250.1.71.4.2.4", s.facility_type_label),
        practice_setting=Code(
            s.practice_setting_code, "1.2.250.1.213.1.1.4.9", s.practice_setting_label
        ),
        author_person=xcn(author, fin),
        author_institution=f"{s.name}^^^^^&{OID_ID_NAT_STRUCT}&ISO^IDNST^^^{s.id_nat_struct}",
        legal_authenticator=xcn(legal, fin),
        source_patient_info=(
            f"PID-3|{p.ins}^^^&{p.ins_oid.value}&ISO^NH",
            f"PID-5|{p.birth_family_name.upper()}^{p.first_names[0]}^^^^^L",
            f"PID-7|{p.birth_date.strftime('%Y%m%d')}",
            f"PID-8|{p.sex.value}",
        ),
        author_specialty=(
            f"{author.profession_code}^{author.profession_label}^{OID_PROFESSION}"
            if author.profession_code
            else None
        ),
    )


def _r(tag: str) -> str:
    return f"{{{RIM}}}{tag}"


def _slot(parent: etree._Element, name: str, *values: str) -> None:
    slot = etree.SubElement(parent, _r("Slot"), name=name)
    vl = etree.SubElement(slot, _r("ValueList"))
    for v in values:
        etree.SubElement(vl, _r("Value")).text = v


def _name(parent: etree._Element, text: str) -> None:
    name = etree.SubElement(parent, _r("Name"))
    etree.SubElement(
        name,
        _r("LocalizedString"),
        {"{http://www.w3.org/XML/1998/namespace}lang": "fr-FR", "charset": "UTF-8", "value": text},
    )


def _classification(parent: etree._Element, obj: str, scheme: str, cid: str, code: Code) -> None:
    c = etree.SubElement(
        parent,
        _r("Classification"),
        id=cid,
        classificationScheme=scheme,
        classifiedObject=obj,
        nodeRepresentation=code.code,
        objectType="urn:oasis:names:tc:ebxml-regrep:ObjectType:RegistryObject:Classification",
    )
    _slot(c, "codingScheme", code.scheme)
    _name(c, code.display)


def _external_id(
    parent: etree._Element, obj: str, scheme: str, eid: str, value: str, label: str
) -> None:
    e = etree.SubElement(
        parent,
        _r("ExternalIdentifier"),
        id=eid,
        identificationScheme=scheme,
        registryObject=obj,
        value=value,
        objectType="urn:oasis:names:tc:ebxml-regrep:ObjectType:RegistryObject:ExternalIdentifier",
    )
    _name(e, label)


def _author(parent: etree._Element, obj: str, scheme: str, cid: str, m: XdsMetadata) -> None:
    """The author Classification: authorPerson (XCN), authorInstitution, authorSpecialty."""
    author = etree.SubElement(
        parent,
        _r("Classification"),
        id=cid,
        classificationScheme=scheme,
        classifiedObject=obj,
        nodeRepresentation="",
        objectType="urn:oasis:names:tc:ebxml-regrep:ObjectType:RegistryObject:Classification",
    )
    _slot(author, "authorPerson", m.author_person)
    _slot(author, "authorInstitution", m.author_institution)
    if m.author_specialty:
        _slot(author, "authorSpecialty", m.author_specialty)


def metadata_xml(inp: ExportInput, docs: list[tuple[CdaDocument, str]]) -> bytes:
    """ebRIM SubmitObjectsRequest for ``docs`` (CDA, file name) as one SubmissionSet."""
    ids = iter(range(1, 1000))
    req = etree.Element(f"{{{LCM}}}SubmitObjectsRequest", nsmap={"lcm": LCM, "rim": RIM})
    objs = etree.SubElement(req, _r("RegistryObjectList"))
    entry_ids: list[str] = []
    first_meta: XdsMetadata | None = None
    for cda, filename in docs:
        m = xds_metadata(inp, cda)
        first_meta = first_meta or m
        eo_id = f"urn:uuid:{inp.uuid_for('xdm', 'DocumentEntry', cda.unique_id)}"
        entry_ids.append(eo_id)
        eo = etree.SubElement(
            objs,
            _r("ExtrinsicObject"),
            id=eo_id,
            mimeType=m.mime_type,
            objectType=DOCUMENT_ENTRY_TYPE,
            status="urn:oasis:names:tc:ebxml-regrep:StatusType:Approved",
        )
        _slot(eo, "creationTime", m.creation_time)
        _slot(eo, "hash", m.hash_sha1)
        _slot(eo, "size", str(m.size))
        _slot(eo, "languageCode", m.language)
        _slot(eo, "legalAuthenticator", m.legal_authenticator)
        if m.service_start:
            _slot(eo, "serviceStartTime", m.service_start)
        if m.service_stop:
            _slot(eo, "serviceStopTime", m.service_stop)
        _slot(eo, "sourcePatientId", m.patient_id)
        _slot(eo, "sourcePatientInfo", *m.source_patient_info)
        _slot(eo, "URI", filename)
        _name(eo, m.title)
        _author(eo, eo_id, SCHEME["author"], f"cl{next(ids):03d}", m)
        for key, code in (
            ("classCode", m.class_code),
            ("confidentialityCode", m.confidentiality),
            ("formatCode", m.format_code),
            ("healthcareFacilityTypeCode", m.facility_type),
            ("practiceSettingCode", m.practice_setting),
            ("typeCode", m.type_code),
        ):
            _classification(eo, eo_id, SCHEME[key], f"cl{next(ids):03d}", code)
        _external_id(
            eo,
            eo_id,
            SCHEME["patientId"],
            f"ei{next(ids):03d}",
            m.patient_id,
            "XDSDocumentEntry.patientId",
        )
        _external_id(
            eo,
            eo_id,
            SCHEME["uniqueId"],
            f"ei{next(ids):03d}",
            m.unique_id,
            "XDSDocumentEntry.uniqueId",
        )

    if first_meta is None:
        raise RuntimeError("first_meta is None")
    ss_id = f"urn:uuid:{inp.uuid_for('xdm', 'SubmissionSet', inp.generated_at.isoformat())}"
    ss = etree.SubElement(objs, _r("RegistryPackage"), id=ss_id)
    _slot(ss, "submissionTime", _utc(inp.generated_at))
    _name(ss, f"{first_meta.title} ({inp.structure.name})")
    _author(ss, ss_id, SCHEME["ss.author"], f"cl{next(ids):03d}", first_meta)
    _classification(
        ss, ss_id, SCHEME["ss.contentTypeCode"], f"cl{next(ids):03d}", first_meta.type_code
    )
    ss_unique = uuid_oid(
        inp.uuid_for("xdm", "SubmissionSet.uniqueId", inp.generated_at.isoformat())
    )
    _external_id(
        ss,
        ss_id,
        SCHEME["ss.uniqueId"],
        f"ei{next(ids):03d}",
        ss_unique,
        "XDSSubmissionSet.uniqueId",
    )
    _external_id(
        ss,
        ss_id,
        SCHEME["ss.sourceId"],
        f"ei{next(ids):03d}",
        SOURCE_ID,
        "XDSSubmissionSet.sourceId",
    )
    _external_id(
        ss,
        ss_id,
        SCHEME["ss.patientId"],
        f"ei{next(ids):03d}",
        first_meta.patient_id,
        "XDSSubmissionSet.patientId",
    )
    etree.SubElement(
        objs,
        _r("Classification"),
        id=f"cl{next(ids):03d}",
        classifiedObject=ss_id,
        classificationNode=SUBMISSION_SET_NODE,
        objectType="urn:oasis:names:tc:ebxml-regrep:ObjectType:RegistryObject:Classification",
    )
    for k, eo_id in enumerate(entry_ids, 1):
        assoc = etree.SubElement(
            objs,
            _r("Association"),
            id=f"as{k:03d}",
            associationType="urn:oasis:names:tc:ebxml-regrep:AssociationType:HasMember",
            sourceObject=ss_id,
            targetObject=eo_id,
            objectType="urn:oasis:names:tc:ebxml-regrep:ObjectType:RegistryObject:Association",
        )
        _slot(assoc, "SubmissionSetStatus", "Original")
    return etree.tostring(req, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _readme(inp: ExportInput, docs: list[tuple[CdaDocument, str]]) -> str:
    lines = [
        "Paquet IHE XDM (Cross-Enterprise Document Media Interchange)",
        "",
        f"Emetteur : {inp.structure.name} (FINESS {inp.structure.finess})",
        "Logiciel : ppa-collab",
        f"Patient / usager : INS {inp.person.ins}",
        "",
        "Contenu :",
        *(
            f"  IHE_XDM/SUBSET01/{name} - {cda.title} (CDA R2 niveau 1, PDF encapsulé)"
            for cda, name in docs
        ),
        "  IHE_XDM/SUBSET01/METADATA.XML - métadonnées XDS (ebRIM 3.0)",
        "",
    ]
    return "\r\n".join(lines)


def _index(inp: ExportInput, docs: list[tuple[CdaDocument, str]]) -> str:
    items = "".join(
        f'<li><a href="IHE_XDM/SUBSET01/{name}">{escape(cda.title)}</a></li>' for cda, name in docs
    )
    return (
        '<!DOCTYPE html><html lang="fr"><head><meta charset="utf-8">'
        f"<title>Documents XDM - {escape(inp.structure.name)}</title></head><body>"
        f"<h1>Documents transmis par {escape(inp.structure.name)}</h1><ul>{items}</ul>"
        '<p><a href="README.TXT">README.TXT</a></p></body></html>\r\n'
    )


def build_xdm(inp: ExportInput, cdas: list[CdaDocument]) -> bytes:
    """Pack ``cdas`` as an IHE XDM ZIP (fixed entry dates: same input, same bytes)."""
    docs = [(cda, f"DOC{i:04d}.XML") for i, cda in enumerate(cdas, 1)]
    stamp = inp.version.document_date.astimezone(UTC)
    date_time = (
        max(stamp.year, 1980),
        stamp.month,
        stamp.day,
        stamp.hour,
        stamp.minute,
        stamp.second,
    )
    files: list[tuple[str, bytes]] = [
        ("README.TXT", _readme(inp, docs).encode("utf-8")),
        ("INDEX.HTM", _index(inp, docs).encode("utf-8")),
        ("IHE_XDM/SUBSET01/METADATA.XML", metadata_xml(inp, docs)),
        *((f"IHE_XDM/SUBSET01/{name}", cda.xml) for cda, name in docs),
    ]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in files:
            info = zipfile.ZipInfo(name, date_time=date_time)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            info.create_system = 3
            zf.writestr(info, data)
    return buf.getvalue()


def render_xdm(inp: ExportInput) -> bytes:
    """Render the PPA as an XDM ZIP holding its CDA (with the PDF inside)."""
    return build_xdm(inp, [render_cda_document(inp)])
