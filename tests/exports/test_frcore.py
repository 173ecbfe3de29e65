"""FR Core slices under the TDDUI bundle, and conditional creates of what did not change."""

from __future__ import annotations

import copy
from typing import Any

from exports.context import ExportInput
from exports.fhir import STATE_TAG_SYSTEM, render_fhir_bundle
from exports.frcore_checks import check_resource
from exports.tddui_checks import check_bundle

Json = dict[str, Any]


def _frcore(bundle: Json) -> list[str]:
    out: list[str] = []
    for i, e in enumerate(bundle["entry"]):
        out += check_resource(f"entry[{i}]", e["resource"])
    return out


def test_every_fr_core_identifier_slice_holds(validated: ExportInput, avenant: ExportInput) -> None:
    for inp in (validated, avenant):
        bundle = render_fhir_bundle(inp)
        assert _frcore(bundle) == []
        assert check_bundle(bundle, inp.content) == []
    by_type: dict[str, list[Json]] = {}
    for e in render_fhir_bundle(validated)["entry"]:
        by_type.setdefault(e["resource"]["resourceType"], []).append(e["resource"])
    for pract in by_type["Practitioner"]:
        (ident,) = pract["identifier"]
        assert ident["type"]["coding"][0]["code"] == "IDNPS"
    (org,) = by_type["Organization"]
    (ident,) = org["identifier"]
    assert (ident["use"], ident["type"]["coding"][0]["code"]) == ("official", "IDNST")


def test_the_seven_slice_errors_of_bare_national_identifiers(validated: ExportInput) -> None:
    """Without type (and use) the national identifiers break every idNatPs and 2 idNatSt slices."""
    bundle = copy.deepcopy(render_fhir_bundle(validated))
    for e in bundle["entry"]:
        if e["resource"]["resourceType"] in ("Practitioner", "Organization"):
            for ident in e["resource"]["identifier"]:
                ident.pop("type")
                ident.pop("use", None)
    practitioners = sum(e["resource"]["resourceType"] == "Practitioner" for e in bundle["entry"])
    assert practitioners >= 2
    problems = _frcore(bundle)
    assert len(problems) == practitioners + 2, problems
    assert sum("idNatPs.type" in p for p in problems) == practitioners
    assert sum("idNatSt" in p for p in problems) == 2  # the structure's type and use
    assert len([p for p in check_bundle(bundle) if "idNat" in p]) == practitioners + 2


def _conditions(inp: ExportInput) -> dict[str, str]:
    """Business identifier -> ifNoneExist of each PPA element."""
    out = {}
    for e in render_fhir_bundle(inp)["entry"]:
        cond = e["request"].get("ifNoneExist", "")
        if "_tag=" in cond:
            out[e["resource"]["identifier"][0]["value"]] = cond
    return out


def test_conditional_create_sends_again_only_what_changed(
    validated: ExportInput, avenant: ExportInput
) -> None:
    before, after = _conditions(validated), _conditions(avenant)
    assert _conditions(validated) == before  # re-sending a version creates nothing new
    same = {k for k in before.keys() & after.keys() if before[k] == after[k]}
    changed = {k for k in before.keys() & after.keys() if before[k] != after[k]}
    assert same
    assert changed
    base = {o.id: o for o in validated.content.objectifs} | {
        a.id: a for a in validated.content.actions
    }
    new = {o.id: o for o in avenant.content.objectifs} | {a.id: a for a in avenant.content.actions}
    for key in same | changed:
        kind, item = key.split("-")[-2], key.rsplit("-", 1)[-1]
        if kind in ("OBJE", "ACTI") and item in base and item in new and base[item] != new[item]:
            assert key in changed, key
    # the CarePlan of an avenant is a new state; every tag is in our own system
    careplan = next(k for k in before if "-PPER-" in k)
    assert careplan in changed
    for e in render_fhir_bundle(avenant)["entry"]:
        for tag in e["resource"].get("meta", {}).get("tag", []):
            assert tag["system"] == STATE_TAG_SYSTEM
    for cond in after.values():
        assert cond.startswith("identifier=https://identifiant-medicosocial-")
        assert f"&_tag={STATE_TAG_SYSTEM}|" in cond
