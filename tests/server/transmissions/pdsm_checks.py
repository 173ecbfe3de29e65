"""The PDSm 3.1.1 ``pdsm-comprehensive-provide-document-bundle`` constraints the loopback DMP
checks on what it receives: cardinalities, fixed values, bindings (code systems of the JDV named
by the profiles) and the attachment's size and SHA-1 against the Binary."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

PDSM = "https://interop.esante.gouv.fr/ig/fhir/pdsm/StructureDefinition/"
NOS = "https://mos.esante.gouv.fr/NOS/"
BINDINGS = {
    "category (JDV_J06 / TRE_A03)": NOS + "TRE_A03-ClasseDocument/FHIR/TRE-A03-ClasseDocument",
    "facilityType (JDV_J02 / TRE_R02)": NOS
    + "TRE_R02-SecteurActivite/FHIR/TRE-R02-SecteurActivite",
    "practiceSetting (JDV_J04 / TRE_A01)": NOS + "TRE_A01-CadreExercice/FHIR/TRE-A01-CadreExercice",
    "format (JDV_J10 / TRE_A11)": NOS + "TRE_A11-IheFormatCode/FHIR/TRE-A11-IheFormatCode",
}
CONFIDENTIALITY = {"U", "L", "M", "N", "R", "V"}
"""v3-ConfidentialityClassification (required binding of securityLabel[confidentiality])."""


def _coding(cc: Any) -> dict[str, Any]:
    codings = (cc or {}).get("coding") or []
    return codings[0] if codings else {}


def check_bundle(bundle: dict[str, Any]) -> list[str]:  # noqa: C901 - one check per constraint
    p: list[str] = []
    if bundle.get("resourceType") != "Bundle" or bundle.get("type") != "transaction":
        return ["Bundle.type must be transaction"]
    if PDSM + "pdsm-comprehensive-provide-document-bundle" not in bundle.get("meta", {}).get(
        "profile", []
    ):
        p.append("Bundle.meta.profile")
    entries = bundle.get("entry") or []
    by_url: dict[str, dict[str, Any]] = {}
    for e in entries:
        res = e.get("resource") or {}
        if not str(e.get("fullUrl", "")).startswith("urn:uuid:"):
            p.append("entry.fullUrl urn:uuid")
        req = e.get("request") or {}
        if req.get("method") != "POST" or req.get("url") != res.get("resourceType"):
            p.append(f"entry.request of {res.get('resourceType')}")
        by_url[e.get("fullUrl", "")] = res
    kinds = [r.get("resourceType") for r in by_url.values()]
    lists = [r for r in by_url.values() if r.get("resourceType") == "List"]
    docrefs = [r for r in by_url.values() if r.get("resourceType") == "DocumentReference"]
    binaries = {u: r for u, r in by_url.items() if r.get("resourceType") == "Binary"}
    if len(lists) != 1:
        p.append("SubmissionSet 1..1")
    if not docrefs:
        p.append("DocumentRefs 1..*")
    if "Patient" in kinds:
        p.append("entry[Patient] 0..0")
    for ss in lists:
        if PDSM + "pdsm-submissionset-comprehensive" not in ss.get("meta", {}).get("profile", []):
            p.append("List.meta.profile")
        if not ss.get("contained"):
            p.append("List.contained 1..")
        urls = {x.get("url", "") for x in ss.get("extension") or []}
        if len(urls) < 2 or not any(u.endswith("ihe-designationType") for u in urls):
            p.append("List.extension designationType")
        if not any(u.endswith("ihe-sourceId") for u in urls):
            p.append("List.extension sourceId")
        uses = sorted(i.get("use", "") for i in ss.get("identifier") or [])
        if uses != ["official", "usual"]:
            p.append("List.identifier uniqueId + entryUUID")
        if ss.get("status") != "current" or ss.get("mode") != "working":
            p.append("List.status current, mode working")
        if _coding(ss.get("code")).get("code") != "submissionset":
            p.append("List.code submissionset")
        for name in ("subject", "date", "source"):
            if not ss.get(name):
                p.append(f"List.{name} 1..1")
        contained_ids = {"#" + c.get("id", "") for c in ss.get("contained") or []}
        if (ss.get("source") or {}).get("reference") not in contained_ids:
            p.append("List.source -> contained")
        items = [str((x.get("item") or {}).get("reference")) for x in ss.get("entry") or []]
        if sorted(items) != sorted(u for u, r in by_url.items() if r in docrefs):
            p.append("List.entry.item -> the DocumentReferences")
    for d in docrefs:
        p += check_document_reference(d, binaries)
    return p


def check_document_reference(  # noqa: C901 - one check per constraint
    d: dict[str, Any], binaries: dict[str, dict[str, Any]]
) -> list[str]:
    p: list[str] = []
    if PDSM + "pdsm-comprehensive-document-reference" not in d.get("meta", {}).get("profile", []):
        p.append("DocumentReference.meta.profile")
    contained = {"#" + c.get("id", ""): c for c in d.get("contained") or []}
    if not contained:
        p.append("DocumentReference.contained 1..")
    mi = d.get("masterIdentifier") or {}
    if not mi.get("system") or not mi.get("value"):
        p.append("masterIdentifier")
    if d.get("status") != "current":
        p.append("status current")
    if _coding(d.get("type")).get("system") != "http://loinc.org":
        p.append("type LOINC")
    checks = {
        "category (JDV_J06 / TRE_A03)": _coding((d.get("category") or [{}])[0]),
        "facilityType (JDV_J02 / TRE_R02)": _coding((d.get("context") or {}).get("facilityType")),
        "practiceSetting (JDV_J04 / TRE_A01)": _coding(
            (d.get("context") or {}).get("practiceSetting")
        ),
        "format (JDV_J10 / TRE_A11)": _coding(((d.get("content") or [{}])[0]).get("format")),
    }
    for name, coding in checks.items():
        if coding.get("system") != BINDINGS[name] or not coding.get("code"):
            p.append(name)
    labels = [_coding(s) for s in d.get("securityLabel") or []]
    confidentiality = [
        c
        for c in labels
        if c.get("system") == "http://terminology.hl7.org/CodeSystem/v3-Confidentiality"
    ]
    if len(confidentiality) != 1 or confidentiality[0].get("code") not in CONFIDENTIALITY:
        p.append("securityLabel[confidentiality] 1..1 (JDV_J08)")
    for name in ("custodian", "date", "subject"):
        if not d.get(name):
            p.append(f"{name} 1..")
    authors = d.get("author") or []
    if not authors or any(a.get("reference") not in contained for a in authors):
        p.append("author 1.. (contained)")
    content = d.get("content") or []
    if len(content) != 1:
        return [*p, "content 1..1"]
    att = content[0].get("attachment") or {}
    for name in ("size", "hash", "title", "contentType", "language", "creation"):
        if att.get(name) in (None, ""):
            p.append(f"content.attachment.{name} 1..")
    binary = binaries.get(att.get("url", ""))
    if binary is None:
        p.append("content.attachment.url -> a Binary of the bundle")
    else:
        data = base64.b64decode(binary.get("data", ""))
        if att.get("size") != len(data):
            p.append("content.attachment.size = Binary size")
        sha1 = base64.b64encode(hashlib.sha1(data, usedforsecurity=False).digest()).decode()
        if att.get("hash") != sha1:
            p.append("content.attachment.hash = SHA-1 of the Binary")
    if not ((d.get("context") or {}).get("period") or {}).get("start"):
        p.append("context.period.start 1..")
    for rel in d.get("relatesTo") or []:
        if rel.get("code") != "replaces" or not (rel.get("target") or {}).get("identifier"):
            p.append("relatesTo replaces -> the replaced document's identifier")
    return p
