"""Reading TDDUI resources back into PPA content fields, and the residual that makes the round
trip lossless.

Each PPA element of the TDDUI bundle (:mod:`exports.fhir`) expresses some fields of its item in
TDDUI elements (an objective's title in its ``titreObjectif`` note, its due date in
``target.dueDate``...). :func:`read` gives those fields back from a resource (``kind``: one of
:data:`KINDS`). What the TDDUI elements do not carry exactly (a field TDDUI has no element for,
such as an action's ``planning``; a value written with a fallback, such as an empty title sent as
"Objectif"), the export adds as the **residual** extension :data:`RESIDUAL_EXT` (``valueString``,
JSON ``{"f": {field: value}, "x": {field: value TDDUI showed at export}}``). On import a residual
field is applied only while the TDDUI element still shows what was exported (``x``): a DUI that
changed the element wins. The CarePlan's residual also carries what has no resource of its own:
the moyens (TDDUI's ``tddui-task-moyen-ressource`` differential was not read, see
docs/fhir-api.md), the attentes without text, and the bilan when it has no day (no Task).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

from editor.schema import (
    Accord,
    Action,
    Attente,
    Besoin,
    Bilan,
    Moyen,
    Objectif,
    Projet,
)
from exports import fhir_followup as follow
from exports.context import EXPORT_NAMESPACE, uuid_oid

Json = dict[str, Any]
Ref = tuple[str, str]
"""(resource type, item id) a reference resolves to."""
Resolve = Callable[[Any], Ref | None]

RESIDUAL_EXT = f"urn:oid:{uuid_oid(uuid.uuid5(EXPORT_NAMESPACE, 'ppa-collab tddui residual'))}"
"""Extension (our OID under 2.25, UUID-derived) carrying what TDDUI elements do not express."""

MODELS: dict[str, type[Any]] = {
    "projet": Projet,
    "attentes": Attente,
    "besoins": Besoin,
    "objectifs": Objectif,
    "actions": Action,
    "moyens": Moyen,
    "accords": Accord,
    "bilan": Bilan,
}
KINDS = tuple(MODELS)

DISC_CS = follow.CS + "tddui-discriminator"
DISC_EXT = follow.SD + "tddui-discriminator"

GOAL_STATUS = {"planned": "en_preparation", "active": "actif", "completed": "termine"}
GOAL_STATUS |= {"cancelled": "annule", "proposed": "en_preparation", "accepted": "actif"}
GOAL_STATUS |= {"on-hold": "actif", "rejected": "annule"}
TASK_STATUS = {"draft": "en_preparation", "in-progress": "actif", "completed": "termine"}
TASK_STATUS |= {"cancelled": "annule", "requested": "en_preparation", "received": "en_preparation"}
TASK_STATUS |= {"accepted": "en_preparation", "ready": "en_preparation", "on-hold": "actif"}
TASK_STATUS |= {"failed": "annule", "rejected": "annule"}
CONSENT_MODE = {"active": "signe", "rejected": "refuse", "proposed": "non_sollicite"}
ACHIEVEMENT = {
    "achieved": "atteint",
    "improving": "partiellement_atteint",
    "not-achieved": "non_atteint",
    "not-attainable": "abandonne",
}
TRIAL_STATUS = "à l'essai"


def _first(items: Any) -> Json:
    return items[0] if isinstance(items, list) and items and isinstance(items[0], dict) else {}


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _day(value: Any) -> str | None:
    return value[:10] if isinstance(value, str) and value else None


def disc(elem: Json) -> str | None:
    """The ``tddui-discriminator`` code of a note or a supportingInfo."""
    for ext in elem.get("extension", []) if isinstance(elem, dict) else []:
        if isinstance(ext, dict) and ext.get("url") == DISC_EXT:
            coding = _first(ext.get("valueCodeableConcept", {}).get("coding"))
            code = coding.get("code")
            return code if isinstance(code, str) else None
    return None


def _inputs(r: Json) -> list[tuple[str, Json]]:
    out = []
    for elem in r.get("input", []) or []:
        if isinstance(elem, dict):
            code = _first(elem.get("type", {}).get("coding")).get("code")
            out.append((code if isinstance(code, str) else "", elem))
    return out


def _input_text(r: Json, code: str) -> str:
    return next((_text(e.get("valueString")) for c, e in _inputs(r) if c == code), "")


def _refs(refs: Any, resolve: Resolve, rtype: str) -> list[str]:
    out = []
    for ref in refs if isinstance(refs, list) else []:
        target = resolve(ref)
        if target is not None and target[0] == rtype:
            out.append(target[1])
    return out


def _careplan(r: Json, resolve: Resolve) -> Json:
    period = r.get("period") or {}
    return {
        "titre": _text(r.get("title")),
        "type": _first(_first(r.get("category")).get("coding")).get("code", "PPA"),
        "date_debut": _day(period.get("start")),
        "date_fin": _day(period.get("end")),
        "modalite_communication": _text(_first(r.get("note")).get("text")),
    }


def _attente(r: Json, resolve: Resolve) -> Json:
    expressed = r.get("expressedBy") or {}
    target = resolve(expressed)
    if target is not None and target[0] == "Patient":
        origine = "personne"
    elif expressed.get("display") == "Professionnel" or (target and target[0] != "RelatedPerson"):
        origine = "professionnel"
    else:
        origine = "entourage"
    return {"texte": _text((r.get("description") or {}).get("text")), "origine": origine}


def _besoin(r: Json, resolve: Resolve) -> Json:
    code = _first(_first(r.get("category")).get("coding")).get("code")
    return {
        "code": code if isinstance(code, str) else None,
        "description": _text((r.get("code") or {}).get("text")),
        "analyse": _text(_first(r.get("orderDetail")).get("text")),
    }


def _objectif(r: Json, resolve: Resolve) -> Json:
    notes = {disc(n): _text(n.get("text")) for n in r.get("note", []) or [] if isinstance(n, dict)}
    target = _first(r.get("target"))
    achieved = _text(_first((r.get("achievementStatus") or {}).get("coding")).get("code"))
    return {
        "titre": notes.get("titreObjectif", ""),
        "description": _text((r.get("description") or {}).get("text")),
        "besoin_ids": _refs(r.get("addresses"), resolve, "ServiceRequest"),
        "domaine": _text(_first(r.get("category")).get("text")),
        "date_debut": _day(r.get("startDate")),
        "date_echeance": _day(target.get("dueDate")),
        "resultat_attendu": _text(target.get("detailString")),
        "strategie": notes.get("strategieMiseEnOeuvreObjectif", ""),
        "statut": GOAL_STATUS.get(_text(r.get("lifecycleStatus")), "en_preparation"),
        "bilan_resultat": ACHIEVEMENT.get(achieved, "non_evalue"),
        "bilan_date": _day(r.get("statusDate")),
    }


def _action(r: Json, resolve: Resolve) -> Json:
    status = TASK_STATUS.get(_text(r.get("status")), "en_preparation")
    if status == "actif" and (r.get("businessStatus") or {}).get("text") == TRIAL_STATUS:
        status = "essai"
    period = r.get("executionPeriod") or {}
    goals = [e.get("valueReference") for c, e in _inputs(r) if c == "objectif"]
    return {
        "titre": _input_text(r, "titre"),
        "description": _text(r.get("description")),
        "objectif_ids": _refs(goals, resolve, "Goal"),
        "statut": status,
        "date_debut": _day(period.get("start")),
        "date_fin": _day(period.get("end")),
        "avis_usager": _input_text(r, "avisUsager"),
        "resultat_attendu": _input_text(r, "resultatAttendu"),
    }


def _accord(r: Json, resolve: Resolve) -> Json:
    performer = _first(r.get("performer"))
    target = resolve(performer)
    kind = {"Patient": "personne", "RelatedPerson": "representant"}.get(
        target[0] if target else "", "structure"
    )
    reason = next(
        (
            _text((e.get("valueCodeableConcept") or {}).get("text"))
            for e in r.get("extension", []) or []
            if isinstance(e, dict) and e.get("url") == follow.REASON_EXT
        ),
        "",
    )
    verified = (_first(r.get("verification")).get("verifiedWith") or {}).get("display")
    return {
        "type": kind,
        "mode": CONSENT_MODE.get(_text(r.get("status")), "signe"),
        "temoin": _text(verified),
        "date": _day(r.get("dateTime")),
        "motif": reason,
    }


def _bilan(r: Json, resolve: Resolve) -> Json:
    start = _day((r.get("executionPeriod") or {}).get("start"))
    held = r.get("status") == "completed"
    inputs = _inputs(r)
    notes = next(
        (e.get("valueAnnotation") or {} for c, e in inputs if c == "synthesePreparationBilan"), {}
    )
    output = _first(r.get("output"))
    return {
        "date_evaluation": start if held else None,
        "date_evaluation_prevue": None if held else start,
        "perimetre": _input_text(r, "perimetre"),
        "prochaine_revision": next(
            (_day(e.get("valueDate")) for c, e in inputs if c == "dateProchainBilan"), None
        ),
        "notes_preparation": _text(notes.get("text")),
        "synthese": _text((output.get("valueAnnotation") or {}).get("text")),
    }


READERS: dict[str, Callable[[Json, Resolve], Json]] = {
    "projet": _careplan,
    "attentes": _attente,
    "besoins": _besoin,
    "objectifs": _objectif,
    "actions": _action,
    "accords": _accord,
    "bilan": _bilan,
}


def read(kind: str, resource: Json, resolve: Resolve) -> Json:
    """The fields of the ``kind`` item the TDDUI elements of ``resource`` express (JSON form)."""
    return READERS[kind](resource, resolve)


def defaults(kind: str) -> Json:
    """The JSON form of an item of ``kind`` with every field at its default (no ``id``)."""
    out: Json = MODELS[kind]().model_dump(mode="json")
    out.pop("id", None)
    return out


def residual_of(kind: str, resource: Json, item: Json, resolve: Resolve) -> Json:
    """``{"f", "x"}``: the fields of ``item`` (JSON form) that reading ``resource`` back would
    not give, with what the TDDUI elements showed (empty dict: nothing to add)."""
    shown = read(kind, resource, resolve) if kind in READERS else {}
    base = defaults(kind)
    fields: Json = {}
    exported: Json = {}
    for key, value in item.items():
        if key == "id":
            continue
        got = shown.get(key, base.get(key))
        if got != value:
            fields[key] = value
            if key in shown:
                exported[key] = got
    return {"f": fields, "x": exported} if fields else {}


def apply_residual(shown: Json, residual: Any) -> Json:
    """The fields ``shown`` by TDDUI elements, completed by a residual whose fields still match
    what was exported (``x``): a field the sender changed since keeps the sender's value."""
    out = dict(shown)
    if not isinstance(residual, dict) or not isinstance(residual.get("f"), dict):
        return out
    exported: Json = residual["x"] if isinstance(residual.get("x"), dict) else {}
    for key, value in residual["f"].items():
        if key not in shown or shown[key] == exported.get(key):
            out[key] = value
    return out


def residual_extension(residual: Json) -> Json:
    return {
        "url": RESIDUAL_EXT,
        "valueString": json.dumps(residual, ensure_ascii=False, sort_keys=True),
    }


RECORDED_KEY = "recorded"
"""Residual key of a Consent recorded when its version was validated (value: the record's id):
a record of that version, never imported as content."""


def residual_in(resource: Json) -> Json:
    """The residual a resource carries (``{}`` when none or unreadable)."""
    for ext in resource.get("extension", []) or []:
        if isinstance(ext, dict) and ext.get("url") == RESIDUAL_EXT:
            try:
                value = json.loads(ext.get("valueString") or "{}")
            except ValueError:
                return {}
            return value if isinstance(value, dict) else {}
    return {}


def careplan_extra(content: Any, exported_attentes: set[str]) -> Json:
    """What the CarePlan's residual carries besides the projet's fields: the moyens, the
    attentes without a resource (no text) and their order, the bilan when it has no Task."""
    out: Json = {}
    if content.moyens:
        out["moyens"] = [m.model_dump(mode="json") for m in content.moyens]
    hidden = [a for a in content.attentes if a.id not in exported_attentes]
    if hidden:
        out["attentes"] = [a.model_dump(mode="json") for a in hidden]
        out["order"] = [a.id for a in content.attentes]
    bilan = content.bilan
    if bilan.date_evaluation is None and bilan.date_evaluation_prevue is None:
        rest = residual_of("bilan", {}, bilan.model_dump(mode="json"), lambda _: None)
        if rest:
            out["bilan"] = rest
    return out
