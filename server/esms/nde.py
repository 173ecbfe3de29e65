"""CI-SIS NdE 3.0.0 (Notification d'événements), the *émetteur* side: the PPA's events as
``nde-notificationrequest`` CommunicationRequests for the DUIs' subscriptions.

:func:`nde_deliveries`, called in the transaction that publishes a validated version (see
:func:`server.esms.service.notify_validated`), enqueues one CommunicationRequest per live
subscription to the person whose API client still reads the person's validated PPAs; the ESMS
delivery worker signs, sends and retries it. The subscriptions themselves (the *gestionnaire
d'abonnements*) are :mod:`server.fhir.nde`'s.

Event type: JDV_J46 (codes of TRE_R254) has no PPA code. A validated version or avenant of a PPA
is a document deposited for the person: ``DOC``. It is the only type this service emits (a
subscription to another type is refused: it would never be told anything).
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from exports.context import OID_ID_NAT_STRUCT
from exports.fhir import FR_CORE_V2_0203
from server.db import utcnow
from server.esms.access import may_read
from server.models import ApiClient, Person
from server.models.exports import EsmsFeedEvent, FeedEventKind, Webhook, WebhookDelivery
from server.models.identity import Structure
from server.models.nde import NdeSubscription

Json = dict[str, Any]
FHIR_JSON_CONTENT = "application/fhir+json"
"""The content type of a delivered CommunicationRequest."""

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


def contained_resource(resource: Json, reference: Any) -> Json | None:
    if not isinstance(reference, dict) or not isinstance(reference.get("reference"), str):
        return None
    ref = reference["reference"]
    if not ref.startswith("#"):
        return None
    for item in resource.get("contained") or []:
        if isinstance(item, dict) and item.get("id") == ref[1:]:
            return item
    return None


def instant_text(at: datetime) -> str:
    aware = at if at.tzinfo else at.replace(tzinfo=UTC)
    return aware.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


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
    subscriber = contained_resource(sub.resource, _ext_value(sub.resource, "subscriber")) or {}
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
            {"url": EXT + "event-time", "valueDateTime": instant_text(ev.validated_at)},
            {"url": EXT + "event-emission-time", "valueDateTime": instant_text(now)},
        ],
        "basedOn": [{"reference": f"Subscription/{sub.id}"}],
        "status": "active",
        "medium": [{"coding": [MEDIUM]}],
        "subject": {"reference": "#patient"},
        "payload": [{"contentString": text}],
        "authoredOn": instant_text(now),
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
