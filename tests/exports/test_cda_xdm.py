from __future__ import annotations

import base64
import hashlib
import io
import zipfile
from collections import Counter
from functools import cache
from typing import Any

from lxml import etree

from exports.cda import render_cda, render_cda_document, validate_cda
from exports.context import ExportInput
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
    assert _x(doc, "h:effectiveTime/@value") == "20250912180500+0200"
    assert _x(doc, "h:versionNumber/@value") == "1"
    assert _x(doc, "h:recordTarget/h:patientRole/h:id/@root") == "1.2.250.1.213.1.4.10"
    assert _x(doc, "h:recordTarget/h:patientRole/h:id/@extension") == "208037511512369"
    patient = "h:recordTarget/h:patientRole/h:patient"
    assert _x(doc, f"{patient}/h:name/h:family[@qualifier='BR']/text()") == "MARTIN"
    assert _x(doc, f"{patient}/h:name/h:given[@qualifier='BR']/text()") == "Léa"
    assert _x(doc, f"{patient}/h:birthplace/h:place/h:addr/h:county/text()") == "75115"
    assert _x(doc, "h:author/h:assignedAuthor/h:id/@root") == "1.2.250.1.71.4.2.1"
    custodian = "h:custodian/h:assignedCustodian/h:representedCustodianOrganization/h:id/@extension"
    assert _x(doc, custodian) == "1750012345"
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
    assert not first.xpath("h:relatedDocument", namespaces=NS)


@cache
def _compiled(path: str) -> Compiled:
    return compile_schematron(path)


def test_ans_structuration_minimale_schematron(validated: ExportInput) -> None:
    """Our CDA raises exactly what the ANS example raises: the J07 check whose vocabulary file
    is missing from the ANS schematron package (so it cannot be verified here)."""
    compiled = _compiled(str(STRUCMIN))
    assert compiled.rules > 500
    assert [p.rsplit("/", 1)[1] for p in compiled.missing_documents] == [J07_MISSING]
    ours = run_schematron(compiled, render_cda(validated))
    example = run_schematron(compiled, EXAMPLE.read_bytes())
    assert [f.text for f in ours] == [f.text for f in example]
    assert len(ours) == 1
    assert "1.2.250.1.213.1.1.5.471" in ours[0].text
    broken = render_cda(validated).replace(b'<realmCode code="FR"/>', b"")
    assert len(run_schematron(compiled, broken)) > 1


def test_ans_ihe_schematron_has_nothing_to_say_about_a_level_1_body(validated: ExportInput) -> None:
    compiled = _compiled(str(IHE))
    assert compiled.patterns > 200
    assert run_schematron(compiled, render_cda(validated)) == []


def test_xdm_layout_and_metadata_match_the_cda_header(validated: ExportInput) -> None:
    data = render_xdm(validated)
    zf = zipfile.ZipFile(io.BytesIO(data))
    assert zf.namelist() == [
        "README.TXT",
        "INDEX.HTM",
        "IHE_XDM/SUBSET01/METADATA.XML",
        "IHE_XDM/SUBSET01/DOC0001.XML",
    ]
    cda_bytes = zf.read("IHE_XDM/SUBSET01/DOC0001.XML")
    assert cda_bytes == render_cda(validated)
    cda: Any = etree.fromstring(cda_bytes)
    meta: Any = etree.fromstring(zf.read("IHE_XDM/SUBSET01/METADATA.XML"))
    eo: Any
    (eo,) = meta.xpath("//rim:ExtrinsicObject", namespaces=RIM)

    def slot(name: str) -> list[str]:
        return [
            str(v) for v in eo.xpath(f"rim:Slot[@name='{name}']//rim:Value/text()", namespaces=RIM)
        ]

    def classification(scheme: str) -> str:
        (node,) = eo.xpath(f"rim:Classification[@classificationScheme='{scheme}']", namespaces=RIM)
        return str(node.get("nodeRepresentation"))

    def external(scheme: str) -> str:
        (node,) = eo.xpath(
            f"rim:ExternalIdentifier[@identificationScheme='{scheme}']", namespaces=RIM
        )
        return str(node.get("value"))

    assert slot("hash") == [hashlib.sha1(cda_bytes).hexdigest()]
    assert slot("size") == [str(len(cda_bytes))]
    assert slot("creationTime") == ["20250912160500"]
    assert slot("languageCode") == [_x(cda, "h:languageCode/@code")]
    assert slot("serviceStartTime") == [_x(cda, "//h:serviceEvent/h:effectiveTime/h:low/@value")]
    assert slot("URI") == ["DOC0001.XML"]
    ins_root = _x(cda, "h:recordTarget/h:patientRole/h:id/@root")
    ins = _x(cda, "h:recordTarget/h:patientRole/h:id/@extension")
    assert slot("sourcePatientId") == [f"{ins}^^^&{ins_root}&ISO"]
    unique = f"{_x(cda, 'h:id/@root')}^{_x(cda, 'h:id/@extension')}"
    assert external("urn:uuid:2e82c1f6-a085-4c72-9da3-8640a32e42ab") == unique
    assert external("urn:uuid:58a6f841-87b3-4a3e-92fd-a8ffeff98427") == f"{ins}^^^&{ins_root}&ISO"
    assert classification("urn:uuid:f0306f51-975f-434e-a61c-c59651d33983") == _x(
        cda, "h:code/@code"
    )
    assert classification("urn:uuid:41a5887f-8865-4c09-adf7-e362475b143a") == "44"
    assert (
        classification("urn:uuid:a09d5840-386c-46f2-b5ad-9c3699a4309d")
        == "urn:ihe:iti:xds-sd:pdf:2008"
    )
    assert classification("urn:uuid:f4f85eac-e6cb-4883-b524-f2705394840f") == _x(
        cda, "h:confidentialityCode/@code"
    )
    assert classification("urn:uuid:f33fb8ac-18af-42cc-ae0e-ed0b0bdb91e1") == _x(
        cda, "//h:healthCareFacility/h:code/@code"
    )
    assert classification("urn:uuid:cccf5598-8b07-4b77-a05e-ae952c785ead") == _x(
        cda, "//h:standardIndustryClassCode/@code"
    )
    (title,) = eo.xpath("rim:Name/rim:LocalizedString/@value", namespaces=RIM)
    assert title == _x(cda, "h:title/text()")
    kinds = Counter(
        etree.QName(el).localname for el in meta.xpath("//rim:RegistryObjectList/*", namespaces=RIM)
    )
    assert kinds == Counter(ExtrinsicObject=1, RegistryPackage=1, Classification=1, Association=1)
    (submission,) = meta.xpath(
        "//rim:RegistryPackage/rim:Slot[@name='submissionTime']//rim:Value/text()", namespaces=RIM
    )
    assert submission == "20260301100000"  # generated_at, the one generation timestamp


def test_xdm_is_deterministic_for_the_same_generation_time(validated: ExportInput) -> None:
    assert render_xdm(validated) == render_xdm(validated)
    later = validated.model_copy(update={"generated_at": validated.generated_at.replace(hour=11)})
    a = zipfile.ZipFile(io.BytesIO(render_xdm(validated)))
    b = zipfile.ZipFile(io.BytesIO(render_xdm(later)))
    assert a.read("IHE_XDM/SUBSET01/DOC0001.XML") == b.read("IHE_XDM/SUBSET01/DOC0001.XML")
    assert a.read("IHE_XDM/SUBSET01/METADATA.XML") != b.read("IHE_XDM/SUBSET01/METADATA.XML")
    assert render_cda_document(validated).xml == render_cda(validated)
