"""Our own checks of the TDDUI 2.3.0 constraints that :mod:`exports.fhir` relies on.

fhir.resources / fhirclient only check base FHIR structure; no FHIR validator with the TDDUI
package can run here (no network, no Java IG tooling). This module checks, on the JSON Bundle,
every profile constraint we implement: cardinalities, fixed systems and patterns, required
bindings (SERAFIN-PH value sets from the shipped JDV CSV), slices by discriminator extension,
and the references between entries.

Known defect of the IG, handled on purpose: ``tddui-serafin`` (required binding of
``Task(prestation).input:typePrestation`` and ``Encounter.type:serafin``) is defined in 2.3.0 as
*one* ``compose.include`` holding two ``valueSet`` entries (JDV_J283 and JDV_J284). In FHIR, the
value sets listed in a single include are **intersected**; J283 (prestations indirectes, 3.x) and
J284 (prestations directes, 2.x) share no code, so the value set is empty (the 2.1.0-ballot
expansion says "contient 0 concepts"). A strict validator therefore rejects every prestation code.
The description says "prestations directes et indirectes": we check against the intended
J283 ∪ J284 instead, and report this in docs/exports.md.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

from editor.schema import TYPES_PROJET, PPAContent
from exports import fhir as f
from exports import fhir_followup as follow
from exports import frcore_checks, terminology
from exports.context import OID_ID_NAT_PS, OID_ID_NAT_STRUCT, ins_is_valid

Json = dict[str, Any]

INS_TYPES = {
    "urn:oid:1.2.250.1.213.1.4.8": ("INS-NIR", "official"),
    "urn:oid:1.2.250.1.213.1.4.9": ("INS-NIA", "temp"),
    "urn:oid:1.2.250.1.213.1.4.10": ("INS-NIR-TEST", "official"),
    "urn:oid:1.2.250.1.213.1.4.11": ("INS-NIR-DEMO", "official"),
}
TRE_R390_CODES = {"PAI", "PPA", "PPIA", "PP", "PPI", "PA", "PI"}
ACTION_INPUTS = {"titre", "evaluation", "avisUsager", "resultatAttendu", "pieceJointe", "objectif"}
PRESTATION_INPUTS = {"titre", "typePrestation", "evaluation", "pieceJointe"}
BUSINESS_ID = r"^3(\d{9}|2[AB]\d{7})/[^/]+-TYPE-.+$"


class _Checker:
    def __init__(self, bundle: Json, content: PPAContent | None) -> None:
        self.bundle = bundle
        self.content = content
        self.problems: list[str] = []
        self.types: dict[str, str] = {}
        self.resources: dict[str, Json] = {}
        for i, e in enumerate(bundle.get("entry", [])):
            url = e.get("fullUrl", "")
            self.types[url] = e.get("resource", {}).get("resourceType", "")
            self.resources[url] = e.get("resource", {})
            if not re.fullmatch(r"urn:uuid:[0-9a-f-]{36}", url):
                self.err(f"entry[{i}].fullUrl", "doit être une URN urn:uuid:")

    def err(self, path: str, msg: str) -> None:
        self.problems.append(f"{path}: {msg}")

    def card(self, path: str, items: Iterable[Any], lo: int, hi: int | None) -> None:
        n = len(list(items))
        if n < lo or (hi is not None and n > hi):
            self.err(path, f"cardinalité {n} hors de {lo}..{hi if hi is not None else '*'}")

    def ref(self, path: str, ref: Json | None, allowed: set[str], required: bool = True) -> None:
        if ref is None:
            if required:
                self.err(path, "référence absente")
            return
        target = ref.get("reference")
        if target is None:
            if "display" not in ref:
                self.err(path, "référence vide")
            return
        rtype = self.types.get(target)
        if rtype is None:
            self.err(path, f"référence {target} hors du Bundle")
        elif rtype not in allowed:
            self.err(path, f"référence vers {rtype}, attendu {sorted(allowed)}")

    def profile(self, path: str, res: Json, profile_id: str) -> None:
        if f.SD + profile_id not in res.get("meta", {}).get("profile", []):
            self.err(path, f"meta.profile doit contenir {profile_id}")

    def profile_url(self, path: str, res: Json, url: str) -> None:
        if url not in res.get("meta", {}).get("profile", []):
            self.err(path, f"meta.profile doit contenir {url}")

    def target(self, ref: Json | None) -> Json:
        """The Bundle resource a reference points to ({} when none)."""
        return self.resources.get((ref or {}).get("reference", ""), {})

    def has_profile(self, res: Json, profile_id: str) -> bool:
        return f.SD + profile_id in res.get("meta", {}).get("profile", [])

    @staticmethod
    def item_id(res: Json, type_: str) -> str | None:
        """The PPA item id in a business identifier ``<prefix>-<TYPE>-<item id>``."""
        for ident in res.get("identifier", []):
            _, sep, tail = str(ident.get("value", "")).partition(f"-{type_}-")
            if sep:
                return tail
        return None

    def business_id(self, path: str, res: Json, system: str, type_: str) -> None:
        ids = res.get("identifier", [])
        self.card(f"{path}.identifier", ids, 1, 1)
        for ident in ids:
            if ident.get("system") != system:
                self.err(f"{path}.identifier.system", f"attendu {system}")
            if not re.fullmatch(BUSINESS_ID.replace("TYPE", type_), ident.get("value", "")):
                self.err(f"{path}.identifier.value", f"format 3+FINESS/idLocal-{type_}-n attendu")

    def disc_code(self, elem: Json) -> str | None:
        exts = [e for e in elem.get("extension", []) if e.get("url") == f.DISCRIMINATOR_EXT]
        if len(exts) != 1:
            return None
        codings = exts[0].get("valueCodeableConcept", {}).get("coding", [])
        if len(codings) != 1 or codings[0].get("system") != f.DISCRIMINATOR_CS:
            return None
        code = codings[0].get("code")
        return code if isinstance(code, str) else None

    def serafin(self, path: str, coding: Json, valuesets: tuple[str, ...]) -> None:
        if coding.get("system") != terminology.SERAFIN_SYSTEM:
            self.err(f"{path}.system", f"attendu {terminology.SERAFIN_SYSTEM}")
        code = coding.get("code", "")
        if not any(code in terminology.valueset_codes(vs) for vs in valuesets):
            self.err(f"{path}.code", f"{code} hors de {' ∪ '.join(valuesets)}")
        elif coding.get("display") != terminology.label(code):
            self.err(f"{path}.display", f"libellé officiel attendu pour {code}")

    # -- resources -------------------------------------------------------------------

    def patient(self, p: str, r: Json) -> None:
        self.profile(p, r, "tddui-patient-ins")
        ins = [i for i in r.get("identifier", []) if i.get("system") in INS_TYPES]
        self.card(f"{p}.identifier:INS", ins, 1, 1)
        for i in ins:
            type_code, use = INS_TYPES[i["system"]]
            codings = i.get("type", {}).get("coding", [])
            if codings != [{"system": f.FR_CORE_V2_0203, "code": type_code}]:
                self.err(f"{p}.identifier:INS.type", f"attendu {type_code}")
            if i.get("use") != use:
                self.err(f"{p}.identifier:INS.use", f"attendu {use}")
            if not ins_is_valid(i.get("value", "")):
                self.err(f"{p}.identifier:INS.value", "matricule INS invalide")
        bp = [e for e in r.get("extension", []) if e.get("url") == f.BIRTHPLACE_EXT]
        self.card(f"{p}.extension:birthPlace", bp, 1, 1)
        for e in bp:
            insee = [
                x
                for x in e.get("valueAddress", {}).get("extension", [])
                if x.get("url") == f.FR_CORE_INSEE
            ]
            self.card(f"{p}.extension:birthPlace.inseeCode", insee, 1, 1)
        rel = [e for e in r.get("extension", []) if e.get("url") == f.FR_CORE_IDENTITY_RELIABILITY]
        self.card(f"{p}.extension:identityReliability", rel, 1, None)
        if r.get("gender") not in {"male", "female", "unknown"}:
            self.err(f"{p}.gender", "male | female | unknown requis")
        if not r.get("birthDate"):
            self.err(f"{p}.birthDate", "requis")
        official = [n for n in r.get("name", []) if n.get("use") == "official"]
        self.card(f"{p}.name:officialName", official, 1, 1)
        for n in official:
            self.card(f"{p}.name:officialName.given", n.get("given", []), 1, 1)
            given = [e for e in n.get("extension", []) if e.get("url") == f.FR_CORE_BIRTH_GIVEN]
            self.card(f"{p}.name:officialName.extension:birth-list-given-name", given, 1, 1)

    def careplan(self, p: str, r: Json) -> None:
        self.profile(p, r, "tddui-careplan-projet-personnalise")
        self.business_id(p, r, f.ID_PPER, "PPER")
        if not r.get("title"):
            self.err(f"{p}.title", "requis (1..1)")
        if r.get("status") not in {"draft", "active", "on-hold", "completed"}:
            self.err(f"{p}.status", "hors de la correspondance TDDUI")
        if not r.get("intent"):
            self.err(f"{p}.intent", "requis")
        cats = r.get("category", [])
        self.card(f"{p}.category", cats, 0, 1)
        for c in cats:
            codings = c.get("coding", [])
            if not any(
                x.get("system") == f.TRE_R390 and x.get("code") in TRE_R390_CODES for x in codings
            ):
                self.err(f"{p}.category", "code TRE_R390 (JDV_J367) requis")
        # project rule: exactly one TRE_R390 coding, with its official display: the projet's
        # type (the content's, when known)
        codings = [c.get("coding") for c in cats]
        code = codings[0][0].get("code") if len(codings) == 1 and codings[0] else None
        if self.content is not None and self.content.projet.type in TYPES_PROJET:
            code = self.content.projet.type if code is not None else None
        wanted = {"system": f.TRE_R390, "code": code, "display": TYPES_PROJET.get(code or "")}
        if code is None or codings != [[wanted]]:
            self.err(f"{p}.category", "exactement une catégorie TRE_R390 (le type du projet)")
        self.ref(f"{p}.subject", r.get("subject"), {"Patient"})
        infos = r.get("supportingInfo", [])
        self.card(f"{p}.supportingInfo", infos, 1, None)
        kinds: Counter[str | None] = Counter()
        for k, s in enumerate(infos):
            code = self.disc_code(s)
            if code not in {"accordUsager", "accordStructure"}:
                self.err(f"{p}.supportingInfo[{k}]", "extension tddui-discriminator requise")
            kinds[code] += 1
            self.ref(f"{p}.supportingInfo[{k}]", s, {"Consent"})
        if kinds["accordStructure"] < 1:
            self.err(f"{p}.supportingInfo:accordStructure", "au moins un accord de la structure")
        self.card(f"{p}.note", r.get("note", []), 0, 1)

    def consent(self, p: str, r: Json) -> None:
        self.profile(p, r, "tddui-consent-accord")
        if not r.get("dateTime"):
            self.err(f"{p}.dateTime", "requis (1..1)")
        perf = r.get("performer", [])
        self.card(f"{p}.performer", perf, 1, 1)
        for x in perf:
            self.ref(
                f"{p}.performer",
                x,
                {"Practitioner", "PractitionerRole", "RelatedPerson", "Patient"},
            )
        for key in ("status", "scope", "category"):
            if not r.get(key):
                self.err(f"{p}.{key}", "requis (FHIR R4)")
        if not (r.get("policy") or r.get("policyRule")):
            self.err(p, "ppc-1 : policy ou policyRule requis")

    def besoin(self, p: str, r: Json) -> None:
        self.profile(p, r, "tddui-service-request-besoin")
        self.business_id(p, r, f.ID_BESO, "BESO")
        based = r.get("basedOn", [])
        self.card(f"{p}.basedOn", based, 1, 1)
        for x in based:
            self.ref(f"{p}.basedOn", x, {"CarePlan"})
        cats = r.get("category", [])
        self.card(f"{p}.category", cats, 0, 1)
        for c in cats:
            for k, coding in enumerate(c.get("coding", [])):
                self.serafin(f"{p}.category.coding[{k}]", coding, (terminology.J285,))
        if not r.get("code", {}).get("text"):
            self.err(f"{p}.code.text", "requis (1..1)")
        for key in ("status", "intent"):
            if not r.get(key):
                self.err(f"{p}.{key}", "requis")
        self.ref(f"{p}.subject", r.get("subject"), {"Patient"})

    def attente(self, p: str, r: Json) -> None:
        """Goal ``tddui-goal-attente``: identifier, expressedBy (1..1), the CarePlan."""
        refs = [e for e in r.get("extension", []) if e.get("url") == f.CAREPLAN_REF_EXT]
        self.card(f"{p}.extension:referenceProjetPerso", refs, 1, 1)
        self.card(f"{p}.identifier", r.get("identifier", []), 1, 1)
        expressed = r.get("expressedBy")
        if not expressed:
            self.err(f"{p}.expressedBy", "requis (1..1)")
        elif "reference" in expressed:
            self.ref(
                f"{p}.expressedBy",
                expressed,
                {"Patient", "Practitioner", "PractitionerRole", "RelatedPerson"},
            )
        if not r.get("description", {}).get("text"):
            self.err(f"{p}.description", "requis (1..1)")
        self.ref(f"{p}.subject", r.get("subject"), {"Patient"})

    def bilan(self, p: str, r: Json) -> None:
        """Task ``tddui-task-bilan``: identifier, the CarePlan, a day, an authored synthesis."""
        refs = [e for e in r.get("extension", []) if e.get("url") == f.CAREPLAN_REF_EXT]
        self.card(f"{p}.extension:referenceProjetPerso", refs, 1, 1)
        self.card(f"{p}.identifier", r.get("identifier", []), 1, 1)
        self.card(f"{p}.basedOn", r.get("basedOn", []), 1, 1)
        for x in r.get("basedOn", []):
            self.ref(f"{p}.basedOn", x, {"CarePlan"})
        if not r.get("executionPeriod", {}).get("start"):
            self.err(f"{p}.executionPeriod.start", "requis (1..1)")
        for k, out in enumerate(r.get("output", [])):
            note = out.get("valueAnnotation", {})
            if not note.get("text"):
                self.err(f"{p}.output[{k}].valueAnnotation.text", "requis (1..1)")
            self.ref(
                f"{p}.output[{k}].valueAnnotation.authorReference",
                note.get("authorReference"),
                {"Practitioner", "Patient", "RelatedPerson", "Organization"},
            )

    def related_person(self, p: str, r: Json) -> None:
        self.profile_url(p, r, follow.FR_CORE_RELATED_PERSON)
        self.ref(f"{p}.patient", r.get("patient"), {"Patient"})

    def goal(self, p: str, r: Json) -> None:
        if self.has_profile(r, "tddui-goal-attente"):
            self.attente(p, r)
            return
        self.profile(p, r, "tddui-goal-objectif")
        refs = [e for e in r.get("extension", []) if e.get("url") == f.CAREPLAN_REF_EXT]
        self.card(f"{p}.extension:referenceProjetPerso", refs, 1, 1)
        for e in refs:
            self.ref(f"{p}.extension:referenceProjetPerso", e.get("valueReference"), {"CarePlan"})
        self.business_id(p, r, f.ID_OBJE, "OBJE")
        if r.get("lifecycleStatus") not in {"planned", "active", "completed", "cancelled"}:
            self.err(f"{p}.lifecycleStatus", "hors de la correspondance TDDUI")
        if not r.get("description", {}).get("text"):
            self.err(f"{p}.description", "requis (1..1)")
        self.ref(f"{p}.subject", r.get("subject"), {"Patient"})
        if "expressedBy" in r:
            self.ref(f"{p}.expressedBy", r["expressedBy"], {"Practitioner", "PractitionerRole"})
        addresses = r.get("addresses", [])
        self.goal_addresses(p, addresses)
        notes = Counter(self.disc_code(n) for n in r.get("note", []))
        if notes["titreObjectif"] != 1:
            self.err(f"{p}.note:titreObjectif", "exactement une note titre")
        for code in ("avisUsagerObjectif", "strategieMiseEnOeuvreObjectif"):
            if notes[code] > 1:
                self.err(f"{p}.note:{code}", "au plus une")
        if None in notes:
            self.err(f"{p}.note", "chaque note porte l'extension tddui-discriminator")
        if self.content is not None:
            self.goal_content(p, r, addresses)

    def goal_addresses(self, p: str, addresses: list[Json]) -> None:
        """An objective addresses exactly one besoin (ServiceRequest)."""
        for k, a in enumerate(addresses):
            self.ref(f"{p}.addresses[{k}]", a, {"ServiceRequest"})
        # project rule: an objective answers exactly one besoin (editor check
        # objectif_without_besoin / objectif_multiple_besoins)
        self.card(f"{p}.addresses", addresses, 1, 1)
        for a in addresses:
            if not self.has_profile(self.target(a), "tddui-service-request-besoin"):
                self.err(f"{p}.addresses", "doit viser le besoin (tddui-service-request-besoin)")

    def goal_content(self, p: str, r: Json, addresses: list[Json]) -> None:
        """The Goal against its objective in the version's content."""
        if self.content is None:
            raise RuntimeError("self.content is None")
        oid = self.item_id(r, "OBJE")
        obj = next((o for o in self.content.objectifs if o.id == oid), None)
        if obj is None:
            self.err(f"{p}.identifier", f"objectif {oid} absent du contenu de la version")
            return
        besoins = {self.item_id(self.target(a), "BESO") for a in addresses}
        if besoins != set(obj.besoin_ids):
            self.err(f"{p}.addresses", f"doit viser le besoin de l'objectif {oid}")
        avis = [
            n.get("text") for n in r.get("note", []) if self.disc_code(n) == "avisUsagerObjectif"
        ]
        opinion = follow.objective_agreement(obj)
        if avis != ([opinion] if opinion else []):
            self.err(f"{p}.note:avisUsagerObjectif", "doit reprendre l'avis de la personne")

    def task_common(self, p: str, r: Json, system: str, type_: str) -> None:
        self.business_id(p, r, system, type_)
        based = r.get("basedOn", [])
        self.card(f"{p}.basedOn", based, 1, 1)
        for x in based:
            self.ref(f"{p}.basedOn", x, {"CarePlan"})
        if r.get("status") not in {"draft", "in-progress", "completed", "cancelled"}:
            self.err(f"{p}.status", "hors de la correspondance TDDUI")
        if not r.get("intent"):
            self.err(f"{p}.intent", "requis")

    def inputs(self, p: str, r: Json, system: str, allowed: set[str]) -> Counter[str]:
        ins = r.get("input", [])
        self.card(f"{p}.input", ins, 1, None)
        seen: Counter[str] = Counter()
        for k, i in enumerate(ins):
            codings = i.get("type", {}).get("coding", [])
            codes = [c.get("code") for c in codings if c.get("system") == system]
            if len(codes) != 1 or codes[0] not in allowed:
                self.err(f"{p}.input[{k}].type", f"code de {system} requis")
                continue
            seen[codes[0]] += 1
        return seen

    def action(self, p: str, r: Json) -> None:
        self.task_common(p, r, f.ID_ACTI, "ACTI")
        seen = self.inputs(p, r, f.TASK_INPUT_ACTION_CS, ACTION_INPUTS)
        if seen["titre"] != 1:
            self.err(f"{p}.input:titre", "exactement un titre")
        for code in ("avisUsager", "resultatAttendu"):
            if seen[code] > 1:
                self.err(f"{p}.input:{code}", "au plus un")
        for k, i in enumerate(r.get("input", [])):
            code = i.get("type", {}).get("coding", [{}])[0].get("code")
            if code in {"titre", "avisUsager", "resultatAttendu"} and "valueString" not in i:
                self.err(f"{p}.input[{k}]", "valueString requis")
            if code == "objectif":
                self.ref(f"{p}.input[{k}].valueReference", i.get("valueReference"), {"Goal"})
        # project rule: every action serves at least one objective (editor check)
        if seen["objectif"] < 1:
            self.err(f"{p}.input:objectif", "au moins un objectif requis")
        if "owner" in r:
            self.ref(f"{p}.owner", r["owner"], {"Practitioner", "PractitionerRole"})
        if self.content is not None:
            self.action_content(p, r)

    def action_content(self, p: str, r: Json) -> None:
        """The action Task against its action in the version's content."""
        if self.content is None:
            raise RuntimeError("self.content is None")
        aid = self.item_id(r, "ACTI")
        act = next((a for a in self.content.actions if a.id == aid), None)
        if act is None:
            self.err(f"{p}.identifier", f"action {aid} absente du contenu de la version")
            return

        def values(code: str, key: str) -> list[Any]:
            return [
                i.get(key)
                for i in r.get("input", [])
                if (i.get("type", {}).get("coding") or [{}])[0].get("code") == code
            ]

        goals = {self.item_id(self.target(v), "OBJE") for v in values("objectif", "valueReference")}
        if goals != set(act.objectif_ids):
            self.err(f"{p}.input:objectif", f"doit viser les objectifs de l'action {aid}")
        if values("avisUsager", "valueString") != ([act.avis_usager] if act.avis_usager else []):
            self.err(f"{p}.input:avisUsager", "doit reprendre l'avis de la personne")

    def prestation(self, p: str, r: Json) -> None:
        self.task_common(p, r, f.ID_PRES, "PRES")
        part = r.get("partOf", [])
        # TDDUI 0..1; project rule: every prestation is part of its action (1..1)
        self.card(f"{p}.partOf", part, 1, 1)
        for x in part:
            self.ref(f"{p}.partOf", x, {"Task"})
            action = self.target(x)
            pres = self.item_id(r, "PRES") or ""
            if not self.has_profile(action, "tddui-task-action"):
                self.err(f"{p}.partOf", "doit viser une Task tddui-task-action")
            elif not pres.startswith(f"{self.item_id(action, 'ACTI')}."):
                self.err(f"{p}.partOf", "doit viser l'action de la prestation")
        seen = self.inputs(p, r, f.TASK_INPUT_PRESTATION_CS, PRESTATION_INPUTS)
        if seen["titre"] != 1:
            self.err(f"{p}.input:titre", "exactement un titre")
        if seen["evaluation"] > 1:
            self.err(f"{p}.input:evaluation", "au plus une")
        for k, i in enumerate(r.get("input", [])):
            code = i.get("type", {}).get("coding", [{}])[0].get("code")
            if code == "typePrestation":
                codings = i.get("valueCodeableConcept", {}).get("coding", [])
                self.card(f"{p}.input[{k}].valueCodeableConcept.coding", codings, 1, None)
                for j, c in enumerate(codings):
                    self.serafin(
                        f"{p}.input[{k}].coding[{j}]", c, (terminology.J283, terminology.J284)
                    )

    def practitioner(self, p: str, r: Json) -> None:
        self.profile(p, r, "tddui-practitioner")
        ids = [i for i in r.get("identifier", []) if i.get("system") == f"urn:oid:{OID_ID_NAT_PS}"]
        self.card(f"{p}.identifier:idNatPs", ids, 1, 1)
        for i in ids:
            if not re.fullmatch(r"8\d{11}|3(\d{9}|2[AB]\d{7})/.+", i.get("value", "")):
                self.err(f"{p}.identifier:idNatPs", "8+RPPS ou 3+FINESS/id attendu")

    def organization(self, p: str, r: Json) -> None:
        self.profile(p, r, "tddui-organization")
        ids = [
            i for i in r.get("identifier", []) if i.get("system") == f"urn:oid:{OID_ID_NAT_STRUCT}"
        ]
        self.card(f"{p}.identifier:idNatSt", ids, 1, 1)
        for i in ids:
            if not re.fullmatch(r"1(\d{9}|2[AB]\d{7})", i.get("value", "")):
                self.err(f"{p}.identifier:idNatSt", "1+FINESS attendu")

    def run(self) -> list[str]:
        b = self.bundle
        if b.get("resourceType") != "Bundle" or b.get("type") != "transaction":
            self.err("Bundle.type", "transaction requis")
        if f.SD + "tddui-bundle" not in b.get("meta", {}).get("profile", []):
            self.err("Bundle.meta.profile", "tddui-bundle requis")
        urls = [e.get("fullUrl") for e in b.get("entry", [])]
        if len(set(urls)) != len(urls):
            self.err("Bundle.entry.fullUrl", "doublons")
        counts: Counter[str] = Counter()
        for i, e in enumerate(b.get("entry", [])):
            self.entry(f"entry[{i}]", e, counts)
        self.card("Bundle.entry:CarePlan", range(counts["CarePlan"]), 1, 1)
        self.card("Bundle.entry:Patient", range(counts["Patient"]), 1, 1)
        if self.content is not None:
            self.coverage()
        return self.problems

    def entry(self, p: str, e: Json, counts: Counter[str]) -> None:
        """One Bundle entry: its request, then its resource by type and profile."""
        r = e.get("resource")
        req = e.get("request")
        if r is None or req is None:
            self.err(p, "resource et request requis (1..1)")
            return
        rtype = r.get("resourceType", "")
        if req.get("method") != "POST":
            self.err(f"{p}.request.method", "POST requis")
        if req.get("url") != rtype:
            self.err(f"{p}.request.url", "le type de ressource est attendu")
        counts[rtype] += 1
        self.resource(f"{p}.{rtype}", rtype, r)

    def resource(self, p: str, rtype: str, r: Json) -> None:
        """Check resource ``r`` against the TDDUI profile of its type."""
        profiles = r.get("meta", {}).get("profile", [])
        self.problems += frcore_checks.check_resource(p, r)
        checks: dict[str, Callable[[str, Json], None]] = {
            "Patient": self.patient,
            "CarePlan": self.careplan,
            "Consent": self.consent,
            "ServiceRequest": self.besoin,
            "Goal": self.goal,
            "Practitioner": self.practitioner,
            "Organization": self.organization,
            "RelatedPerson": self.related_person,
        }
        if rtype in checks:
            checks[rtype](p, r)
        elif rtype == "Task" and f.SD + "tddui-task-action" in profiles:
            self.action(p, r)
        elif rtype == "Task" and f.SD + "tddui-task-prestation" in profiles:
            self.prestation(p, r)
        elif rtype == "Task" and f.SD + "tddui-task-bilan" in profiles:
            self.bilan(p, r)
        else:
            self.err(p, "ressource ou profil non pris en charge")

    def coverage(self) -> None:
        """One resource per besoin, objective, action and prestation of the version."""
        if self.content is None:
            raise RuntimeError("self.content is None")
        ct = self.content
        expected = {
            ("BESO", "tddui-service-request-besoin"): {b.id for b in ct.besoins},
            ("OBJE", "tddui-goal-objectif"): {o.id for o in ct.objectifs},
            ("ACTI", "tddui-task-action"): {a.id for a in ct.actions},
            ("PRES", "tddui-task-prestation"): {
                f"{a.id}.{code}" for a in ct.actions for code in a.prestations
            },
            ("ATTE", "tddui-goal-attente"): {a.id for a in ct.attentes if a.texte.strip()},
        }
        for (type_, profile), ids in expected.items():
            found = [
                self.item_id(r, type_)
                for r in self.resources.values()
                if self.has_profile(r, profile)
            ]
            if sorted(ids) != sorted(i or "" for i in found):
                self.err(f"Bundle.entry:{profile}", "ne correspond pas au contenu de la version")


def check_bundle(bundle: Json, content: PPAContent | None = None) -> list[str]:
    """Check a TDDUI Bundle dict; return the list of problems (empty when conformant).

    With ``content`` (the version rendered), also check the links against it: each Goal
    addresses the ServiceRequest of its objective's besoin and carries its avis usager, each
    action Task points to its objectives' Goals and carries its avis usager.
    """
    return _Checker(bundle, content).run()
