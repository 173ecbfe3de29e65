"""TDDUI import: a ``tddui-bundle`` transaction (TDDUI flow 1, a DUI sending its projet
personnalisé) read back into PPA content.

:func:`read_bundle` checks the bundle first (shape, then :func:`exports.tddui_checks.check_bundle`
with every FR Core slice) and refuses it whole, every problem listed (:class:`ImportRefused`,
``(path, French message)``). Otherwise it gives a :class:`TdduiImport`: the INS of the Patient,
the CarePlan's business identifier, and per item (matched by the id in its business identifier
``<prefix>-<TYPE>-<id>``) the fields the bundle **expresses**: those of its TDDUI elements
(:func:`exports.tddui_read.read`) completed by our residual extension when the bundle is one of
ours. Fields a bundle does not express (an objective's referent from another structure's DUI) are
left out, so a merge keeps them: :meth:`TdduiImport.patch_for` is the JSON Merge Patch (items by
id, :mod:`editor.merge_patch`) that brings a current content to what the bundle says, and
:meth:`TdduiImport.content` the content of a new draft. TDDUI has no delete: an item absent from
the bundle is kept by a merge.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from editor.layout_rule import ITEM_ROOTS
from editor.merge_patch import changed
from editor.schema import PPAContent
from exports import fhir as f
from exports import fhir_followup as follow
from exports import tddui_read as read
from exports.context import EXPORT_NAMESPACE
from exports.tddui_checks import INS_TYPES, check_bundle

Json = dict[str, Any]
Problem = tuple[str, str]

ITEM_TYPES: dict[str, tuple[str, str]] = {
    "attentes": ("ATTE", follow.ID_ATTE),
    "besoins": ("BESO", f.ID_BESO),
    "objectifs": ("OBJE", f.ID_OBJE),
    "actions": ("ACTI", f.ID_ACTI),
}
TYPE_OF_SYSTEM = {system: type_ for type_, system in ITEM_TYPES.values()}
TYPE_OF_SYSTEM |= {f.ID_PRES: "PRES", f.ID_PPER: "PPER"}
KIND_OF_PROFILE = {
    "tddui-goal-attente": "attentes",
    "tddui-service-request-besoin": "besoins",
    "tddui-goal-objectif": "objectifs",
    "tddui-task-action": "actions",
    "tddui-consent-accord": "accords",
    "tddui-task-bilan": "bilan",
    "tddui-careplan-projet-personnalise": "projet",
}
MAX_ENTRIES = 5000


class ImportRefused(ValueError):  # noqa: N818 - a refusal of the sender's bundle, not a bug
    """A bundle refused whole: ``problems`` are (path, French message)."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(f"{p}: {m}" for p, m in problems))
        self.problems = problems


@dataclass
class TdduiImport:
    """What a checked TDDUI bundle says about a PPA (JSON form, items by id)."""

    ins_system: str
    ins_value: str
    careplan_identifier: str
    projet: Json
    projet_de_vie: str
    items: dict[str, dict[str, Json]] = field(default_factory=dict)
    """root -> item id -> fields expressed (in bundle order)."""
    bilan: Json = field(default_factory=dict)
    order: dict[str, list[str]] = field(default_factory=dict)

    def content(self) -> PPAContent:
        """The content of a new draft: every field the bundle does not express at its default."""
        data: Json = {
            "projet": {**read.defaults("projet"), **self.projet},
            "projet_de_vie": self.projet_de_vie,
            "bilan": {**read.defaults("bilan"), **self.bilan},
        }
        for root in ITEM_ROOTS:
            kind = root
            rows = [
                {**read.defaults(kind), **fields, "id": item_id}
                for item_id, fields in self.items.get(root, {}).items()
            ]
            data[root] = _ordered(rows, self.order.get(root))
        return PPAContent.model_validate(data)

    def patch_for(self, current: Json) -> Json:
        """JSON Merge Patch (items by id) from ``current`` (JSON form) to what the bundle says:
        only the fields it expresses that differ; new items whole; nothing deleted."""
        patch: Json = {}
        for key, fields in (("projet", self.projet), ("bilan", self.bilan)):
            diff = {k: v for k, v in fields.items() if current[key].get(k) != v}
            if diff:
                patch[key] = diff
        if current["projet_de_vie"] != self.projet_de_vie:
            patch["projet_de_vie"] = self.projet_de_vie
        for root in ITEM_ROOTS:
            have = {item["id"]: item for item in current[root]}
            changes: Json = {}
            for item_id, fields in self.items.get(root, {}).items():
                if item_id not in have:
                    changes[item_id] = {**read.defaults(root), **fields}
                    continue
                diff = {k: v for k, v in fields.items() if have[item_id].get(k) != v}
                if diff:
                    changes[item_id] = diff
            if changes:
                patch[root] = changes
        return patch


def changed_paths(before: Json, after: Json) -> list[str]:
    """What differs, as ``root.<id>.field`` paths (the answer of an import); an item added or
    removed is named once (``root.<id>``), not field by field."""
    paths = changed(before, after)
    whole = {p for p in paths if len(p) == 2 and p[0] in ITEM_ROOTS}
    return sorted(".".join(p) for p in paths if p in whole or p[:2] not in whole)


def _ordered(rows: list[Json], order: list[str] | None) -> list[Json]:
    if not order:
        return rows
    rank = {item_id: i for i, item_id in enumerate(order)}
    return sorted(rows, key=lambda r: rank.get(r["id"], len(rank)))


def _shape(bundle: Any) -> list[Problem]:
    """What must hold before the profile checks can read the bundle at all."""
    if not isinstance(bundle, dict):
        return [("Bundle", "un objet JSON Bundle est attendu")]
    if bundle.get("resourceType") != "Bundle":
        return [("Bundle.resourceType", "« Bundle » attendu")]
    entries = bundle.get("entry")
    if not isinstance(entries, list) or not entries:
        return [("Bundle.entry", "au moins une entrée est attendue")]
    if len(entries) > MAX_ENTRIES:
        return [("Bundle.entry", f"{MAX_ENTRIES} entrées au plus")]
    problems = []
    for i, e in enumerate(entries):
        if not isinstance(e, dict) or not isinstance(e.get("resource"), dict):
            problems.append((f"Bundle.entry[{i}]", "entrée sans ressource (objet) lisible"))
    return problems


def _checked(bundle: Any) -> list[Problem]:
    problems = _shape(bundle)
    if problems:
        return problems
    try:
        found = check_bundle(bundle)
    except (AttributeError, TypeError, KeyError, ValueError):
        return [("Bundle", "structure illisible : un élément n'a pas le type FHIR attendu")]
    out = []
    for text in found:
        path, _, message = text.partition(": ")
        out.append((path, message or text))
    return out


class _Reader:
    def __init__(self, bundle: Json) -> None:
        self.entries = [e for e in bundle["entry"] if isinstance(e, dict)]
        self.problems: list[Problem] = []
        self.targets: dict[str, read.Ref] = {}
        self.items: dict[str, dict[str, Json]] = {root: {} for root in ITEM_ROOTS}
        self.prestations: dict[str, list[str]] = {}
        self.ins = ("", "")
        self.careplan: TdduiImport | None = None
        self.bilan: Json | None = None
        for e in self.entries:
            r = e["resource"]
            ref = (r.get("resourceType", ""), self.item_id(r) or "")
            if isinstance(e.get("fullUrl"), str):
                self.targets[e["fullUrl"]] = ref
            if isinstance(r.get("id"), str):
                self.targets[f"{ref[0]}/{r['id']}"] = ref

    def entry(self, i: int, e: Json) -> None:
        """Read one entry: the Patient's INS, the CarePlan, a PPA element, a prestation."""
        r = e["resource"]
        kind = self.kind(r)
        if r.get("resourceType") == "Patient":
            ins = next(x for x in r["identifier"] if x.get("system") in INS_TYPES)
            self.ins = (str(ins["system"]), str(ins["value"]))
        elif kind == "projet":
            self.careplan = _careplan(r, self)
        elif kind == "bilan":
            self.bilan = read.apply_residual(read.read(kind, r, self.resolve), read.residual_in(r))
        elif kind == "accords" and read.RECORDED_KEY in read.residual_in(r):
            return  # recorded at a validation of ours: that version's, not the draft's
        elif kind is not None:
            item_id = _accord_id(r, self.resolve) if kind == "accords" else self.item_id(r)
            if not isinstance(item_id, str) or not 1 <= len(item_id) <= 64:
                path = f"Bundle.entry[{i}].{r.get('resourceType')}.identifier"
                self.problems.append((path, "identifiant d'élément de 1 à 64 caractères attendu"))
                return
            shown = read.read(kind, r, self.resolve)
            self.items[kind][item_id] = read.apply_residual(shown, read.residual_in(r))
        elif f.SD + "tddui-task-prestation" in r.get("meta", {}).get("profile", []):
            action = self.resolve(_first(r.get("partOf")))
            code = _prestation_code(r)
            if action is not None and code is not None:
                self.prestations.setdefault(action[1], []).append(code)

    def result(self) -> TdduiImport:
        out = self.careplan
        if out is None:  # check_bundle requires one CarePlan: unreachable
            raise ImportRefused([("Bundle.entry:CarePlan", "CarePlan requis")])
        out.ins_system, out.ins_value = self.ins
        if self.bilan is not None:
            out.bilan = self.bilan
        for action_id, fields in self.items["actions"].items():
            fields.setdefault("prestations", self.prestations.get(action_id, []))
        for root, rows in out.items.items():  # the CarePlan's residual first (moyens...)
            self.items[root] = {**rows, **self.items[root]}
        out.items = {root: rows for root, rows in self.items.items() if rows}
        return out

    def resolve(self, ref: Any) -> read.Ref | None:
        url = ref.get("reference") if isinstance(ref, dict) else None
        return self.targets.get(url) if isinstance(url, str) else None

    @staticmethod
    def kind(r: Json) -> str | None:
        for profile in r.get("meta", {}).get("profile", []):
            kind = KIND_OF_PROFILE.get(str(profile).removeprefix(f.SD))
            if kind:
                return kind
        return None

    @staticmethod
    def item_id(r: Json) -> str | None:
        """The item id in the business identifier ``<prefix>-<TYPE>-<id>`` (type by system)."""
        for ident in r.get("identifier", []) if isinstance(r.get("identifier"), list) else []:
            if not isinstance(ident, dict):
                continue
            type_ = TYPE_OF_SYSTEM.get(str(ident.get("system")))
            _, sep, tail = str(ident.get("value", "")).partition(f"-{type_}-")
            if type_ and sep:
                return tail
        return None


def read_bundle(bundle: Any) -> TdduiImport:
    """The PPA a ``tddui-bundle`` transaction carries; :class:`ImportRefused` listing every
    problem (profile checks, then what the content model refuses) otherwise."""
    problems = _checked(bundle)
    if problems:
        raise ImportRefused(problems)
    rd = _Reader(bundle)
    for i, e in enumerate(rd.entries):
        rd.entry(i, e)
    if rd.problems:
        raise ImportRefused(rd.problems)
    out = rd.result()
    try:
        out.content()
    except ValidationError as exc:
        raise ImportRefused(
            [(".".join(str(x) for x in err["loc"]), err["msg"]) for err in exc.errors()]
        ) from exc
    return out


def _first(items: Any) -> Json:
    return items[0] if isinstance(items, list) and items and isinstance(items[0], dict) else {}


def _careplan(r: Json, rd: _Reader) -> TdduiImport:
    residual = read.residual_in(r)
    ident = next(
        (x.get("value", "") for x in r.get("identifier", []) if x.get("system") == f.ID_PPER), ""
    )
    out = TdduiImport(
        ins_system="",
        ins_value="",
        careplan_identifier=str(ident),
        projet=read.apply_residual(read.read("projet", r, rd.resolve), residual),
        projet_de_vie=str(r["description"]) if isinstance(r.get("description"), str) else "",
    )
    extra: dict[str, dict[str, Json]] = {}
    for root in ("moyens", "attentes"):
        rows = residual.get(root)
        for row in rows if isinstance(rows, list) else []:
            if isinstance(row, dict) and isinstance(row.get("id"), str):
                extra.setdefault(root, {})[row["id"]] = {k: v for k, v in row.items() if k != "id"}
    out.items = extra
    if isinstance(residual.get("order"), list):
        out.order["attentes"] = [str(x) for x in residual["order"]]
    if isinstance(residual.get("bilan"), dict):
        out.bilan = read.apply_residual({}, residual["bilan"])
    return out


def _prestation_code(r: Json) -> str | None:
    for elem in r.get("input", []) or []:
        if not isinstance(elem, dict):
            continue
        if _first(elem.get("type", {}).get("coding")).get("code") == "typePrestation":
            code = _first((elem.get("valueCodeableConcept") or {}).get("coding")).get("code")
            return code if isinstance(code, str) else None
    return None


def _accord_id(r: Json, resolve: read.Resolve) -> str:
    """An agreement's id: ours in the residual; else (a Consent has no business identifier)
    one derived from who gave it and when, so the same agreement sent again is matched."""
    mine = read.residual_in(r).get("id")
    if isinstance(mine, str):
        return mine
    who = _first(r.get("performer"))
    key = json.dumps([resolve(who), who.get("display"), r.get("dateTime")], default=str)
    return str(uuid.uuid5(EXPORT_NAMESPACE, f"tddui consent {key}"))
