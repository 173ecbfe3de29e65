"""Schemathesis hooks (``SCHEMATHESIS_HOOKS``) for test_openapi_contract: what JSON Schema
cannot say about a valid request, so that a schema-valid request is really valid.

- The national identifiers end with a check key (Luhn, modulo 97): an identifier that matches
  its documented pattern gets its right key (a request invalid for another reason stays so).
- "Not in the future" (a birth date) depends on the day; ``from`` at most ``to`` (the log's
  consistency proof) and an admission not before the birth compare two values: such requests
  are dropped.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import date
from typing import Any

import schemathesis
from schemathesis import APIOperation

from editor.text_rules import find_illegal_chars
from server.esms.nde import TRE_R254
from server.people.identifiers import ins_key, luhn_key
from server.people.schemas import FINESS_PATTERN, INS_PATTERN, RPPS_PATTERN


def _finess(value: str) -> str:
    return value[:8] + luhn_key(value[:8]) if value.isdigit() else value


def _rpps(value: str) -> str:
    return value[:10] + luhn_key(value[:10]) if value else value


def _ins(value: str) -> str:
    return f"{value[:13]}{ins_key(value[:13]):02d}"


Case = schemathesis.Case[APIOperation[Any, Any, Any, Any]]

KEYED: dict[str, tuple[str, Callable[[str], str]]] = {
    "finess": (FINESS_PATTERN, _finess),
    "rpps": (RPPS_PATTERN, _rpps),
    "ins_matricule": (INS_PATTERN, _ins),
}


def _nde_subscription(body: dict[str, Any]) -> None:
    """An ``nde-subscription`` whose generated status and reason are kept and whose profile
    parts JSON Schema cannot tie together (contained references, the INS, the JDV_J46 code,
    the secret header) are made valid: it names a person in no cercle (403)."""
    ins = "urn:oid:1.2.250.1.213.1.4.10|100000000000000"
    system, value = ins.split("|")
    nde = "https://interop.esante.gouv.fr/ig/fhir/nde/StructureDefinition/"
    body["contained"] = [
        {"resourceType": "Patient", "id": "p", "identifier": [{"system": system, "value": value}]},
        {"resourceType": "Organization", "id": "o", "name": "PPA"},
    ]
    body["extension"] = [
        {"url": nde + "start", "valueDateTime": "2026-01-01T00:00:00Z"},
        {"url": nde + "subject", "valueReference": {"reference": "#p"}},
        {"url": nde + "declarant", "valueReference": {"reference": "#o"}},
        {"url": nde + "subscriber", "valueReference": {"reference": "#o"}},
        {
            "url": nde + "event-type",
            "valueCodeableConcept": {"coding": [{"system": TRE_R254, "code": "DOC"}]},
        },
    ]
    body["criteria"] = "CommunicationRequest?event-type=DOC"
    body["channel"] = {
        "type": "rest-hook",
        "endpoint": "https://dui.example.org/nde",
        "header": ["X-PPA-Webhook-Secret: " + "s" * 32],
    }
    body.pop("end", None)


@schemathesis.hook
def map_case(context: schemathesis.HookContext, case: Case) -> Case:
    """Give the identifiers that match their pattern their right check key; make a schema-valid
    NdE Subscription valid for its profile."""
    reason = case.body.get("reason") if isinstance(case.body, dict) else None
    if (
        case.operation.path == "/fhir/Subscription"
        and isinstance(case.body, dict)
        and case.body.get("resourceType") == "Subscription"
        and case.body.get("status") in ("requested", "active")
        and isinstance(reason, str)
        and reason.strip()
    ):
        _nde_subscription(case.body)
    if isinstance(case.body, dict):
        for field, (pattern, with_key) in KEYED.items():
            value = case.body.get(field)
            if isinstance(value, str) and re.fullmatch(pattern, value):
                case.body[field] = with_key(value)
    return case


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _texts(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _texts(key)
            yield from _texts(item)
    elif isinstance(value, list):
        for item in value:
            yield from _texts(item)


@schemathesis.hook
def filter_case(context: schemathesis.HookContext, case: Case) -> bool:
    """Drop a birth date in the future, a consistency proof asked from a later head, a random
    If-Match on a content patch, and a text
    holding a character the documented pattern cannot name (the other planes' last two code
    points: ECMA-262 patterns without the ``u`` flag read UTF-16 units)."""
    parts = (case.body, case.query, case.path_parameters, case.headers)
    if any(find_illegal_chars(text) for part in parts for text in _texts(part)):
        return False
    born = case.body.get("birth_date") if isinstance(case.body, dict) else None
    admitted = case.body.get("admission_date") if isinstance(case.body, dict) else None
    if isinstance(born, str):
        try:
            if date.fromisoformat(born) > date.today():
                return False
            # an admission before the birth compares two fields: 422 by design
            if isinstance(admitted, str) and date.fromisoformat(admitted) < date.fromisoformat(
                born
            ):
                return False
        except ValueError:
            pass
    # An admission date is compared with the stored birth date on a PATCH: a random one before
    # it is a 422 by design (tests/server/test_persons.py), which no schema can state.
    if (
        case.operation.path == "/api/persons/{person_id}"
        and case.method.upper() == "PATCH"
        and isinstance(admitted, str)
    ):
        return False
    # An If-Match the server never served names no state: 412 by design (docs/fhir-api.md).
    if case.operation.path == "/api/ppas/{ppa_id}/content" and any(
        key.lower() == "if-match" for key in case.headers or {}
    ):
        return False
    # A TDDUI bundle's validity (TDDUI and FR Core profiles, references between entries) is more
    # than JSON Schema states: a random schema-valid bundle gets 422 by design, every problem
    # listed (tests/server/test_tddui_import.py); only the schema-invalid cases are kept.
    body = case.body if isinstance(case.body, dict) else {}
    if (
        case.operation.path in ("/fhir", "/api/persons/{person_id}/ppas/import")
        and body.get("resourceType") == "Bundle"
        and body.get("type") == "transaction"
    ):
        return False
    if case.operation.path == "/api/log/consistency" and isinstance(case.query, dict):
        first, last = _int(case.query.get("from")), _int(case.query.get("to"))
        if first is not None and last is not None and first > last:
            return False
    return True
