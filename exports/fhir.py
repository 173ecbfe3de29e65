"""TDDUI 2.3.0 FHIR R4 transaction Bundle of a PPA version (flux B: ESMS import).

Profiles (canonical ``https://interop.esante.gouv.fr/ig/fhir/tddui/StructureDefinition/<id>``):
Patient ``tddui-patient-ins`` (FR Core INS slices), Organization ``tddui-organization``,
Practitioner ``tddui-practitioner``, CarePlan ``tddui-careplan-projet-personnalise`` (category
TRE_R390 ``PPA``), Consent ``tddui-consent-accord``, ServiceRequest ``tddui-service-request-besoin``
(SERAFIN-PH besoin in ``category``), Goal ``tddui-goal-objectif``, Task ``tddui-task-action`` and
``tddui-task-prestation`` (SERAFIN-PH prestation in ``input:typePrestation``).

Conventions chosen here (the IG examples use profile names as ``request.url`` and server URLs as
``fullUrl``; a real transaction needs the standard forms):

* ``fullUrl`` = ``urn:uuid:<uuid5(version hash, resource type, item id)>``; references between
  entries use those URNs; ``request.method`` = ``POST``, ``request.url`` = the resource type;
  every entry is a conditional create (``ifNoneExist``): Patient, Organization and Practitioner
  on their national identifier (FR Core slices: ``type`` INS-*, IDNST with ``use=official``,
  IDNPS); the PPA elements (CarePlan, besoins, objectifs, actions, prestations) on their business
  identifier **and** a ``meta.tag`` holding a hash of their state (:data:`STATE_TAG_SYSTEM`), so
  an avenant or a re-sent version creates only the elements that changed (docs/fhir-api.md).
* business identifiers ``3+FINESS/<local usager id>-<TYPE>-<n>``: ``n`` is the PPA number for
  the CarePlan (PPER) and the stable item id for BESO / OBJE / ACTI; PRES is
  ``<action id>.<SERAFIN code>``. Identifiers are therefore the same in every version and avenant
  of a PPA, which is how a receiving DUI recognises the same objective or action again.
* SERAFIN-PH codings use the CodeSystem ``https://smt.esante.gouv.fr/terminologie-SERAFINPH`` and
  its official display. ``typePrestation`` is bound (required) to ``tddui-serafin``, whose 2.3.0
  definition is empty by construction (one ``include`` listing both J283 and J284 = their
  intersection); see :mod:`exports.tddui_checks` and docs/exports.md.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import date, datetime
from typing import Any
from urllib.parse import quote

from editor.schema import Action, Besoin, ModeAccord, Objectif, StatutAction, StatutObjectif
from exports import fhir_followup as follow
from exports import tddui_read as read
from exports import terminology
from exports.context import (
    EXPORT_NAMESPACE,
    OID_ID_NAT_PS,
    OID_ID_NAT_STRUCT,
    AccordRecord,
    ExportInput,
    Sexe,
    uuid_oid,
)

Json = dict[str, Any]

# The TDDUI base URLs, once (exports.fhir_followup, which this module builds on).
TDDUI, SD, CS = follow.TDDUI, follow.SD, follow.CS
DISCRIMINATOR_EXT = SD + "tddui-discriminator"
DISCRIMINATOR_CS = CS + "tddui-discriminator"
CAREPLAN_REF_EXT = follow.CAREPLAN_REF_EXT
TASK_INPUT_ACTION_CS = CS + "tddui-task-input-action"
TASK_INPUT_PRESTATION_CS = CS + "tddui-task-input-prestation"
TRE_R390 = follow.TRE_R390

ID_PPER = "https://identifiant-medicosocial-projetpersonnalise.esante.gouv.fr"
ID_BESO = "https://identifiant-medicosocial-besoin.esante.gouv.fr"
ID_OBJE = "https://identifiant-medicosocial-objectif.esante.gouv.fr"
ID_ACTI = "https://identifiant-medicosocial-action.esante.gouv.fr"
ID_PRES = "https://identifiant-medicosocial-prestation.esante.gouv.fr"
ID_LOCAL_USAGER = "https://identifiant-medicosocial-localusager.esante.gouv.fr"
BUSINESS_SYSTEMS = (ID_PPER, ID_BESO, ID_OBJE, ID_ACTI, ID_PRES, follow.ID_ATTE, follow.ID_BILA)
STATE_TAG_SYSTEM = (
    f"urn:oid:{uuid_oid(uuid.uuid5(EXPORT_NAMESPACE, 'ppa-collab tddui item state'))}"
)
"""``meta.tag`` system of the state of a PPA element (our OID under 2.25, UUID-derived): the
code is a hash of the element's resource, the same in every version where it did not change."""

FR_CORE = "https://hl7.fr/ig/fhir/core"
FR_CORE_V2_0203 = FR_CORE + "/CodeSystem/fr-core-cs-v2-0203"
FR_CORE_IDENTITY_RELIABILITY = FR_CORE + "/StructureDefinition/fr-core-identity-reliability"
FR_CORE_IDENTITY_STATUS = FR_CORE + "/CodeSystem/fr-core-cs-identity-status"
FR_CORE_INSEE = FR_CORE + "/StructureDefinition/fr-core-address-insee-code"
FR_CORE_BIRTH_GIVEN = FR_CORE + "/StructureDefinition/fr-core-patient-birth-list-given-name"
TRE_R13 = "https://mos.esante.gouv.fr/NOS/TRE_R13-CommuneOM/FHIR/TRE-R13-CommuneOM"
BIRTHPLACE_EXT = "http://hl7.org/fhir/StructureDefinition/patient-birthPlace"
V2_0203 = "http://terminology.hl7.org/CodeSystem/v2-0203"

GOAL_STATUS: dict[StatutObjectif, str] = {
    StatutObjectif.EN_PREPARATION: "planned",
    StatutObjectif.ACTIF: "active",
    StatutObjectif.TERMINE: "completed",
    StatutObjectif.ANNULE: "cancelled",
}
TASK_STATUS: dict[StatutAction, str] = {
    StatutAction.EN_PREPARATION: "draft",
    StatutAction.ESSAI: "in-progress",
    StatutAction.ACTIF: "in-progress",
    StatutAction.TERMINE: "completed",
    StatutAction.ANNULE: "cancelled",
}
CONSENT_STATUS: dict[ModeAccord, str] = {
    ModeAccord.SIGNE: "active",
    ModeAccord.ORAL: "active",
    ModeAccord.REFUSE: "rejected",
    ModeAccord.NON_SOLLICITE: "proposed",
}
GENDER = {Sexe.MASCULIN: "male", Sexe.FEMININ: "female", Sexe.INDETERMINE: "unknown"}


def _d(d: date | None) -> str | None:
    return d.isoformat() if d else None


def _dt(d: datetime) -> str:
    return d.isoformat(timespec="seconds")


def _clean(obj: Any) -> Any:
    """Drop None / empty values recursively (FHIR forbids empty elements)."""
    if isinstance(obj, dict):
        out = {k: _clean(v) for k, v in obj.items()}
        return {k: v for k, v in out.items() if v not in (None, "", [], {})}
    if isinstance(obj, list):
        items = [_clean(v) for v in obj]
        return [v for v in items if v not in (None, "", [], {})]
    return obj


def _disc(code: str) -> list[Json]:
    return [
        {
            "url": DISCRIMINATOR_EXT,
            "valueCodeableConcept": {"coding": [{"system": DISCRIMINATOR_CS, "code": code}]},
        }
    ]


def serafin_coding(code: str) -> Json:
    """SERAFIN-PH Coding with the official display."""
    return {"system": terminology.SERAFIN_SYSTEM, "code": code, "display": terminology.label(code)}


class _Builder:
    def __init__(self, inp: ExportInput) -> None:
        self.inp = inp
        self.prefix = inp.tddui_prefix
        self.entries: list[Json] = []
        self.stable: dict[str, str] = {}

    def urn(self, rtype: str, item: str = "") -> str:
        url = f"urn:uuid:{self.inp.uuid_for('fhir', rtype, item)}"
        self.stable[url] = f"{rtype}/{item}"
        return url

    def state_hash(self, resource: Json) -> str:
        """Hash of ``resource`` without ``meta``, its ``urn:uuid:`` references (which change
        with the version) replaced by the stable (type, item) they name."""

        def stable(obj: Any) -> Any:
            if isinstance(obj, dict):
                return {k: stable(v) for k, v in obj.items() if k != "meta"}
            if isinstance(obj, list):
                return [stable(v) for v in obj]
            if isinstance(obj, str):
                return self.stable.get(obj, obj)
            return obj

        text = json.dumps(stable(resource), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]

    def resolve(self, ref: Any) -> tuple[str, str] | None:
        """The (type, item) a reference of this bundle names."""
        url = ref.get("reference") if isinstance(ref, dict) else None
        rtype, sep, item = self.stable.get(url or "", "").partition("/")
        return (rtype, item) if sep else None

    def add(
        self,
        resource: Json,
        item: str = "",
        if_none_exist: str | None = None,
        source: tuple[str, Json, Json] | None = None,
    ) -> str:
        """Append ``resource`` as a ``POST`` entry. Conditional create (``ifNoneExist``): the
        given search, else, for a PPA element with a business identifier, that identifier and
        the element's state tag, so a re-sent version or an avenant creates only what changed.
        ``source``: (kind, item JSON, extra) of a PPA element, whose fields the TDDUI elements
        do not give back go to the residual extension (:mod:`exports.tddui_read`)."""
        rtype = resource["resourceType"]
        url = self.urn(rtype, item)
        resource = _clean(resource)
        if source is not None:
            kind, fields, extra = source
            residual = {**read.residual_of(kind, resource, fields, self.resolve), **extra}
            if residual:
                resource.setdefault("extension", []).append(read.residual_extension(residual))
        request: Json = {"method": "POST", "url": rtype}
        ident = (resource.get("identifier") or [{}])[0]
        if if_none_exist is None and ident.get("system") in BUSINESS_SYSTEMS:
            state = self.state_hash(resource)
            resource["meta"]["tag"] = [{"system": STATE_TAG_SYSTEM, "code": state}]
            if_none_exist = (
                f"identifier={_q(ident['system'])}|{_q(ident['value'])}"
                f"&_tag={_q(STATE_TAG_SYSTEM)}|{state}"
            )
        if if_none_exist:
            request["ifNoneExist"] = if_none_exist
        self.entries.append({"fullUrl": url, "resource": resource, "request": request})
        return url

    # -- participants -------------------------------------------------------------------

    def patient(self) -> str:
        p = self.inp.person
        ins_type = p.ins_oid.type_code
        official_name: Json = {
            "extension": [{"url": FR_CORE_BIRTH_GIVEN, "valueString": " ".join(p.first_names)}],
            "use": "official",
            "family": p.birth_family_name,
            "given": [p.first_names[0]],
        }
        names = [official_name]
        if p.used_name or p.used_first_name:
            names.append({"use": "usual", "family": p.display_family, "given": [p.display_given]})
        resource: Json = {
            "resourceType": "Patient",
            "meta": {"profile": [SD + "tddui-patient-ins"]},
            "extension": [
                {
                    "url": BIRTHPLACE_EXT,
                    "valueAddress": {
                        "extension": [
                            {
                                "url": FR_CORE_INSEE,
                                "valueCoding": {"system": TRE_R13, "code": p.birthplace_insee},
                            }
                        ]
                    },
                },
                {
                    "url": FR_CORE_IDENTITY_RELIABILITY,
                    "extension": [
                        {
                            "url": "identityStatus",
                            "valueCoding": {"system": FR_CORE_IDENTITY_STATUS, "code": "QUAL"},
                        }
                    ],
                },
            ],
            "identifier": [
                {
                    "use": p.ins_oid.use,
                    "type": {"coding": [{"system": FR_CORE_V2_0203, "code": ins_type}]},
                    "system": f"urn:oid:{p.ins_oid.value}",
                    "value": p.ins,
                },
                {
                    "use": "usual",
                    "type": {"coding": [{"system": V2_0203, "code": "PI"}]},
                    "system": ID_LOCAL_USAGER,
                    "value": self.prefix,
                },
            ],
            "name": names,
            "gender": GENDER[p.sex],
            "birthDate": p.birth_date.isoformat(),
        }
        return self.add(resource, if_none_exist=f"identifier=urn:oid:{p.ins_oid.value}|{p.ins}")

    def organization(self) -> str:
        s = self.inp.structure
        resource: Json = {
            "resourceType": "Organization",
            "meta": {"profile": [SD + "tddui-organization"]},
            "identifier": [
                {
                    "use": "official",
                    "type": {"coding": [{"system": FR_CORE_V2_0203, "code": "IDNST"}]},
                    "system": f"urn:oid:{OID_ID_NAT_STRUCT}",
                    "value": s.id_nat_struct,
                }
            ],
            "name": s.name,
            "address": [
                {
                    "line": list(s.address_lines),
                    "postalCode": s.postal_code,
                    "city": s.city,
                    "country": "FR",
                }
            ]
            if s.city
            else [],
        }
        return self.add(
            resource,
            if_none_exist=f"identifier=urn:oid:{OID_ID_NAT_STRUCT}|{s.id_nat_struct}",
        )

    def practitioners(self, ids: list[str]) -> dict[str, str]:
        urls: dict[str, str] = {}
        for pid in ids:
            pro = self.inp.professionals.get(pid)
            if pro is None or pid in urls:
                continue
            idnat = pro.id_nat_ps(self.inp.structure.finess)
            resource: Json = {
                "resourceType": "Practitioner",
                "meta": {"profile": [SD + "tddui-practitioner"]},
                "identifier": [
                    {
                        "use": "official",
                        "type": {"coding": [{"system": FR_CORE_V2_0203, "code": "IDNPS"}]},
                        "system": f"urn:oid:{OID_ID_NAT_PS}",
                        "value": idnat,
                    }
                ],
                "name": [{"family": pro.family_name, "given": [pro.given_name]}],
            }
            urls[pid] = self.add(
                resource, pid, if_none_exist=f"identifier=urn:oid:{OID_ID_NAT_PS}|{idnat}"
            )
        return urls


def _q(value: str) -> str:
    """A search parameter value for ``ifNoneExist`` (``&``, ``=``, ``#``... escaped)."""
    return quote(value, safe=":/|")


def _ref(url: str | None, display: str = "") -> Json | None:
    if url is None:
        return {"display": display} if display else None
    return {"reference": url, "display": display or None}


def render_fhir_bundle(inp: ExportInput) -> Json:
    """Build the TDDUI transaction Bundle as a JSON-ready dict (see :func:`render_fhir`)."""
    b = _Builder(inp)
    ct = inp.content
    v = inp.version
    patient = b.patient()
    organization = b.organization()
    pro_ids: list[str] = [inp.author_id]
    for o in ct.objectifs:
        if o.referent_id:
            pro_ids.append(o.referent_id)
    for a in ct.actions:
        if a.referent_id:
            pro_ids.append(a.referent_id)
    for acc in inp.accords:
        if acc.by_professional_id:
            pro_ids.append(acc.by_professional_id)
    for o in ct.objectifs:
        if o.bilan_evalue_par:
            pro_ids.append(o.bilan_evalue_par)
    pro_ids.append(ct.bilan.redige_par)
    pros = b.practitioners(pro_ids)
    careplan_url = b.urn("CarePlan")

    related = {
        rel_id: follow.related_person(b, inp.related_persons[rel_id], patient)
        for rel_id in dict.fromkeys(a.by_related_id for a in inp.accords if a.by_related_id)
        if rel_id in inp.related_persons
    }
    consent_urls = [(acc, _consent(b, inp, acc, patient, pros, related)) for acc in inp.accords]

    support = [
        {
            "extension": _disc(
                "accordStructure" if acc.type.value == "structure" else "accordUsager"
            ),
            "reference": url,
        }
        for acc, url in consent_urls
    ]
    careplan: Json = {
        "resourceType": "CarePlan",
        "meta": {
            "profile": [SD + "tddui-careplan-projet-personnalise"],
            "lastUpdated": _dt(v.document_date),
        },
        "identifier": [{"system": ID_PPER, "value": f"{b.prefix}-PPER-{v.ppa_number}"}],
        "status": "draft" if v.kind.is_draft else "active",
        "intent": "plan",
        "category": [follow.careplan_category(inp)],
        "title": ct.projet.titre or "Projet personnalisé d'accompagnement",
        "description": ct.projet_de_vie,
        "subject": {"reference": patient},
        "period": {"start": _d(ct.projet.date_debut), "end": _d(ct.projet.date_fin)},
        "created": _dt(v.created_at),
        "author": _ref(pros.get(inp.author_id), inp.author.display_name),
        "supportingInfo": support,
        "note": [{"text": ct.projet.modalite_communication}]
        if ct.projet.modalite_communication
        else [],
    }
    shown = {a.id for a in ct.attentes if a.texte.strip()}
    extra = read.careplan_extra(ct, shown)
    b.add(careplan, source=("projet", ct.projet.model_dump(mode="json"), extra))

    follow.attentes(b, inp, careplan_url, patient)
    besoin_urls = {be.id: _besoin(b, be, patient, careplan_url) for be in ct.besoins}
    goal_urls = {
        o.id: _objectif(b, inp, o, patient, careplan_url, besoin_urls, pros) for o in ct.objectifs
    }
    for a in ct.actions:
        _action(b, inp, a, patient, careplan_url, goal_urls, pros)
    follow.bilan_task(b, inp, careplan_url, organization, pros)

    return {
        "resourceType": "Bundle",
        "meta": {"profile": [SD + "tddui-bundle"]},
        "identifier": {
            "system": "urn:ietf:rfc:3986",
            "value": f"urn:uuid:{inp.uuid_for('fhir', 'Bundle')}",
        },
        "type": "transaction",
        "entry": b.entries,
    }


def _consent(
    b: _Builder,
    inp: ExportInput,
    acc: AccordRecord,
    patient: str,
    pros: dict[str, str],
    related: dict[str, str],
) -> str:
    performer = follow.consent_performer(b, inp, acc, patient, pros, related)
    when = (
        datetime.combine(acc.date, datetime.min.time(), inp.version.document_date.tzinfo)
        if acc.date
        else inp.version.document_date
    )
    resource: Json = {
        "resourceType": "Consent",
        "meta": {"profile": [SD + "tddui-consent-accord"]},
        "extension": follow.consent_reason(acc),
        "status": CONSENT_STATUS[acc.mode],
        "scope": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/consentscope",
                    "code": "patient-privacy",
                }
            ]
        },
        "category": [{"coding": [{"system": "http://loinc.org", "code": "59284-0"}]}],
        "patient": {"reference": patient},
        "dateTime": _dt(when),
        "performer": [performer],
        "policy": [{"authority": "https://www.cnsa.fr/"}],
        "verification": [{"verified": True, "verifiedWith": {"display": acc.witness}}]
        if acc.witness
        else [],
        "provision": {"type": "deny"} if acc.mode is ModeAccord.REFUSE else None,
    }
    item = next((a for a in inp.content.accords if a.id == acc.id), None)
    # A Consent has no business identifier: the agreement's id travels in the residual. One
    # recorded when the version was validated (not in the content) says so: an import leaves
    # it with that version rather than making it an agreement of the draft.
    source = None if item is None else ("accords", item.model_dump(mode="json"), {"id": acc.id})
    if item is None:
        resource["extension"] = [
            *resource["extension"],
            read.residual_extension({read.RECORDED_KEY: acc.id}),
        ]
    return b.add(resource, acc.id, source=source)


def _besoin(b: _Builder, be: Besoin, patient: str, careplan: str) -> str:
    label = terminology.label(be.code) if be.code else ""
    resource: Json = {
        "resourceType": "ServiceRequest",
        "meta": {"profile": [SD + "tddui-service-request-besoin"]},
        "identifier": [{"system": ID_BESO, "value": f"{b.prefix}-BESO-{be.id}"}],
        "basedOn": [{"reference": careplan}],
        "status": "active",
        "intent": "plan",
        "category": [{"coding": [serafin_coding(be.code)]}] if be.code else [],
        "code": {"text": be.description or label or "Besoin"},
        "orderDetail": [{"text": be.analyse}] if be.analyse else [],
        "subject": {"reference": patient},
    }
    return b.add(resource, be.id, source=("besoins", be.model_dump(mode="json"), {}))


def _objectif(
    b: _Builder,
    inp: ExportInput,
    o: Objectif,
    patient: str,
    careplan: str,
    besoins: dict[str, str],
    pros: dict[str, str],
) -> str:
    notes: list[Json] = [{"extension": _disc("titreObjectif"), "text": o.titre or "Objectif"}]
    if opinion := follow.objective_agreement(o):
        notes.append({"extension": _disc("avisUsagerObjectif"), "text": opinion})
    if o.strategie:
        notes.append({"extension": _disc("strategieMiseEnOeuvreObjectif"), "text": o.strategie})
    achieved, status_date = follow.achievement(inp, o)
    resource: Json = {
        "resourceType": "Goal",
        "meta": {"profile": [SD + "tddui-goal-objectif"]},
        "extension": [{"url": CAREPLAN_REF_EXT, "valueReference": {"reference": careplan}}],
        "identifier": [{"system": ID_OBJE, "value": f"{b.prefix}-OBJE-{o.id}"}],
        "lifecycleStatus": GOAL_STATUS[o.statut],
        "category": [{"text": o.domaine}] if o.domaine else [],
        "description": {"text": o.description or o.titre or "Objectif"},
        "subject": {"reference": patient},
        "startDate": _d(o.date_debut),
        "target": [
            {
                "detailString": o.resultat_attendu or o.indicateur or None,
                "dueDate": _d(o.date_echeance),
            }
        ],
        "achievementStatus": achieved,
        "statusDate": status_date,
        "expressedBy": _ref(pros.get(o.referent_id or ""), inp.professional_name(o.referent_id)),
        "addresses": [{"reference": besoins[bid]} for bid in o.besoin_ids if bid in besoins],
        "note": notes,
    }
    return b.add(resource, o.id, source=("objectifs", o.model_dump(mode="json"), {}))


def _action(
    b: _Builder,
    inp: ExportInput,
    a: Action,
    patient: str,
    careplan: str,
    goals: dict[str, str],
    pros: dict[str, str],
) -> None:
    def inp_type(code: str, system: str = TASK_INPUT_ACTION_CS) -> Json:
        return {"coding": [{"system": system, "code": code}]}

    inputs: list[Json] = [{"type": inp_type("titre"), "valueString": a.titre or "Action"}]
    inputs += [
        {"type": inp_type("objectif"), "valueReference": {"reference": goals[oid]}}
        for oid in a.objectif_ids
        if oid in goals
    ]
    if a.avis_usager:
        inputs.append({"type": inp_type("avisUsager"), "valueString": a.avis_usager})
    if a.resultat_attendu:
        inputs.append({"type": inp_type("resultatAttendu"), "valueString": a.resultat_attendu})
    period = {"start": _d(a.date_debut), "end": _d(a.date_fin)}
    status = TASK_STATUS[a.statut]
    resource: Json = {
        "resourceType": "Task",
        "meta": {"profile": [SD + "tddui-task-action"]},
        "identifier": [{"system": ID_ACTI, "value": f"{b.prefix}-ACTI-{a.id}"}],
        "basedOn": [{"reference": careplan}],
        "status": status,
        "businessStatus": {"text": "à l'essai"} if a.statut is StatutAction.ESSAI else None,
        "intent": "plan",
        "description": a.description,
        "for": {"reference": patient},
        "owner": _ref(pros.get(a.referent_id or ""), inp.professional_name(a.referent_id)),
        "executionPeriod": period,
        "input": inputs,
    }
    fields = a.model_dump(mode="json")
    if len(set(a.prestations)) == len(a.prestations):
        del fields["prestations"]  # one prestation Task each (partOf the action)
    action_url = b.add(resource, a.id, source=("actions", fields, {}))
    for code in a.prestations:
        label = terminology.label(code)
        prest: Json = {
            "resourceType": "Task",
            "meta": {"profile": [SD + "tddui-task-prestation"]},
            "identifier": [{"system": ID_PRES, "value": f"{b.prefix}-PRES-{a.id}.{code}"}],
            "basedOn": [{"reference": careplan}],
            "partOf": [{"reference": action_url}],
            "status": status,
            "intent": "plan",
            "description": label,
            "for": {"reference": patient},
            "executionPeriod": period,
            "input": [
                {
                    "type": inp_type("titre", TASK_INPUT_PRESTATION_CS),
                    "valueString": label or code,
                },
                {
                    "type": inp_type("typePrestation", TASK_INPUT_PRESTATION_CS),
                    "valueCodeableConcept": {"coding": [serafin_coding(code)]},
                },
            ],
        }
        b.add(prest, f"{a.id}.{code}")


def render_fhir(inp: ExportInput) -> bytes:
    """Render the TDDUI transaction Bundle as UTF-8 JSON bytes (deterministic)."""
    bundle = render_fhir_bundle(inp)
    return (json.dumps(bundle, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
