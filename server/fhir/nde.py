"""CI-SIS NdE 3.0.0 (Notification d'événements): the service as *gestionnaire d'abonnements*
for the DUIs and *émetteur* of the PPA's events.

* :func:`parse_subscription` checks a DUI's ``nde-subscription`` (the profile's extensions,
  cardinalities, the required JDV_J46 binding of ``event-type``, a ``rest-hook`` channel) and
  answers every problem at once, in French, with its FHIR path.
* :func:`nde_deliveries`, called in the transaction that publishes a validated version (see
  :func:`server.esms.service.notify_validated`), enqueues one ``nde-notificationrequest``
  CommunicationRequest per live subscription to the person whose API client still reads the
  person's validated PPAs; the ESMS delivery worker signs, sends and retries it.

Event type: JDV_J46 (codes of TRE_R254) has no PPA code. A validated version or avenant of a PPA
is a document deposited for the person: ``DOC``. It is the only type this service emits (a
subscription to another type is refused: it would never be told anything).
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from editor.text_rules import illegal_text_paths
from exports.context import OID_ID_NAT_STRUCT
from exports.fhir import FR_CORE_V2_0203
from server.db import utcnow
from server.errors import InvalidInput
from server.esms.access import may_read
from server.models import ApiClient, Person
from server.models.exports import EsmsFeedEvent, FeedEventKind, Webhook, WebhookDelivery
from server.models.identity import Structure
from server.models.nde import NdeSubscription

Json = dict[str, Any]

NDE = "https://interop.esante.gouv.fr/ig/fhir/nde"
SUBSCRIPTION_PROFILE = NDE + "/StructureDefinition/nde-subscription"
NOTIFICATION_PROFILE = NDE + "/StructureDefinition/nde-notificationrequest"
EXT = NDE + "/StructureDefinition/"
TRE_R254 = "https://mos.esante.gouv.fr/NOS/TRE_R254-TypeEvenement/FHIR/TRE-R254-TypeEvenement"
JDV_J46 = (
    "https://mos.esante.gouv.fr/NOS/JDV_J46-TypeEvenementNotification-CISIS"
    "/FHIR/JDV-J46-TypeEvenementNotification-CISIS"
)
TRE_R200 = (
    "https://mos.esante.gouv.fr/NOS/TRE_R200-CanalCommunication/FHIR/TRE-R200-CanalCommunication"
)
J46_CODES = frozenset(
    {
        "ADM", "AUT", "CDM", "DEM", "DEL", "DOC", "ECH", "ESD", "NCO", "NOT", "PER", "POS",
        "REA", "REC", "REP", "SDM", "SOR", "SSD", "TRA",
    }
)  # fmt: skip
"""JDV_J46 (TRE_R254 codes a notification may carry), read 2026-12 from the ANS terminology."""
EMITTED = "DOC"
EMITTED_DISPLAY = "Dépôt de document pour un patient"
MEDIUM = {"system": TRE_R200, "code": "4", "display": "Site web"}
"""TRE_R200 has no code for a REST call; ``4`` (URL) is the nearest: the endpoint is one."""
SECRET_HEADER = "X-PPA-Webhook-Secret"  # noqa: S105 - a header name
NDE_KIND = "nde"
INS_SYSTEM = re.compile(r"^urn:oid:1\.2\.250\.1\.213\.1\.4\.(8|9|10|11)$")
SUBSCRIBER_TYPES = frozenset({"Patient", "Practitioner", "Organization", "RelatedPerson"})
DECLARANT_TYPES = frozenset({"Organization", "Practitioner"})
EXTENSIONS = {
    "subscription-date": (0, "valueDateTime"),
    "start": (1, "valueDateTime"),
    "subject": (1, "valueReference"),
    "declarant": (1, "valueReference"),
    "event-type": (1, "valueCodeableConcept"),
    "subscriber": (1, "valueReference"),
}
"""Extensions of ``nde-subscription``: minimum cardinality (all at most 1) and value type."""
NAMESPACE = uuid.UUID("6f1d2c3b-9a8e-4f70-b5d4-2e1c0a9b8f77")


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


def _contained(resource: Json, reference: Any) -> Json | None:
    if not isinstance(reference, dict) or not isinstance(reference.get("reference"), str):
        return None
    ref = reference["reference"]
    if not ref.startswith("#"):
        return None
    for item in resource.get("contained") or []:
        if isinstance(item, dict) and item.get("id") == ref[1:]:
            return item
    return None


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
    patient = _contained(body, value)
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
            target = _contained(body, values[name])
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


def _instant_text(at: datetime) -> str:
    aware = at if at.tzinfo else at.replace(tzinfo=UTC)
    return aware.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def served(sub: NdeSubscription, *, active: bool) -> Json:
    """The stored Subscription as served: its id, profile and status (``off`` once its client
    may no longer read the person: nothing is delivered then)."""
    resource = dict(sub.resource)
    return {
        "resourceType": "Subscription",
        "id": sub.id,
        "meta": {"profile": [SUBSCRIPTION_PROFILE], "lastUpdated": _instant_text(sub.created_at)},
        **{k: v for k, v in resource.items() if k not in ("resourceType", "id", "meta")},
        "status": "active" if active else "off",
    }


def _requester(structure: Structure | None) -> Json:
    """The emitter: the person's structure (FINESS) when known, else the service itself."""
    org: Json = {"resourceType": "Organization", "id": "emetteur", "name": "PPA collaboratif"}
    if structure is not None:
        org["name"] = structure.name
        org["identifier"] = [
            {
                "use": "official",
                "type": {"coding": [{"system": FR_CORE_V2_0203, "code": "IDNST"}]},
                "system": f"urn:oid:{OID_ID_NAT_STRUCT}",
                "value": "1" + structure.finess,
            }
        ]
    return org


def notification_request(
    sub: NdeSubscription,
    endpoint: str,
    person: Person,
    structure: Structure | None,
    ev: EsmsFeedEvent,
    now: datetime,
) -> Json:
    """The ``nde-notificationrequest`` of one event for one subscription (no health data: the
    event's type and version, the person by INS, where to read the CarePlan)."""
    subscriber = _contained(sub.resource, _ext_value(sub.resource, "subscriber")) or {}
    recipient = {**subscriber, "id": "abonne"}
    avenant = ev.kind == FeedEventKind.AVENANT.value
    what = "Un avenant au PPA a été validé" if avenant else "Le PPA a été validé"
    text = (
        f"{what} (version {ev.version_number}). Lire la version : "
        f"CarePlan/{ev.ppa_id}/_history/{ev.version_number} sur le serveur FHIR du PPA "
        "collaboratif."
    )
    return {
        "resourceType": "CommunicationRequest",
        "id": str(uuid.uuid5(NAMESPACE, f"{sub.id}:{ev.ppa_id}:{ev.version_number}")),
        "meta": {"profile": [NOTIFICATION_PROFILE]},
        "contained": [
            {
                "resourceType": "Patient",
                "id": "patient",
                "identifier": [
                    {"system": f"urn:oid:{person.ins_oid}", "value": person.ins_matricule}
                ],
            },
            _requester(structure),
            recipient,
        ],
        "extension": [
            {
                "url": EXT + "event-type",
                "valueCodeableConcept": {
                    "coding": [{"system": TRE_R254, "code": EMITTED, "display": EMITTED_DISPLAY}]
                },
            },
            {"url": EXT + "event-time", "valueDateTime": _instant_text(ev.validated_at)},
            {"url": EXT + "event-emission-time", "valueDateTime": _instant_text(now)},
        ],
        "basedOn": [{"reference": f"Subscription/{sub.id}"}],
        "status": "active",
        "medium": [{"coding": [MEDIUM]}],
        "subject": {"reference": "#patient"},
        "payload": [{"contentString": text}],
        "authoredOn": _instant_text(now),
        "requester": {"reference": "#emetteur"},
        "recipient": [
            {
                "extension": [{"url": EXT + "recipient-endpoint", "valueUrl": endpoint}],
                "reference": "#abonne",
            }
        ],
    }


def _ext_value(resource: Json, name: str) -> Any:
    for ext in resource.get("extension") or []:
        if isinstance(ext, dict) and ext.get("url") == EXT + name:
            return ext.get("valueReference")
    return None


async def nde_deliveries(session: AsyncSession, ev: EsmsFeedEvent) -> int:
    """Enqueue the event's CommunicationRequest for each live subscription to the person (event
    type ``DOC``, started, not ended, its client still reading the person). Returns how many."""
    rows = (
        await session.execute(
            select(NdeSubscription, Webhook, ApiClient)
            .join(Webhook, Webhook.id == NdeSubscription.webhook_id)
            .join(ApiClient, ApiClient.id == NdeSubscription.api_client_id)
            .where(
                NdeSubscription.person_id == ev.person_id,
                NdeSubscription.event_type == EMITTED,
                NdeSubscription.deleted_at.is_(None),
                Webhook.disabled_at.is_(None),
                ApiClient.revoked_at.is_(None),
            )
            .order_by(NdeSubscription.created_at, NdeSubscription.id)
        )
    ).all()
    at = ev.validated_at
    live = [
        (sub, hook)
        for sub, hook, client in rows
        if sub.start <= at
        and (sub.end is None or at < sub.end)
        and await may_read(session, client, ev.person_id)
    ]
    if not live:
        return 0
    person = await session.get(Person, ev.person_id)
    if person is None:
        raise ValueError(f"person {ev.person_id} not found")
    structure = await session.get(Structure, person.structure_id) if person.structure_id else None
    now = utcnow()
    for sub, hook in live:
        body = notification_request(sub, hook.url, person, structure, ev, now)
        session.add(
            WebhookDelivery(
                webhook_id=hook.id,
                feed_position=ev.position,
                event=f"nde.{EMITTED}",
                body=json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode(),
                next_attempt_at=now,
            )
        )
    return len(live)
