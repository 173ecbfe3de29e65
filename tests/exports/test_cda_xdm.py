from __future__ import annotations

import base64
import hashlib
import io
import re
import zipfile
from collections import Counter
from datetime import UTC, datetime
from functools import cache
from typing import Any

from lxml import etree

from exports.cda import render_cda, render_cda_document, validate_cda
from exports.context import ExportInput
from exports.mdph import render_mdph_cda, render_mdph_xdm
from exports.pdf import render_pdf
from exports.xdm import render_xdm
from tests.exports.conftest import ANS_CDA
from tests.exports.schematron import Compiled, compile_schematron, run_schematron

NS = {"h": "urn:hl7-org:v3"}
RIM = {"rim": "urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0"}
EXAMPLE = ANS_CDA / "ExemplesCDA" / "DOC_NON_STRUCTURE_CDA-R2-N1.xml"
STRUCMIN = ANS_CDA / "schematrons/profils/structurationMinimale/ASIP-STRUCT-MIN-StrucMin.sch"
IHE = ANS_CDA / "schematrons/profils/IHE.sch"
J07_MISSING = "voc-1.2.250.1.213.1.1.5.471-DYNAMIC.xml"
IHE_MISSING = "E_directiveAnticipee_int.sch"


def _x(doc: etree._Element, path: str) -> str:
    result = doc.xpath(path, namespaces=NS)
    assert isinstance(result, list)
    assert len(result) == 1, path
    return str(result[0])


def test_cda_validates_against_the_hl7_cda_schema(
    validated: ExportInput, avenant: ExportInput
) -> None:
    assert validate_cda(render_cda(validated)) == []
    assert validate_cda(render_cda(avenant)) == []
    assert validate_cda(EXAMPLE.read_bytes()) == []  # our shipped XSD copy accepts the ANS example
    broken = render_cda(validated).replace(b"<languageCode", b"<langueCode")
    assert validate_cda(broken)


def test_cda_header_follows_the_ans_example(validated: ExportInput) -> None:
    doc = etree.fromstring(render_cda(validated))
    assert _x(doc, "h:realmCode/@code") == "FR"
    assert _x(doc, "h:typeId/@extension") == "POCD_HD000040"
    assert doc.xpath("h:templateId/@root", namespaces=NS) == [
        "2.16.840.1.113883.2.8.2.1",
        "1.2.250.1.213.1.1.1.1",
        "1.3.6.1.4.1.19376.1.2.20",
    ]
    assert _x(doc, "h:code/@code") == "80788-3"
    assert _x(doc, "h:code/@codeSystem") == "2.16.840.1.113883.6.1"
    assert _x(doc, "h:confidentialityCode/@code") == "N"
    assert _x(doc, "h:languageCode/@code") == "fr-FR"
    assert _x(doc, "h:effectiveTime/@value") == "20261127170500+0100"
    assert _x(doc, "h:versionNumber/@value") == "1"
    assert _x(doc, "h:recordTarget/h:patientRole/h:id/@root") == "1.2.250.1.213.1.4.10"
    assert _x(doc, "h:recordTarget/h:patientRole/h:id/@extension") == "298046912304540"
    patient = "h:recordTarget/h:patientRole/h:patient"
    assert _x(doc, f"{patient}/h:name/h:family[@qualifier='BR']/text()") == "MARTIN"
    assert _x(doc, f"{patient}/h:name/h:given[@qualifier='BR']/text()") == "Léa"
    assert _x(doc, f"{patient}/h:birthplace/h:place/h:addr/h:county/text()") == "69123"
    assert _x(doc, "h:author/h:assignedAuthor/h:id/@root") == "1.2.250.1.71.4.2.1"
    custodian = "h:custodian/h:assignedCustodian/h:representedCustodianOrganization/h:id/@extension"
    assert _x(doc, custodian) == "1690790316"
    assert _x(doc, "h:legalAuthenticator/h:signatureCode/@code") == "S"
    setting = "//h:serviceEvent//h:standardIndustryClassCode/@code"
    assert _x(doc, setting) == "ESSMS"
    assert _x(doc, "//h:healthCareFacility/h:code/@code") == "SA16"
    text: Any = doc.xpath("h:component/h:nonXMLBody/h:text", namespaces=NS)
    text = text[0]
    assert text.get("mediaType") == "application/pdf"
    assert base64.b64decode(text.text) == render_pdf(validated)


def test_avenant_replaces_the_previous_document_in_the_same_series(
    validated: ExportInput, avenant: ExportInput
) -> None:
    first, second = etree.fromstring(render_cda(validated)), etree.fromstring(render_cda(avenant))
    assert _x(first, "h:setId/@root") == _x(second, "h:setId/@root")
    assert _x(second, "h:versionNumber/@value") == "2"
    assert _x(first, "h:id/@root") == _x(second, "h:id/@root")
    assert _x(first, "h:id/@extension") != _x(second, "h:id/@extension")
    assert _x(second, "h:relatedDocument/@typeCode") == "RPLC"
    assert _x(second, "h:relatedDocument/h:parentDocument/h:id/@extension") == _x(
        first, "h:id/@extension"
    )
    parent = "h:relatedDocument/h:parentDocument"
    assert _x(second, f"{parent}/h:versionNumber/@value") == _x(first, "h:versionNumber/@value")
    assert not second.xpath(f"{parent}/h:setId", namespaces=NS)  # not in CI-SISRelatedDocument
    assert not first.xpath("h:relatedDocument", namespaces=NS)


@cache
def _compiled(path: str) -> Compiled:
    return compile_schematron(path)


def _documents(validated: ExportInput, avenant: ExportInput) -> dict[str, bytes]:
    """The three CDA documents we produce: PPA version, its avenant, MDPH fiche de liaison."""
    return {
        "validated": render_cda(validated),
        "avenant": render_cda(avenant),
        "mdph": render_mdph_cda(avenant),
    }


def test_ans_structuration_minimale_schematron(
    validated: ExportInput, avenant: ExportInput
) -> None:
    """Each of our CDA documents raises exactly what the ANS example raises: the J07 check whose
    vocabulary file is missing from the ANS schematron package (so it cannot be verified here).
    The avenant's relatedDocument/parentDocument holds id + versionNumber only (a setId there is
    a CI-SISRelatedDocument warning)."""
    compiled = _compiled(str(STRUCMIN))
    assert compiled.rules > 500
    assert [p.rsplit("/", 1)[1] for p in compiled.missing_documents] == [J07_MISSING]
    example = [f.text for f in run_schematron(compiled, EXAMPLE.read_bytes())]
    assert len(example) == 1
    assert "1.2.250.1.213.1.1.5.471" in example[0]
    for name, xml in _documents(validated, avenant).items():
        found = run_schematron(compiled, xml)
        assert [f.text for f in found] == example, (name, [(f.role, f.text) for f in found])


def test_structuration_minimale_catches_a_broken_header(validated: ExportInput) -> None:
    """Positive controls: removing realmCode or the XDS-SD templateId yields their findings."""
    compiled = _compiled(str(STRUCMIN))
    xml = render_cda(validated)
    no_realm = run_schematron(compiled, xml.replace(b'<realmCode code="FR"/>', b""))
    assert any("realmCode" in f.text for f in no_realm), no_realm
    no_xds_sd = xml.replace(b'<templateId root="1.3.6.1.4.1.19376.1.2.20"/>', b"")
    texts = [f.text for f in run_schematron(compiled, no_xds_sd)]
    assert any('templateId "1.3.6.1.4.1.19376.1.2.20" est obligatoire' in t for t in texts), texts


def test_ans_ihe_schematron_has_nothing_to_say_about_our_documents(
    validated: ExportInput, avenant: ExportInput
) -> None:
    """IHE.sch checks IHE sections and entries (the body); a level 1 nonXMLBody has none."""
    compiled = _compiled(str(IHE))
    assert compiled.patterns > 200
    assert [p.rsplit("/", 1)[1] for p in compiled.missing_includes] == [IHE_MISSING]
    for name, xml in _documents(validated, avenant).items():
        assert run_schematron(compiled, xml) == [], name


def test_ans_ihe_schematron_catches_a_broken_section(validated: ExportInput) -> None:
    """Positive control: the same run reports an IHE PCC Care Plan section that lacks its parent
    templateId and has the wrong LOINC code. (IHE.sch has no nonXMLBody pattern since 2011, so a
    wrong mediaType or a missing XDS-SD templateId is for StrucMin, tested above.)"""
    compiled = _compiled(str(IHE))
    xml = render_cda(validated)
    start = xml.index(b"<component><nonXMLBody>")
    section = (
        b"<component><structuredBody><component><section>"
        b'<templateId root="1.3.6.1.4.1.19376.1.5.3.1.3.31"/>'
        b'<code code="11450-4" codeSystem="2.16.840.1.113883.6.1"/>'
        b"<title>Plan</title><text>Texte</text>"
        b"</section></component></structuredBody></component></ClinicalDocument>"
    )
    broken = xml[:start] + section
    texts = [f.text for f in run_schematron(compiled, broken)]
    assert texts
    assert all("[S_carePlan.sch]" in t for t in texts), texts
    assert any("2.16.840.1.113883.10.20.1.10" in t for t in texts), texts
    assert any("18776-5" in t for t in texts), texts


def _xcn(value: str) -> dict[str, str]:
    """HL7 v2 XCN (authorPerson, legalAuthenticator) as the DMP expects it: id, family, given,
    assigning authority, name type ``D`` and identifier type ``IDNPS`` (XCN.10 and XCN.13)."""
    parts = value.split("^")
    assert len(parts) == 13, value  # XCN.13 = IDNPS, as in the DMP kits
    assert re.fullmatch(r"&[0-9.]+&ISO", parts[8]), value
    assert (parts[9], parts[12]) == ("D", "IDNPS"), value
    return {"id": parts[0], "family": parts[1], "given": parts[2], "oid": parts[8][1:-4]}


def _check_specialty(cda: Any, specialty: list[str]) -> None:
    """authorSpecialty = the CDA's assignedAuthor/code (absent when the code is UNK)."""
    code = "h:author/h:assignedAuthor/h:code"
    if cda.xpath(f"{code}/@code", namespaces=NS):
        assert specialty == [
            "^".join(
                (_x(cda, f"{code}/@code"), _x(cda, f"{code}/@displayName"), "1.2.250.1.213.1.1.4.5")
            )
        ]
    else:
        assert _x(cda, f"{code}/@nullFlavor") == "UNK"
        assert specialty == []


def _xon(value: str) -> dict[str, str]:
    """HL7 v2 XON (authorInstitution): name, assigning authority, identifier type, id."""
    parts = value.split("^")
    assert len(parts) == 10, value
    assert re.fullmatch(r"&[0-9.]+&ISO", parts[5]), value
    return {"name": parts[0], "oid": parts[5][1:-4], "type": parts[6], "id": parts[9]}


def _person_in_cda(cda: Any, entity: str) -> dict[str, str]:
    return {
        "id": _x(cda, f"{entity}/h:id/@extension"),
        "family": _x(cda, f"{entity}/h:assignedPerson/h:name/h:family/text()"),
        "given": _x(cda, f"{entity}/h:assignedPerson/h:name/h:given/text()"),
        "oid": _x(cda, f"{entity}/h:id/@root"),
    }


def _check_xdm_against_cda(data: bytes, cda_bytes: bytes) -> Any:
    """Layout, and every METADATA.XML value that the CDA header also states; return the
    parsed METADATA.XML."""
    zf = zipfile.ZipFile(io.BytesIO(data))
    assert zf.namelist() == [
        "README.TXT",
        "INDEX.HTM",
        "IHE_XDM/SUBSET01/METADATA.XML",
        "IHE_XDM/SUBSET01/DOC0001.XML",
    ]
    assert zf.read("IHE_XDM/SUBSET01/DOC0001.XML") == cda_bytes
    cda: Any = etree.fromstring(cda_bytes)
    meta: Any = etree.fromstring(zf.read("IHE_XDM/SUBSET01/METADATA.XML"))
    eo: Any
    (eo,) = meta.xpath("//rim:ExtrinsicObject", namespaces=RIM)

    def slot(name: str, node: Any = eo) -> list[str]:
        return [
            str(v)
            for v in node.xpath(f"rim:Slot[@name='{name}']//rim:Value/text()", namespaces=RIM)
        ]

    def classification(scheme: str) -> tuple[str, str]:
        (node,) = eo.xpath(f"rim:Classification[@classificationScheme='{scheme}']", namespaces=RIM)
        (display,) = node.xpath("rim:Name/rim:LocalizedString/@value", namespaces=RIM)
        return str(node.get("nodeRepresentation")), str(display)

    def external(scheme: str) -> str:
        (node,) = eo.xpath(
            f"rim:ExternalIdentifier[@identificationScheme='{scheme}']", namespaces=RIM
        )
        return str(node.get("value"))

    assert slot("hash") == [hashlib.sha1(cda_bytes, usedforsecurity=False).hexdigest()]
    assert slot("size") == [str(len(cda_bytes))]
    assert slot("languageCode") == [_x(cda, "h:languageCode/@code")]
    assert slot("serviceStartTime") == [_x(cda, "//h:serviceEvent/h:effectiveTime/h:low/@value")]
    assert slot("URI") == ["DOC0001.XML"]
    ins_root = _x(cda, "h:recordTarget/h:patientRole/h:id/@root")
    ins = _x(cda, "h:recordTarget/h:patientRole/h:id/@extension")
    assert slot("sourcePatientId") == [f"{ins}^^^&{ins_root}&ISO^NH"]
    unique = f"{_x(cda, 'h:id/@root')}^{_x(cda, 'h:id/@extension')}"
    assert external("urn:uuid:2e82c1f6-a085-4c72-9da3-8640a32e42ab") == unique
    assert (
        external("urn:uuid:58a6f841-87b3-4a3e-92fd-a8ffeff98427") == f"{ins}^^^&{ins_root}&ISO^NH"
    )
    assert classification("urn:uuid:f0306f51-975f-434e-a61c-c59651d33983") == (
        _x(cda, "h:code/@code"),
        _x(cda, "h:code/@displayName"),
    )
    assert (
        classification("urn:uuid:a09d5840-386c-46f2-b5ad-9c3699a4309d")[0]
        == "urn:ihe:iti:xds-sd:pdf:2008"
    )
    assert _x(cda, "h:component/h:nonXMLBody/h:text/@mediaType") == "application/pdf"
    assert classification("urn:uuid:f4f85eac-e6cb-4883-b524-f2705394840f") == (
        _x(cda, "h:confidentialityCode/@code"),
        _x(cda, "h:confidentialityCode/@displayName"),
    )
    assert classification("urn:uuid:f33fb8ac-18af-42cc-ae0e-ed0b0bdb91e1") == (
        _x(cda, "//h:healthCareFacility/h:code/@code"),
        _x(cda, "//h:healthCareFacility/h:code/@displayName"),
    )
    assert classification("urn:uuid:cccf5598-8b07-4b77-a05e-ae952c785ead") == (
        _x(cda, "//h:standardIndustryClassCode/@code"),
        _x(cda, "//h:standardIndustryClassCode/@displayName"),
    )
    (title,) = eo.xpath("rim:Name/rim:LocalizedString/@value", namespaces=RIM)
    assert title == _x(cda, "h:title/text()")

    # author (DocumentEntry and SubmissionSet) and legalAuthenticator = the CDA header's
    author = _person_in_cda(cda, "h:author/h:assignedAuthor")
    organisation = "h:author/h:assignedAuthor/h:representedOrganization"
    institution = {
        "name": _x(cda, f"{organisation}/h:name/text()"),
        "oid": _x(cda, f"{organisation}/h:id/@root"),
        "type": "IDNST",
        "id": _x(cda, f"{organisation}/h:id/@extension"),
    }
    authors = meta.xpath(
        "//rim:Classification[@classificationScheme='urn:uuid:93606bcf-9494-43ec-9b4e-a7748d1a838d'"
        " or @classificationScheme='urn:uuid:a7058bb9-b4e4-4307-ba5b-e3f0ab85e12d']",
        namespaces=RIM,
    )
    assert len(authors) == 2  # DocumentEntry.author, SubmissionSet.author
    for node in authors:
        (person,) = slot("authorPerson", node)
        assert _xcn(person) == author
        (inst,) = slot("authorInstitution", node)
        assert _xon(inst) == institution
        _check_specialty(cda, slot("authorSpecialty", node))
    (legal,) = slot("legalAuthenticator")
    assert _xcn(legal) == _person_in_cda(cda, "h:legalAuthenticator/h:assignedEntity")
    (created,) = slot("creationTime")
    local = datetime.strptime(_x(cda, "h:effectiveTime/@value"), "%Y%m%d%H%M%S%z")
    assert created == local.astimezone(UTC).strftime("%Y%m%d%H%M%S")  # XDS DTM is UTC

    kinds = Counter(
        etree.QName(el).localname for el in meta.xpath("//rim:RegistryObjectList/*", namespaces=RIM)
    )
    assert kinds == Counter(ExtrinsicObject=1, RegistryPackage=1, Classification=1, Association=1)
    return meta


def test_xdm_layout_and_metadata_match_the_cda_header(validated: ExportInput) -> None:
    meta = _check_xdm_against_cda(render_xdm(validated), render_cda(validated))
    (eo,) = meta.xpath("//rim:ExtrinsicObject", namespaces=RIM)
    (class_code,) = eo.xpath(
        "rim:Classification[@classificationScheme="
        "'urn:uuid:41a5887f-8865-4c09-adf7-e362475b143a']/@nodeRepresentation",
        namespaces=RIM,
    )
    assert class_code == "44"
    (creation,) = eo.xpath("rim:Slot[@name='creationTime']//rim:Value/text()", namespaces=RIM)
    assert creation == "20261127160500"
    (submission,) = meta.xpath(
        "//rim:RegistryPackage/rim:Slot[@name='submissionTime']//rim:Value/text()", namespaces=RIM
    )
    assert submission == "20270301100000"  # generated_at, the one generation timestamp


def test_mdph_xdm_metadata_match_the_mdph_cda(avenant: ExportInput) -> None:
    cda = render_mdph_cda(avenant)
    meta = _check_xdm_against_cda(render_mdph_xdm(avenant), cda)
    (eo,) = meta.xpath("//rim:ExtrinsicObject", namespaces=RIM)
    (class_code,) = eo.xpath(
        "rim:Classification[@classificationScheme="
        "'urn:uuid:41a5887f-8865-4c09-adf7-e362475b143a']/@nodeRepresentation",
        namespaces=RIM,
    )
    assert class_code == "10"
    assert b'code="28653-4"' in cda


def test_xdm_is_deterministic_for_the_same_generation_time(validated: ExportInput) -> None:
    assert render_xdm(validated) == render_xdm(validated)
    later = validated.model_copy(update={"generated_at": validated.generated_at.replace(hour=11)})
    a = zipfile.ZipFile(io.BytesIO(render_xdm(validated)))
    b = zipfile.ZipFile(io.BytesIO(render_xdm(later)))
    assert a.read("IHE_XDM/SUBSET01/DOC0001.XML") == b.read("IHE_XDM/SUBSET01/DOC0001.XML")
    assert a.read("IHE_XDM/SUBSET01/METADATA.XML") != b.read("IHE_XDM/SUBSET01/METADATA.XML")
    assert render_cda_document(validated).xml == render_cda(validated)
