"""The parts of the TDDUI bundle that carry rules 2, 3, 5 and 7 of ``docs/domain-rules.md``:
the CarePlan category (the projet's TRE_R390 type), the Consent performer (the Patient, the
legal representative as a FR Core RelatedPerson, or the practitioner), the reason of a refusal
or of an agreement not sought, the attentes (Goal ``tddui-goal-attente`` with ``expressedBy``),
the bilan (Task ``tddui-task-bilan``) and each objective's evaluation and agreement.

Used by :mod:`exports.fhir` only; ``b`` is its bundle builder.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from editor.schema import (
    TYPES_PROJET,
    AccordObjectif,
    Attente,
    Objectif,
    OrigineAttente,
    ResultatObjectif,
    TypeAccord,
)
from exports import followup_text
from exports.context import AccordRecord, ExportInput, RelatedPerson

if TYPE_CHECKING:
    from exports.fhir import _Builder

ID_ATTE = "https://identifiant-medicosocial-attente.esante.gouv.fr"
"""TDDUI ``tddui-goal-attente`` identifier system (value ``...-ATTE-<n>``)."""
ID_BILA = "https://identifiant-medicosocial-bilan.esante.gouv.fr"
"""TDDUI ``tddui-task-bilan`` identifier system (value ``...-BILA-<n>``)."""

Json = dict[str, Any]

TDDUI = "https://interop.esante.gouv.fr/ig/fhir/tddui"
SD = TDDUI + "/StructureDefinition/"
CS = TDDUI + "/CodeSystem/"
CAREPLAN_REF_EXT = SD + "tddui-careplan-reference"
TASK_INPUT_BILAN_CS = CS + "tddui-task-input-bilan"
TASK_OUTPUT_BILAN_CS = CS + "tddui-task-output-bilan"
TRE_R390 = "https://smt.esante.gouv.fr/fhir/CodeSystem/tre-r390-type-projet-personnalise"
FR_CORE_RELATED_PERSON = "https://hl7.fr/ig/fhir/core/StructureDefinition/fr-core-related-person"
V3_ROLE_CODE = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"
REASON_EXT = "http://hl7.org/fhir/StructureDefinition/workflow-reasonCode"
"""FHIR R4 core extension "why was the action taken": the reason of a refusal (or of an
agreement not sought) on the Consent, which has no element of its own for it."""
GOAL_ACHIEVEMENT = "http://terminology.hl7.org/CodeSystem/goal-achievement"

ACHIEVEMENT: dict[ResultatObjectif, str] = {
    ResultatObjectif.ATTEINT: "achieved",
    ResultatObjectif.PARTIELLEMENT_ATTEINT: "improving",
    ResultatObjectif.NON_ATTEINT: "not-achieved",
    ResultatObjectif.ABANDONNE: "not-attainable",
}
"""Result of an objective -> FHIR ``goal-achievement`` (``improving`` for a partial result is
the nearest code: the value set has no "partially achieved")."""

AGREEMENT_FR: dict[AccordObjectif, str] = {
    AccordObjectif.ACCORD: "La personne est d'accord avec cet objectif",
    AccordObjectif.DESACCORD: "La personne n'est pas d'accord avec cet objectif",
}


def careplan_category(inp: ExportInput) -> Json:
    """The projet's TRE_R390 type (any version, avenants included: an avenant amends a projet of
    that type); a value outside TRE_R390 (a version validated before the list was enforced)
    is written as ``PPA``, the type this application writes by default."""
    code = inp.content.projet.type if inp.content.projet.type in TYPES_PROJET else "PPA"
    return {"coding": [{"system": TRE_R390, "code": code, "display": TYPES_PROJET[code]}]}


def related_person(b: _Builder, rel: RelatedPerson, patient: str) -> str:
    """The legal representative as a FR Core RelatedPerson (relationship ``GUARD``)."""
    measure = f" ({rel.measure})" if rel.measure else ""
    resource: Json = {
        "resourceType": "RelatedPerson",
        "meta": {"profile": [FR_CORE_RELATED_PERSON]},
        "patient": {"reference": patient},
        "relationship": [
            {
                "coding": [{"system": V3_ROLE_CODE, "code": "GUARD", "display": "guardian"}],
                "text": f"Représentant légal{measure}",
            }
        ],
        "name": [{"text": rel.name}],
    }
    return b.add(resource, f"related:{rel.id}")


def consent_performer(
    b: _Builder,
    inp: ExportInput,
    acc: AccordRecord,
    patient: str,
    pros: dict[str, str],
    related: dict[str, str],
) -> Json:
    """Who gave the agreement: the Patient (the person), the RelatedPerson (her legal
    representative, rule 3), or the practitioner (the structure)."""
    if acc.type is TypeAccord.PERSONNE:
        return {"reference": patient, "display": acc.by}
    if acc.type is TypeAccord.REPRESENTANT:
        url = related.get(acc.by_related_id or "")
        return {"reference": url, "display": acc.by} if url else {"display": acc.by}
    pid = acc.by_professional_id or inp.legal_authenticator.id
    url = pros.get(pid)
    return {"reference": url, "display": acc.by} if url else {"display": acc.by}


def consent_reason(acc: AccordRecord) -> list[Json]:
    """The reason of a refusal or of an agreement not sought (rule 2), as an extension."""
    if not acc.reason:
        return []
    return [{"url": REASON_EXT, "valueCodeableConcept": {"text": acc.reason}}]


def attentes(b: _Builder, inp: ExportInput, careplan: str, patient: str) -> None:
    """One Goal ``tddui-goal-attente`` per attente, ``expressedBy`` its origin: the Patient,
    else (the entourage, a professional) a reference by display only: the content does not say
    which relative or professional."""
    for attente in inp.content.attentes:
        if attente.texte.strip():
            fields = attente.model_dump(mode="json")
            resource = _attente(b, attente, careplan, patient)
            b.add(resource, attente.id, source=("attentes", fields, {}))


def _attente(b: _Builder, attente: Attente, careplan: str, patient: str) -> Json:
    expressed: Json = {
        OrigineAttente.PERSONNE: {"reference": patient},
        OrigineAttente.ENTOURAGE: {"display": "Entourage de la personne"},
        OrigineAttente.PROFESSIONNEL: {"display": "Professionnel"},
    }[attente.origine]
    return {
        "resourceType": "Goal",
        "meta": {"profile": [SD + "tddui-goal-attente"]},
        "extension": [{"url": CAREPLAN_REF_EXT, "valueReference": {"reference": careplan}}],
        "identifier": [{"system": ID_ATTE, "value": f"{b.prefix}-ATTE-{attente.id}"}],
        "lifecycleStatus": "active",
        "description": {"text": attente.texte},
        "subject": {"reference": patient},
        "expressedBy": expressed,
    }


def objective_agreement(o: Objectif) -> str:
    """The ``avisUsagerObjectif`` note: the person's agreement, then her words."""
    said = AGREEMENT_FR.get(o.accord_usager, "")
    if said and o.avis_usager:
        return f"{said} : {o.avis_usager}"
    return said or o.avis_usager


def achievement(inp: ExportInput, o: Objectif) -> tuple[Json | None, str | None]:
    """``Goal.achievementStatus`` and ``statusDate`` of an evaluated objective (rule 5)."""
    if o.bilan_resultat is ResultatObjectif.NON_EVALUE:
        return None, None
    code = ACHIEVEMENT[o.bilan_resultat]
    text = followup_text.objective_result(inp, o)
    status = {"coding": [{"system": GOAL_ACHIEVEMENT, "code": code}], "text": text}
    return status, o.bilan_date.isoformat() if o.bilan_date else None


def bilan_task(
    b: _Builder, inp: ExportInput, careplan: str, organization: str, pros: dict[str, str]
) -> None:
    """The bilan (Task ``tddui-task-bilan``) when it has a day, held or planned
    (``executionPeriod.start`` 1..1): ``completed`` when held, ``requested`` when planned; its
    scope, people invited, next review, preparation notes and synthesis (author: the
    practitioner who wrote it, else the structure)."""
    bilan = inp.content.bilan
    day = bilan.date_evaluation or bilan.date_evaluation_prevue
    if day is None:
        return

    def input_type(code: str) -> Json:
        return {"coding": [{"system": TASK_INPUT_BILAN_CS, "code": code}]}

    author_url = pros.get(bilan.redige_par)
    author: Json = (
        {"reference": author_url, "display": inp.professional_name(bilan.redige_par)}
        if author_url
        else {"reference": organization, "display": inp.structure.name}
    )
    invited = [inp.professional_name(m) for m in bilan.invites_ids]
    invited += [line.strip() for line in bilan.invites_autres.splitlines() if line.strip()]
    inputs: list[Json] = []
    if bilan.perimetre:
        inputs.append({"type": input_type("perimetre"), "valueString": bilan.perimetre})
    inputs += [{"type": input_type("invite"), "valueString": who} for who in invited]
    if bilan.prochaine_revision:
        inputs.append(
            {
                "type": input_type("dateProchainBilan"),
                "valueDate": bilan.prochaine_revision.isoformat(),
            }
        )
    if bilan.notes_preparation:
        inputs.append(
            {
                "type": input_type("synthesePreparationBilan"),
                "valueAnnotation": {"text": bilan.notes_preparation},
            }
        )
    outputs: list[Json] = []
    if bilan.synthese:
        outputs.append(
            {
                "type": {"coding": [{"system": TASK_OUTPUT_BILAN_CS, "code": "syntheseBilan"}]},
                "valueAnnotation": {"authorReference": author, "text": bilan.synthese},
            }
        )
    resource: Json = {
        "resourceType": "Task",
        "meta": {"profile": [SD + "tddui-task-bilan"]},
        "extension": [{"url": CAREPLAN_REF_EXT, "valueReference": {"reference": careplan}}],
        "identifier": [{"system": ID_BILA, "value": f"{b.prefix}-BILA-{inp.version.ppa_number}"}],
        "basedOn": [{"reference": careplan}],
        "status": "completed" if bilan.date_evaluation else "requested",
        "intent": "plan",
        "executionPeriod": {"start": day.isoformat()},
        "input": inputs,
        "output": outputs,
    }
    b.add(resource, "bilan", source=("bilan", bilan.model_dump(mode="json"), {}))
