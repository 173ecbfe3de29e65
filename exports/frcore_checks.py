"""Our own checks of the FR Core slices underneath the TDDUI and GAP profiles.

The TDDUI profiles derive from FR Core (``https://hl7.fr/ig/fhir/core``): ``tddui-patient-ins``
from ``fr-core-patient-ins``, ``tddui-practitioner`` from ``fr-core-practitioner``,
``tddui-organization`` from ``fr-core-organization``; ``gap-fr-appointment`` from
``fr-core-appointment``. A strict receiver validates those slices too, and one slice error rejects
the whole transaction. Source: the FSH of FR Core (``Interop-Sante/hl7.fhir.fr.core``,
``input/fsh/profiles/FRCore{PatientINS,Practitioner,Organization,Appointment}Profile.fsh``).

Every identifier slice is listed in :data:`IDENTIFIER_SLICES` with its fixed ``system``, the
``type`` pattern and, where fixed, the ``use``; an identifier whose system names a slice must carry
the slice's type and use (FR Core discriminates ``fr-core-organization`` identifiers on system
**and** type: an idNat_Struct without ``type`` IDNST matches no slice, which a receiver applying
the profile reads as an unknown identifier, hence an error here), and a slice's maximum
cardinality holds.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, NamedTuple

Json = dict[str, Any]

FR_V2_0203 = "https://hl7.fr/ig/fhir/core/CodeSystem/fr-core-cs-v2-0203"
V3_PARTICIPATION = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"


class Slice(NamedTuple):
    name: str
    system: str
    types: frozenset[str]
    """Allowed ``type.coding`` codes of ``fr-core-cs-v2-0203`` (one of them is required)."""
    uses: frozenset[str] | None
    """Allowed ``use`` values (``None``: not fixed)."""
    max: int | None


def _s(name: str, system: str, types: str, uses: str | None, max_: int | None) -> Slice:
    return Slice(
        name,
        system,
        frozenset(types.split()),
        frozenset(uses.split()) if uses else None,
        max_,
    )


IDENTIFIER_SLICES: dict[str, tuple[Slice, ...]] = {
    "Patient": (
        _s("INS-NIR", "urn:oid:1.2.250.1.213.1.4.8", "INS-NIR", "official old", 1),
        _s("INS-NIA", "urn:oid:1.2.250.1.213.1.4.9", "INS-NIA", "temp", 1),
        _s("INS-NIR-TEST", "urn:oid:1.2.250.1.213.1.4.10", "INS-NIR-TEST", "official", 1),
        _s("INS-NIR-DEMO", "urn:oid:1.2.250.1.213.1.4.11", "INS-NIR-DEMO", "official", 1),
    ),
    "Practitioner": (
        _s("idNatPs", "urn:oid:1.2.250.1.71.4.2.1", "IDNPS", None, 1),
        _s("rpps", "https://rpps.esante.gouv.fr", "RPPS", None, None),
    ),
    "Organization": (
        _s("idNatSt", "urn:oid:1.2.250.1.71.4.2.2", "IDNST", "official", 1),
        _s("siren/siret", "https://sirene.fr", "SIREN SIRET", None, None),
        _s("finess", "https://finess.esante.gouv.fr", "FINEJ FINEG", None, None),
        _s("adeliRang", "https://adelirang.esante.gouv.fr", "INTRN", None, None),
        _s("rppsRang", "https://rppsrang.esante.gouv.fr", "INTRN", None, None),
    ),
}
IDENTIFIER_USES = {"usual", "official", "temp", "secondary", "old"}

APPOINTMENT_ACTORS = {
    "Device",
    "PractitionerRole",
    "RelatedPerson",
    "HealthcareService",
    "Practitioner",
    "Patient",
    "Location",
}
"""``fr-core-appointment`` participant.actor targets."""


def check_identifiers(path: str, resource: Json) -> list[str]:
    """FR Core identifier slices of ``resource`` (Patient, Practitioner, Organization)."""
    problems: list[str] = []
    slices = IDENTIFIER_SLICES.get(resource.get("resourceType", ""), ())
    counts: Counter[str] = Counter()
    for k, ident in enumerate(resource.get("identifier", [])):
        p = f"{path}.identifier[{k}]"
        if "use" in ident and ident["use"] not in IDENTIFIER_USES:
            problems.append(f"{p}.use: valeur hors IdentifierUse")
        if not ident.get("system") or not ident.get("value"):
            problems.append(f"{p}: system et value requis")
        for sl in slices:
            if ident.get("system") != sl.system:
                continue
            counts[sl.name] += 1
            codes = {
                c.get("code")
                for c in ident.get("type", {}).get("coding", [])
                if c.get("system") == FR_V2_0203
            }
            if not codes & sl.types:
                wanted = " | ".join(sorted(sl.types))
                problems.append(f"{p}:{sl.name}.type: {FR_V2_0203}#{wanted} requis")
            if sl.uses is not None and ident.get("use") not in sl.uses:
                wanted = " | ".join(sorted(sl.uses))
                problems.append(f"{p}:{sl.name}.use: {wanted} requis")
    for sl in slices:
        if sl.max is not None and counts[sl.name] > sl.max:
            problems.append(
                f"{path}.identifier:{sl.name}: cardinalité {counts[sl.name]} > {sl.max}"
            )
    return problems


def _participant(p: str, part: Json, contained: dict[str, str], referenced: set[str]) -> list[str]:
    problems: list[str] = []
    if part.get("status") not in {"accepted", "declined", "tentative", "needs-action"}:
        problems.append(f"{p}.status: requis (ParticipationStatus)")
    types = {c.get("code") for t in part.get("type", []) for c in t.get("coding", [])}
    actor = part.get("actor")
    if actor is None:
        return problems if types else [*problems, f"{p}: type ou actor requis (app-1)"]
    ref = actor.get("reference")
    rtype: str | None = None
    if ref is not None and ref.startswith("#"):
        referenced.add(ref[1:])
        rtype = contained.get(ref[1:])
        if rtype is None:
            problems.append(f"{p}.actor: ressource contenue {ref} absente")
    elif ref is not None:
        rtype = ref.split("/")[0] if "/" in ref else None
    elif "identifier" in actor:
        ident = actor["identifier"]
        if not ident.get("system") or not ident.get("value"):
            problems.append(f"{p}.actor.identifier: system et value requis")
        rtype = actor.get("type")
        if rtype is None:
            problems.append(f"{p}.actor.type: type de la cible requis (Patient, Location...)")
    elif "ENT" in types:
        problems.append(f"{p}:appointmentOperator.actor: référence requise")
    if rtype is not None and rtype not in APPOINTMENT_ACTORS:
        problems.append(f"{p}.actor: type {rtype} non autorisé par fr-core-appointment")
    return problems


def check_appointment(path: str, r: Json) -> list[str]:
    """``fr-core-appointment`` (and base R4 Appointment) constraints our Appointments rely on."""
    problems: list[str] = []
    contained = {c.get("id"): c.get("resourceType") for c in r.get("contained", [])}
    referenced: set[str] = set()
    if not r.get("participant"):
        problems.append(f"{path}.participant: cardinalité 0 hors de 1..*")
    for k, part in enumerate(r.get("participant", [])):
        problems += _participant(f"{path}.participant[{k}]", part, contained, referenced)
    problems += [
        f"{path}.contained[{cid}]: ressource contenue non référencée (dom-3)"
        for cid in contained
        if cid not in referenced
    ]
    status = r.get("status")
    if status not in {"proposed", "pending", "booked", "fulfilled", "cancelled"}:
        problems.append(f"{path}.status: statut inattendu")
    if status not in {"proposed", "cancelled", "waitlist"} and not (
        r.get("start") and r.get("end")
    ):
        problems.append(f"{path}: start et end requis hors proposed/cancelled (app-3)")
    if bool(r.get("start")) != bool(r.get("end")):
        problems.append(f"{path}: start et end vont ensemble (app-2)")
    if r.get("specialty"):
        problems.append(f"{path}.specialty: liaison requise (FR Core) non vérifiable ici")
    return problems


def check_resource(path: str, r: Json) -> list[str]:
    """Every FR Core check that applies to ``r``."""
    problems = check_identifiers(path, r)
    if r.get("resourceType") == "Appointment":
        problems += check_appointment(path, r)
    return problems


def check_agenda_bundle(bundle: Json) -> list[str]:
    """The Appointments export (:mod:`exports.fhir_agenda`): a ``collection`` (GAP's agenda
    manager takes resources one by one, it has no ``transaction``) of FR Core Appointments."""
    problems: list[str] = []
    if bundle.get("resourceType") != "Bundle" or bundle.get("type") != "collection":
        problems.append("Bundle.type: collection requis")
    for i, e in enumerate(bundle.get("entry", [])):
        if "request" in e:
            problems.append(f"entry[{i}].request: interdit dans une collection (bdl-3)")
        r = e.get("resource", {})
        if r.get("resourceType") != "Appointment":
            problems.append(f"entry[{i}]: Appointment attendu")
            continue
        problems += check_resource(f"entry[{i}].Appointment", r)
    return problems
