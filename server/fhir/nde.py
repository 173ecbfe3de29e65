"""CI-SIS NdE 3.0.0 (Notification d'événements): the service as *gestionnaire d'abonnements*
for the DUIs and *émetteur* of the PPA's events.

* :func:`parse_subscription` checks a DUI's ``nde-subscription`` (the profile's extensions,
  cardinalities, the required JDV_J46 binding of ``event-type``, a ``rest-hook`` channel) and
  answers every problem at once, in French, with its FHIR path.
* :func:`served` serves a stored one. The CommunicationRequests delivered for the events (the
  *émetteur* side) are :mod:`server.esms.nde`'s.

Event type: JDV_J46 (codes of TRE_R254) has no PPA code. A validated version or avenant of a PPA
is a document deposited for the person: ``DOC``. It is the only type this service emits (a
subscription to another type is refused: it would never be told anything).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from editor.text_rules import illegal_text_paths
from server.errors import InvalidInput
from server.esms.nde import (
    DECLARANT_TYPES,
    EMITTED,
    EXT,
    EXTENSIONS,
    INS_SYSTEM,
    J46_CODES,
    SECRET_HEADER,
    SUBSCRIBER_TYPES,
    SUBSCRIPTION_PROFILE,
    TRE_R254,
    Json,
    contained_resource,
    instant_text,
)
from server.models.nde import NdeSubscription


@dataclass(frozen=True)
class ParsedSubscription:
    resource: Json
    """The Subscription to store and serve (``channel.header`` removed)."""
    ins_oid: str
    ins_matricule: str
    start: datetime
    end: datetime | None
    endpoint: str
    secret: str


def _instant(value: Any) -> datetime | None:
    """A FHIR dateTime (a date, or a date and time with its zone) as an aware UTC datetime."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            return datetime.fromisoformat(text).replace(tzinfo=UTC)
        if "T" not in text:
            return None
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo else None


class _Problems:
    def __init__(self) -> None:
        self.items: list[tuple[str, str]] = []

    def add(self, path: str, message: str) -> None:
        self.items.append((path, message))


def _extensions(body: Json, problems: _Problems) -> dict[str, Any]:
    found: dict[str, list[Json]] = {}
    for ext in body.get("extension") or []:
        if isinstance(ext, dict) and isinstance(ext.get("url"), str):
            name = ext["url"].removeprefix(EXT) if ext["url"].startswith(EXT) else None
            if name in EXTENSIONS:
                found.setdefault(name, []).append(ext)
    values: dict[str, Any] = {}
    for name, (minimum, value_type) in EXTENSIONS.items():
        path = f"Subscription.extension:{name}"
        exts = found.get(name, [])
        if len(exts) < minimum:
            problems.add(path, f"extension {EXT}{name} obligatoire (1..1).")
        elif len(exts) > 1:
            problems.add(path, f"extension {name} : une seule occurrence permise (0..1 / 1..1).")
        elif exts:
            if value_type not in exts[0]:
                problems.add(path, f"extension {name} : {value_type} attendu.")
            else:
                values[name] = exts[0][value_type]
    return values


def _event_type(value: Any, problems: _Problems) -> None:
    path = "Subscription.extension:event-type"
    codings = value.get("coding") if isinstance(value, dict) else None
    codes = [
        c.get("code")
        for c in (codings or [])
        if isinstance(c, dict) and c.get("system") == TRE_R254
    ]
    if not codes or any(code not in J46_CODES for code in codes):
        problems.add(
            path,
            f"event-type : un code de TRE_R254 ({TRE_R254}) du jeu de valeurs JDV_J46 est "
            "obligatoire (liaison required).",
        )
    elif codes != [EMITTED]:
        problems.add(
            path,
            f"event-type : ce service n'émet que « {EMITTED} » (dépôt de document : une version "
            "validée ou un avenant du PPA) ; un abonnement à un autre type ne recevrait rien.",
        )


def _subject(body: Json, value: Any, problems: _Problems) -> tuple[str, str] | None:
    path = "Subscription.extension:subject"
    patient = contained_resource(body, value)
    if patient is None or patient.get("resourceType") != "Patient":
        problems.add(path, "subject : référence « #id » vers un Patient contenu (contained).")
        return None
    for ident in patient.get("identifier") or []:
        if not isinstance(ident, dict):
            continue
        system, matricule = ident.get("system"), ident.get("value")
        if (
            isinstance(system, str)
            and INS_SYSTEM.match(system)
            and isinstance(matricule, str)
            and matricule.strip()
        ):
            return system.removeprefix("urn:oid:"), matricule.strip()
    problems.add(
        path,
        "subject : le Patient contenu doit porter son INS (identifier.system "
        "urn:oid:1.2.250.1.213.1.4.8, .9, .10 ou .11 et identifier.value).",
    )
    return None


def _channel(
    body: Json, problems: _Problems, check_url: Callable[[str], None]
) -> tuple[str, str] | tuple[None, None]:
    channel = body.get("channel")
    if not isinstance(channel, dict):
        problems.add("Subscription.channel", "channel obligatoire (type rest-hook, endpoint).")
        return None, None
    if channel.get("type") != "rest-hook":
        problems.add(
            "Subscription.channel.type",
            "seul le canal « rest-hook » est pris en charge (POST de la notification à "
            "l'adresse endpoint).",
        )
    payload = channel.get("payload")
    if payload is not None and payload not in ("application/fhir+json", "application/json"):
        problems.add("Subscription.channel.payload", "payload : application/fhir+json attendu.")
    endpoint = channel.get("endpoint")
    if not isinstance(endpoint, str) or not endpoint:
        problems.add("Subscription.channel.endpoint", "endpoint obligatoire (adresse https://).")
        endpoint = None
    else:
        try:
            check_url(endpoint)
        except InvalidInput as refused:  # its French reason
            problems.add("Subscription.channel.endpoint", refused.detail)
            endpoint = None
    secrets = [
        h.split(":", 1)[1].strip()
        for h in channel.get("header") or []
        if isinstance(h, str) and h.split(":", 1)[0].strip().lower() == SECRET_HEADER.lower()
    ]
    others = [
        h
        for h in channel.get("header") or []
        if not (isinstance(h, str) and h.split(":", 1)[0].strip().lower() == SECRET_HEADER.lower())
    ]
    secret = secrets[0] if len(secrets) == 1 else ""
    if len(secrets) != 1 or not 16 <= len(secret) <= 200:
        problems.add(
            "Subscription.channel.header",
            f"un en-tête « {SECRET_HEADER}: <secret> » (16 à 200 caractères) est obligatoire : "
            "chaque notification est signée avec ce secret (X-PPA-Signature).",
        )
    if others:
        problems.add(
            "Subscription.channel.header",
            f"seul l'en-tête {SECRET_HEADER} est accepté (aucun autre en-tête n'est envoyé).",
        )
    if endpoint is None or problems.items:
        return None, None
    return endpoint, secret


def _elements(body: Json, problems: _Problems) -> None:
    """The base elements the profile relies on: status, reason, criteria, contained."""
    if body.get("status") not in ("requested", "active"):
        problems.add("Subscription.status", "status : « requested » attendu (1..1).")
    if not isinstance(body.get("reason"), str) or not body["reason"].strip():
        problems.add("Subscription.reason", "reason obligatoire (1..1) : le motif de l'abonnement.")
    criteria = body.get("criteria")
    if not isinstance(criteria, str) or not (
        criteria.startswith("CommunicationRequest?")
        and re.search(r"[?&]event-type=([^&|]*\|)?" + EMITTED + r"(&|$)", criteria)
    ):
        problems.add(
            "Subscription.criteria",
            f"criteria : « CommunicationRequest?event-type={EMITTED} » attendu (recherche des "
            "déclarations d'événements par type d'événement).",
        )
    contained = body.get("contained")
    if not isinstance(contained, list) or not contained:
        problems.add("Subscription.contained", "contained obligatoire (1..*) : Patient, déclarant…")


def _dates(
    body: Json, values: dict[str, Any], problems: _Problems
) -> tuple[datetime | None, datetime | None]:
    start = _instant(values.get("start")) if "start" in values else None
    if "start" in values and start is None:
        problems.add("Subscription.extension:start", "start : dateTime FHIR avec fuseau attendu.")
    if "subscription-date" in values and _instant(values["subscription-date"]) is None:
        problems.add(
            "Subscription.extension:subscription-date", "subscription-date : dateTime attendu."
        )
    end = _instant(body.get("end")) if body.get("end") is not None else None
    if body.get("end") is not None and end is None:
        problems.add("Subscription.end", "end : instant FHIR avec fuseau attendu.")
    if start is not None and end is not None and end <= start:
        problems.add("Subscription.end", "end doit être postérieur au début (extension start).")
    return start, end


def parse_subscription(
    body: Any, check_url: Callable[[str], None]
) -> tuple[ParsedSubscription | None, list[tuple[str, str]]]:
    """The accepted subscription, or the problems (``(FHIR path, French message)``)."""
    problems = _Problems()
    if not isinstance(body, dict) or body.get("resourceType") != "Subscription":
        problems.add("Subscription", "ressource Subscription (FHIR R4, JSON) attendue.")
        return None, problems.items
    for subpath, illegal in illegal_text_paths(body):
        problems.add("Subscription" + subpath, illegal.message())
        return None, problems.items
    _elements(body, problems)
    values = _extensions(body, problems)
    start, end = _dates(body, values, problems)
    if "event-type" in values:
        _event_type(values["event-type"], problems)
    ins = _subject(body, values["subject"], problems) if "subject" in values else None
    for name, allowed in (("declarant", DECLARANT_TYPES), ("subscriber", SUBSCRIBER_TYPES)):
        if name in values:
            target = contained_resource(body, values[name])
            if target is None or target.get("resourceType") not in allowed:
                problems.add(
                    f"Subscription.extension:{name}",
                    f"{name} : référence « #id » vers une ressource contenue "
                    f"({' ou '.join(sorted(allowed))}).",
                )
    endpoint, secret = _channel(body, problems, check_url)
    if problems.items or ins is None or start is None or endpoint is None or secret is None:
        return None, problems.items
    resource = json.loads(json.dumps(body))
    resource["channel"].pop("header", None)
    resource.pop("id", None)
    resource.pop("meta", None)
    return ParsedSubscription(resource, ins[0], ins[1], start, end, endpoint, secret), []


def served(sub: NdeSubscription, *, active: bool) -> Json:
    """The stored Subscription as served: its id, profile and status (``off`` once its client
    may no longer read the person: nothing is delivered then)."""
    resource = dict(sub.resource)
    return {
        "resourceType": "Subscription",
        "id": sub.id,
        "meta": {"profile": [SUBSCRIPTION_PROFILE], "lastUpdated": instant_text(sub.created_at)},
        **{k: v for k, v in resource.items() if k not in ("resourceType", "id", "meta")},
        "status": "active" if active else "off",
    }
