"""The TDDUI resources of a PPA version as one readable CarePlan (the FHIR read API, ``/fhir``).

The transaction Bundle of :mod:`exports.fhir` is what a DUI imports; a read API serves
resources with ids. :func:`careplan_resource` turns the Bundle into the
``tddui-careplan-projet-personnalise`` CarePlan whose id is the PPA's, with every other resource
of the Bundle (Patient, Organization, Practitioners, Consents, ServiceRequests, Goals, Tasks)
**contained** and referenced as ``#<id>`` (references to the CarePlan itself become ``#``), so
one read gives the whole PPA, every reference resolves, and no other resource type has to be
served. The Organization is referenced from ``CarePlan.contributor`` (dom-3: a contained resource
is referenced). :func:`bundle_from_careplan` is the inverse (contained -> transaction Bundle),
used to check the profiles on what we serve and by the import.
"""

from __future__ import annotations

import copy
import uuid
from typing import Any

from exports.context import EXPORT_NAMESPACE
from exports.fhir import SD

Json = dict[str, Any]


def _rewrite(obj: Any, refs: dict[str, str]) -> Any:
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            if k == "reference" and isinstance(v, str) and v in refs:
                out[k] = refs[v]
            else:
                out[k] = _rewrite(v, refs)
        return out
    if isinstance(obj, list):
        return [_rewrite(v, refs) for v in obj]
    return obj


def careplan_resource(
    bundle: Json, ppa_id: str, version_id: str, last_updated: str, *, draft: bool
) -> Json:
    """The CarePlan of ``bundle`` (a TDDUI transaction) with the rest contained."""
    careplan_url = next(
        e["fullUrl"] for e in bundle["entry"] if e["resource"]["resourceType"] == "CarePlan"
    )
    refs = {careplan_url: "#"}
    for e in bundle["entry"]:
        if e["fullUrl"] != careplan_url:
            refs[e["fullUrl"]] = "#" + e["fullUrl"].removeprefix("urn:uuid:")
    contained: list[Json] = []
    careplan: Json = {}
    org_ref: str | None = None
    for e in bundle["entry"]:
        res = _rewrite(copy.deepcopy(e["resource"]), refs)
        if e["fullUrl"] == careplan_url:
            careplan = res
            continue
        res["id"] = refs[e["fullUrl"]][1:]
        res.get("meta", {}).pop("lastUpdated", None)
        if res["resourceType"] == "Organization":
            org_ref = "#" + res["id"]
        contained.append(res)
    careplan = {
        "resourceType": "CarePlan",
        "id": ppa_id,
        "meta": {
            **careplan["meta"],
            "versionId": version_id,
            "lastUpdated": last_updated,
        },
        "contained": contained,
        **{k: v for k, v in careplan.items() if k not in ("resourceType", "meta")},
    }
    careplan["status"] = "draft" if draft else careplan["status"]
    if org_ref is not None:
        careplan["contributor"] = [{"reference": org_ref}]
    return careplan


def bundle_from_careplan(careplan: Json) -> Json:
    """The TDDUI transaction Bundle a served CarePlan holds (contained -> entries)."""
    refs = {"#": f"urn:uuid:{uuid.uuid5(EXPORT_NAMESPACE, 'careplan:' + careplan.get('id', ''))}"}
    for res in careplan.get("contained", []):
        refs["#" + res["id"]] = "urn:uuid:" + res["id"]
    entries = []
    for res in careplan.get("contained", []):
        body = _rewrite(copy.deepcopy(res), refs)
        body.pop("id", None)
        entries.append({"fullUrl": refs["#" + res["id"]], "resource": body})
    plan = _rewrite(copy.deepcopy(careplan), refs)
    plan.pop("contained", None)
    plan.pop("contributor", None)
    plan.pop("id", None)
    plan["meta"] = {k: v for k, v in plan["meta"].items() if k not in ("versionId",)}
    entries.append({"fullUrl": refs["#"], "resource": plan})
    for e in entries:
        e["request"] = {"method": "POST", "url": e["resource"]["resourceType"]}
    return {
        "resourceType": "Bundle",
        "meta": {"profile": [SD + "tddui-bundle"]},
        "type": "transaction",
        "entry": entries,
    }
