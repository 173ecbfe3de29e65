"""The TDDUI bundle carries what rules 2, 3, 5 and 7 model (docs/domain-rules.md, docs/exports.md):
the projet's TRE_R390 type as the CarePlan category (avenants included), the Consent performer
(Patient, legal representative as RelatedPerson), the reason of a refusal, the attentes with
``expressedBy``, the bilan Task (held or planned) and each objective's agreement and result;
the FALC PDF says the refusal and its reason."""

from __future__ import annotations

import copy
from datetime import date
from typing import Any

from editor.schema import (
    AccordObjectif,
    ModeAccord,
    OrigineAttente,
    PPAContent,
    ResultatObjectif,
    TypeAccord,
)
from exports.context import AccordRecord, ExportInput, RelatedPerson
from exports.falc import render_falc
from exports.fhir import SD, render_fhir_bundle
from exports.fhir_followup import REASON_EXT
from exports.tddui_checks import check_bundle
from tests.exports.conftest import pdf_text, squash

Json = dict[str, Any]

TUTEUR = RelatedPerson(id="m-tuteur", name="Paul MARTIN", measure="tutelle", scope="personne")


def _with(inp: ExportInput, content: PPAContent | None = None, **changes: Any) -> ExportInput:
    data = {"content": content or inp.content, **changes}
    return inp.model_copy(update=data)


def _resources(bundle: Json, profile: str) -> list[Json]:
    return [
        e["resource"]
        for e in bundle["entry"]
        if profile in e["resource"].get("meta", {}).get("profile", [])
    ]


def _by_url(bundle: Json) -> dict[str, Json]:
    return {e["fullUrl"]: e["resource"] for e in bundle["entry"]}


def _accords(*records: AccordRecord) -> tuple[AccordRecord, ...]:
    structure = AccordRecord(
        id="a-s", type=TypeAccord.STRUCTURE, mode=ModeAccord.SIGNE, by="Claire DURAND"
    )
    return (structure, *records)


def test_the_careplan_category_is_the_projet_type(
    validated: ExportInput, avenant: ExportInput
) -> None:
    for inp, code, display in (
        (validated, "PPA", "Projet Personnalisé d'Accompagnement"),
        (avenant, "PPIA", "Projet Personnalisé Individuel d'Accompagnement"),
    ):
        content = copy.deepcopy(inp.content)
        content.projet.type = code
        bundle = render_fhir_bundle(_with(inp, content))
        [careplan] = _resources(bundle, SD + "tddui-careplan-projet-personnalise")
        assert careplan["category"] == [
            {
                "coding": [
                    {
                        "system": "https://smt.esante.gouv.fr/fhir/CodeSystem/"
                        "tre-r390-type-projet-personnalise",
                        "code": code,
                        "display": display,
                    }
                ]
            }
        ]
        assert check_bundle(bundle, content) == []


def test_a_legal_representative_performs_his_consent_as_related_person(
    validated: ExportInput,
) -> None:
    given = AccordRecord(
        id="a-r",
        type=TypeAccord.REPRESENTANT,
        mode=ModeAccord.SIGNE,
        by=TUTEUR.name,
        by_related_id=TUTEUR.id,
        date=date(2026, 11, 27),
    )
    inp = _with(validated, accords=_accords(given), related_persons={TUTEUR.id: TUTEUR})
    bundle = render_fhir_bundle(inp)
    urls = _by_url(bundle)
    consents = _resources(bundle, SD + "tddui-consent-accord")
    [performer] = consents[-1]["performer"]
    related = urls[performer["reference"]]
    assert related["resourceType"] == "RelatedPerson"
    assert related["relationship"][0]["coding"][0]["code"] == "GUARD"
    assert related["relationship"][0]["text"] == "Représentant légal (tutelle)"
    assert related["name"] == [{"text": "Paul MARTIN"}]
    assert urls[related["patient"]["reference"]]["resourceType"] == "Patient"
    assert check_bundle(bundle, inp.content) == []


def test_the_person_performs_her_consent_and_a_refusal_carries_its_reason(
    validated: ExportInput,
) -> None:
    refusal = AccordRecord(
        id="a-p",
        type=TypeAccord.PERSONNE,
        mode=ModeAccord.REFUSE,
        by="Léa MARTIN",
        reason="Ne veut pas du suivi du soir.",
    )
    not_sought = AccordRecord(
        id="a-r",
        type=TypeAccord.REPRESENTANT,
        mode=ModeAccord.NON_SOLLICITE,
        by=TUTEUR.name,
        by_related_id=TUTEUR.id,
        reason="Tuteur injoignable avant l'échéance.",
    )
    inp = _with(
        validated, accords=_accords(refusal, not_sought), related_persons={TUTEUR.id: TUTEUR}
    )
    bundle = render_fhir_bundle(inp)
    urls = _by_url(bundle)
    _, person, representative = _resources(bundle, SD + "tddui-consent-accord")
    assert urls[person["performer"][0]["reference"]]["resourceType"] == "Patient"
    assert person["status"] == "rejected"
    assert person["provision"] == {"type": "deny"}
    assert [x for x in person["extension"] if x["url"] == REASON_EXT] == [
        {"url": REASON_EXT, "valueCodeableConcept": {"text": "Ne veut pas du suivi du soir."}}
    ]
    assert representative["status"] == "proposed"
    assert representative["extension"][0]["valueCodeableConcept"]["text"] == (
        "Tuteur injoignable avant l'échéance."
    )
    assert check_bundle(bundle, inp.content) == []


def test_each_attente_is_a_goal_expressed_by_its_origin(validated: ExportInput) -> None:
    bundle = render_fhir_bundle(validated)
    urls = _by_url(bundle)
    goals = _resources(bundle, SD + "tddui-goal-attente")
    attentes = validated.content.attentes
    assert [g["description"]["text"] for g in goals] == [a.texte for a in attentes]
    for goal, attente in zip(goals, attentes, strict=True):
        expressed = goal["expressedBy"]
        if attente.origine is OrigineAttente.PERSONNE:
            assert urls[expressed["reference"]]["resourceType"] == "Patient"
        else:
            assert "reference" not in expressed
            assert expressed["display"]
        assert goal["identifier"][0]["value"].endswith(f"-ATTE-{attente.id}")
    assert {a.origine for a in attentes} == set(OrigineAttente)


def test_the_bilan_task_is_requested_when_planned_completed_when_held(
    validated: ExportInput,
) -> None:
    bundle = render_fhir_bundle(validated)
    [planned] = _resources(bundle, SD + "tddui-task-bilan")
    assert planned["status"] == "requested"
    assert planned["executionPeriod"] == {"start": "2027-06-15"}
    content = copy.deepcopy(validated.content)
    bilan = content.bilan
    bilan.date_evaluation = date(2026, 11, 20)
    bilan.synthese = "Projet construit avec Léa et sa sœur."
    bilan.redige_par = "pro-coord"
    bilan.perimetre = "Tous les objectifs"
    bilan.invites_ids = ["pro-ide"]
    bilan.invites_autres = "Sa sœur"
    inp = _with(validated, content)
    bundle = render_fhir_bundle(inp)
    urls = _by_url(bundle)
    [held] = _resources(bundle, SD + "tddui-task-bilan")
    assert held["status"] == "completed"
    assert held["executionPeriod"] == {"start": "2026-11-20"}
    inputs = {(i["type"]["coding"][0]["code"], str(next(iter(i.values())))) for i in held["input"]}
    assert ("perimetre", "Tous les objectifs") in {
        (i["type"]["coding"][0]["code"], i.get("valueString")) for i in held["input"]
    }
    invited = [
        i["valueString"] for i in held["input"] if i["type"]["coding"][0]["code"] == "invite"
    ]
    assert invited == [inp.professional_name("pro-ide"), "Sa sœur"]
    assert inputs
    [output] = held["output"]
    assert output["valueAnnotation"]["text"] == "Projet construit avec Léa et sa sœur."
    author = urls[output["valueAnnotation"]["authorReference"]["reference"]]
    assert author["resourceType"] == "Practitioner"
    assert check_bundle(bundle, content) == []


def test_each_objective_carries_the_agreement_and_the_result(validated: ExportInput) -> None:
    content = copy.deepcopy(validated.content)
    sante = content.objectifs[0]
    sante.accord_usager = AccordObjectif.DESACCORD
    sante.avis_usager = "Pas de contrôle le soir."
    sante.bilan_resultat = ResultatObjectif.PARTIELLEMENT_ATTEINT
    sante.bilan_date = date(2026, 11, 20)
    sante.bilan_evalue_par = "pro-coord"
    sante.bilan_commentaire = "Oublis le week-end."
    content.objectifs[1].accord_usager = AccordObjectif.ACCORD
    content.objectifs[1].avis_usager = ""
    inp = _with(validated, content)
    bundle = render_fhir_bundle(inp)
    goals = _resources(bundle, SD + "tddui-goal-objectif")
    notes = [n["text"] for n in goals[0]["note"]]
    assert "La personne n'est pas d'accord avec cet objectif : Pas de contrôle le soir." in notes
    assert "La personne est d'accord avec cet objectif" in [n["text"] for n in goals[1]["note"]]
    assert goals[0]["achievementStatus"]["coding"][0]["code"] == "improving"
    assert goals[0]["achievementStatus"]["text"] == (
        "Partiellement atteint, évalué le 20 novembre 2026 par "
        f"{inp.professional_name('pro-coord')} : Oublis le week-end."
    )
    assert goals[0]["statusDate"] == "2026-11-20"
    assert "achievementStatus" not in goals[1]
    assert check_bundle(bundle, content) == []


def test_the_falc_pdf_says_the_refusal_and_its_reason(validated: ExportInput) -> None:
    refusal = AccordRecord(
        id="a-p",
        type=TypeAccord.PERSONNE,
        mode=ModeAccord.REFUSE,
        by="Léa MARTIN",
        reason="je ne veux pas du suivi du soir",
    )
    content = copy.deepcopy(validated.content)
    content.objectifs[0].accord_usager = AccordObjectif.DESACCORD
    text = squash(pdf_text(render_falc(_with(validated, content, accords=_accords(refusal)))))
    for said in (
        "Votre accord",
        "Vous avez dit non à ce projet.",
        "Pourquoi :",
        "Je ne veux pas du suivi du soir.",
        "Vous n'êtes pas d'accord avec cet objectif.",
    ):
        assert squash(said) in text
    agreed = squash(pdf_text(render_falc(validated)))
    assert squash("Vous avez dit oui à votre projet.") in agreed
    assert squash("Vous avez dit non") not in agreed


def test_the_pdf_shows_the_participation_the_bilan_and_the_trial(validated: ExportInput) -> None:
    from exports.pdf import render_pdf

    content = copy.deepcopy(validated.content)
    sante = content.objectifs[0]
    sante.indicateur = "Six soirs sur sept"
    sante.accord_usager = AccordObjectif.DESACCORD
    sante.bilan_resultat = ResultatObjectif.ATTEINT
    sante.bilan_date = date(2026, 11, 20)
    content.bilan.date_evaluation = date(2026, 11, 20)
    text = squash(pdf_text(render_pdf(_with(validated, content))))
    for said in (
        "Élaboration du projet",
        "Présente à la réunion de projet",
        "FALC (facile à lire et à comprendre)",
        "Six soirs sur sept",
        "Pas d'accord",
        "Atteint, évalué le 20 novembre 2026",
        "jusqu'au 31 janvier 2027",
        "Bilan réalisé le",
        "Bilan prévu le",
    ):
        assert squash(said) in text, said
