from __future__ import annotations

import copy
import json
from collections import Counter
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle as R4BBundle
from fhirclient.models.bundle import Bundle as R4Bundle  # type: ignore[import-untyped]

from exports import terminology
from exports.context import ExportInput
from exports.fhir import SD, render_fhir, render_fhir_bundle
from exports.tddui_checks import check_bundle

Json = dict[str, Any]


def _by_profile(bundle: Json) -> dict[str, list[Json]]:
    out: dict[str, list[Json]] = {}
    for e in bundle["entry"]:
        res = e["resource"]
        out.setdefault(res["meta"]["profile"][0].removeprefix(SD), []).append(res)
    return out


def test_bundle_parses_with_fhir_r4_models_and_passes_tddui_checks(validated: ExportInput) -> None:
    bundle = json.loads(render_fhir(validated))
    R4BBundle.model_validate(bundle)  # fhir.resources (pydantic, R4B = R4 for these resources)
    R4Bundle(bundle, strict=True)  # fhirclient models generated from FHIR 4.0.1
    assert check_bundle(bundle) == []


def test_bundle_shape_golden(validated: ExportInput) -> None:
    bundle = render_fhir_bundle(validated)
    counts = Counter({k: len(v) for k, v in _by_profile(bundle).items()})
    ct = validated.content
    assert counts == Counter(
        {
            "tddui-patient-ins": 1,
            "tddui-organization": 1,
            "tddui-practitioner": 5,
            "tddui-consent-accord": 2,
            "tddui-careplan-projet-personnalise": 1,
            "tddui-service-request-besoin": len(ct.besoins),
            "tddui-goal-objectif": len(ct.objectifs),
            "tddui-task-action": len(ct.actions),
            "tddui-task-prestation": sum(len(a.prestations) for a in ct.actions),
        }
    )
    assert bundle["type"] == "transaction"
    for e in bundle["entry"]:
        assert e["fullUrl"].startswith("urn:uuid:")
        assert e["request"]["method"] == "POST"
        assert e["request"]["url"] == e["resource"]["resourceType"]
    (careplan,) = _by_profile(bundle)["tddui-careplan-projet-personnalise"]
    assert careplan["identifier"][0]["value"] == "3750012345/U2024-0042-PPER-1"
    assert careplan["category"][0]["coding"][0]["code"] == "PPA"
    (patient,) = _by_profile(bundle)["tddui-patient-ins"]
    ins = patient["identifier"][0]
    assert ins["system"] == "urn:oid:1.2.250.1.213.1.4.10"
    assert ins["value"] == "208037511512369"
    goal = _by_profile(bundle)["tddui-goal-objectif"][0]
    assert goal["note"][0]["text"] == ct.objectifs[0].titre


def test_every_serafin_code_is_the_versions_with_its_official_label(validated: ExportInput) -> None:
    by = _by_profile(render_fhir_bundle(validated))
    besoin_codes = [sr["category"][0]["coding"][0] for sr in by["tddui-service-request-besoin"]]
    assert [c["code"] for c in besoin_codes] == [b.code for b in validated.content.besoins]
    prest_codes = [
        i["valueCodeableConcept"]["coding"][0]
        for t in by["tddui-task-prestation"]
        for i in t["input"]
        if "valueCodeableConcept" in i
    ]
    assert [c["code"] for c in prest_codes] == [
        p for a in validated.content.actions for p in a.prestations
    ]
    for coding in besoin_codes + prest_codes:
        assert coding["system"] == terminology.SERAFIN_SYSTEM
        assert coding["display"] == terminology.label(coding["code"])


def test_business_identifiers_are_stable_across_an_avenant(
    validated: ExportInput, avenant: ExportInput
) -> None:
    def ids(inp: ExportInput) -> set[str]:
        return {
            e["resource"]["identifier"][0]["value"]
            for e in render_fhir_bundle(inp)["entry"]
            if e["resource"]["resourceType"] in ("Goal", "CarePlan", "ServiceRequest")
        }

    assert ids(validated) == ids(avenant)
    assert check_bundle(render_fhir_bundle(avenant)) == []


def _mutate(bundle: Json, profile: str, fn: Any) -> Json:
    b = copy.deepcopy(bundle)
    for e in b["entry"]:
        if e["resource"]["meta"]["profile"][0] == SD + profile:
            fn(e["resource"])
            break
    return b


@pytest.mark.parametrize(
    ("profile", "mutation", "expected"),
    [
        ("tddui-goal-objectif", lambda r: r.update(note=r["note"][1:]), "titreObjectif"),
        (
            "tddui-service-request-besoin",
            lambda r: r["category"][0]["coding"][0].update(code="2.2.1"),
            "JDV-J285",
        ),
        (
            "tddui-task-prestation",
            lambda r: r["input"][1]["valueCodeableConcept"]["coding"][0].update(display="x"),
            "libellé officiel",
        ),
        (
            "tddui-careplan-projet-personnalise",
            lambda r: r.update(supportingInfo=r["supportingInfo"][1:]),
            "accordStructure",
        ),
        ("tddui-task-action", lambda r: r.update(basedOn=[]), "basedOn"),
        ("tddui-patient-ins", lambda r: r["identifier"][0].update(value="208037511512368"), "INS"),
        ("tddui-consent-accord", lambda r: r.pop("dateTime"), "dateTime"),
    ],
)
def test_tddui_checks_catch_broken_bundles(
    validated: ExportInput, profile: str, mutation: Any, expected: str
) -> None:
    broken = _mutate(render_fhir_bundle(validated), profile, mutation)
    problems = check_bundle(broken)
    assert problems
    assert any(expected in p for p in problems), problems


def test_same_input_same_bytes(validated: ExportInput) -> None:
    assert render_fhir(validated) == render_fhir(validated)
