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
    assert check_bundle(bundle, validated.content) == []


def test_bundle_shape_golden(validated: ExportInput) -> None:
    bundle = render_fhir_bundle(validated)
    counts = Counter({k: len(v) for k, v in _by_profile(bundle).items()})
    ct = validated.content
    assert counts == Counter(
        {
            "tddui-patient-ins": 1,
            "tddui-organization": 1,
            "tddui-practitioner": 4,
            "tddui-consent-accord": 2,
            "tddui-careplan-projet-personnalise": 1,
            "tddui-service-request-besoin": len(ct.besoins),
            "tddui-goal-objectif": len(ct.objectifs),
            "tddui-task-action": len(ct.actions),
            "tddui-task-prestation": sum(len(a.prestations) for a in ct.actions),
            "tddui-goal-attente": len(ct.attentes),
            "tddui-task-bilan": 1,
        }
    )
    assert bundle["type"] == "transaction"
    for e in bundle["entry"]:
        assert e["fullUrl"].startswith("urn:uuid:")
        assert e["request"]["method"] == "POST"
        assert e["request"]["url"] == e["resource"]["resourceType"]
    (careplan,) = _by_profile(bundle)["tddui-careplan-projet-personnalise"]
    assert careplan["identifier"][0]["value"] == "3690790316/FAM-2021-0042-PPER-1"
    assert careplan["category"][0]["coding"][0]["code"] == "PPA"
    (patient,) = _by_profile(bundle)["tddui-patient-ins"]
    ins = patient["identifier"][0]
    assert ins["system"] == "urn:oid:1.2.250.1.213.1.4.10"
    assert ins["value"] == "298046912304540"
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
    assert check_bundle(render_fhir_bundle(avenant), avenant.content) == []


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
        ("tddui-patient-ins", lambda r: r["identifier"][0].update(value="298046912304541"), "INS"),
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


# -- links between entries (project-level TDDUI constraints) ---------------------------------


def _entries(bundle: Json, profile: str) -> list[Json]:
    return [e for e in bundle["entry"] if e["resource"]["meta"]["profile"][0] == SD + profile]


def _res(bundle: Json, profile: str, n: int = 0) -> Json:
    resource: Json = _entries(bundle, profile)[n]["resource"]
    return resource


def _url(bundle: Json, profile: str, n: int = 0) -> str:
    url: str = _entries(bundle, profile)[n]["fullUrl"]
    return url


def _input_code(i: Json) -> str:
    code: str = i["type"]["coding"][0]["code"]
    return code


def _drop_inputs(task: Json, code: str) -> None:
    task["input"] = [i for i in task["input"] if _input_code(i) != code]


def _drop_notes(goal: Json, code: str) -> None:
    goal["note"] = [
        n
        for n in goal["note"]
        if n["extension"][0]["valueCodeableConcept"]["coding"][0]["code"] != code
    ]


GOAL = "tddui-goal-objectif"
BESOIN = "tddui-service-request-besoin"
ACTION = "tddui-task-action"
PRESTATION = "tddui-task-prestation"
CAREPLAN = "tddui-careplan-projet-personnalise"
PPA_CATEGORY = "CarePlan.category: exactement une catégorie TRE_R390 (le type du projet)"


def _set_category(b: Json, **changes: str) -> None:
    _res(b, CAREPLAN)["category"][0]["coding"][0].update(changes)


LINK_MUTATIONS: dict[str, tuple[Any, str]] = {
    "goal without addresses": (
        lambda b: _res(b, GOAL).pop("addresses"),
        "Goal.addresses: cardinalité 0 hors de 1..1",
    ),
    "goal addressing two besoins": (
        lambda b: _res(b, GOAL)["addresses"].append({"reference": _url(b, BESOIN, 1)}),
        "Goal.addresses: cardinalité 2 hors de 1..1",
    ),
    "goal addressing the careplan": (
        lambda b: _res(b, GOAL)["addresses"][0].update(reference=_url(b, CAREPLAN)),
        "Goal.addresses: doit viser le besoin (tddui-service-request-besoin)",
    ),
    "goal addressing another objective's besoin": (
        lambda b: _res(b, GOAL)["addresses"][0].update(reference=_url(b, BESOIN, 1)),
        "Goal.addresses: doit viser le besoin de l'objectif o-1",
    ),
    "goal without the person's avis": (
        lambda b: _drop_notes(_res(b, GOAL), "avisUsagerObjectif"),
        "Goal.note:avisUsagerObjectif: doit reprendre l'avis de la personne",
    ),
    "goal with an avis the person did not give": (
        lambda b: _res(b, GOAL, 3)["note"].append(
            {**_res(b, GOAL, 0)["note"][1], "text": "Avis inventé."}
        ),
        "Goal.note:avisUsagerObjectif: doit reprendre l'avis de la personne",
    ),
    "prestation without partOf": (
        lambda b: _res(b, PRESTATION).pop("partOf"),
        "Task.partOf: cardinalité 0 hors de 1..1",
    ),
    "prestation part of another action": (
        lambda b: _res(b, PRESTATION)["partOf"][0].update(reference=_url(b, ACTION, 1)),
        "Task.partOf: doit viser l'action de la prestation",
    ),
    "prestation part of a goal": (
        lambda b: _res(b, PRESTATION)["partOf"][0].update(reference=_url(b, GOAL)),
        "Task.partOf: doit viser une Task tddui-task-action",
    ),
    "action without objectif input": (
        lambda b: _drop_inputs(_res(b, ACTION), "objectif"),
        "Task.input:objectif: au moins un objectif requis",
    ),
    "action pointing to another objective": (
        lambda b: [
            i["valueReference"].update(reference=_url(b, GOAL, 3))
            for i in _res(b, ACTION)["input"]
            if _input_code(i) == "objectif"
        ],
        "Task.input:objectif: doit viser les objectifs de l'action act-1",
    ),
    "action without the person's avis": (
        lambda b: _drop_inputs(_res(b, ACTION), "avisUsager"),
        "Task.input:avisUsager: doit reprendre l'avis de la personne",
    ),
    "careplan without category": (lambda b: _res(b, CAREPLAN).pop("category"), PPA_CATEGORY),
    "careplan category PPI": (lambda b: _set_category(b, code="PPI"), PPA_CATEGORY),
    "careplan category in another system": (
        lambda b: _set_category(b, system="http://example.org/type"),
        PPA_CATEGORY,
    ),
    "careplan category with a wrong display": (
        lambda b: _set_category(b, display="Projet"),
        PPA_CATEGORY,
    ),
    "careplan category with a second coding": (
        lambda b: _res(b, CAREPLAN)["category"][0]["coding"].append(
            {"system": "http://example.org/type", "code": "x"}
        ),
        PPA_CATEGORY,
    ),
    "a prestation of the version missing": (
        lambda b: b["entry"].remove(_entries(b, PRESTATION)[-1]),
        "Bundle.entry:tddui-task-prestation: ne correspond pas au contenu de la version",
    ),
}


@pytest.mark.parametrize("name", sorted(LINK_MUTATIONS))
def test_tddui_checks_catch_broken_links(validated: ExportInput, name: str) -> None:
    bundle = render_fhir_bundle(validated)
    assert check_bundle(bundle, validated.content) == []
    mutation, expected = LINK_MUTATIONS[name]
    broken = copy.deepcopy(bundle)
    mutation(broken)
    problems = check_bundle(broken, validated.content)
    assert any(expected in p for p in problems), problems


def test_links_follow_the_content(validated: ExportInput) -> None:
    """Read independently of the checker: identifiers say which item each resource is."""
    bundle = render_fhir_bundle(validated)
    by_url = {e["fullUrl"]: e["resource"] for e in bundle["entry"]}

    def item(res: Json) -> str:
        value: str = res["identifier"][0]["value"]  # {3 + FINESS}/{local id}-{TYPE}-{item id}
        local = value.split("/", 1)[1].removeprefix(f"{validated.person.local_id}-")
        return local.split("-", 1)[1]

    ct = validated.content
    goals = {item(g): g for g in (e["resource"] for e in _entries(bundle, GOAL))}
    assert set(goals) == {o.id for o in ct.objectifs}
    for o in ct.objectifs:
        (addr,) = goals[o.id]["addresses"]
        assert [item(by_url[addr["reference"]])] == o.besoin_ids
    actions = {item(t["resource"]): t for t in _entries(bundle, ACTION)}
    for a in ct.actions:
        refs = [
            i["valueReference"]["reference"]
            for i in actions[a.id]["resource"]["input"]
            if _input_code(i) == "objectif"
        ]
        assert [item(by_url[r]) for r in refs] == a.objectif_ids
    for e in _entries(bundle, PRESTATION):
        (part,) = e["resource"]["partOf"]
        action_id = item(by_url[part["reference"]])
        assert item(e["resource"]).startswith(action_id + ".")
