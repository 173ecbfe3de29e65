"""``/fhir/Subscription``: the DUIs' NdE subscriptions (CI-SIS NdE 3.0.0, ``nde-subscription``).

A structure's software (API client) subscribes to the PPA events of a person of whose cercle it
is a member (the ESMS feed's rule); every other caller, and a client outside the cercle or
opposed, gets 403 (an OperationOutcome) and leaves a ``denied`` audit trace. See
:mod:`server.fhir.nde` for the checks and the delivered CommunicationRequests.
"""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any, NoReturn

from fastapi import APIRouter, Body, Path, Response, status
from sqlalchemy import select

from server.audit.trail import AuditTrail, audited
from server.auth.principal import PrincipalType
from server.db import utcnow
from server.deps import SessionDep, SettingsDep
from server.errors import Forbidden, InvalidInput, NotFound
from server.esms import service as esms
from server.esms.access import may_read
from server.esms.nde import EMITTED, NDE_KIND
from server.fhir.nde import parse_subscription, served
from server.fhir.outcome import fhir_response
from server.models import ApiClient, Person
from server.models.exports import Webhook
from server.models.nde import NdeSubscription

router = APIRouter(prefix="/fhir", tags=["fhir"])

ID_PATH = Path(max_length=36, pattern=r"^[A-Za-z0-9_.-]{1,36}$")
REFUSED = (
    "Abonnement refusé : seul le logiciel d'une structure membre du cercle de la personne "
    "(sans opposition de sa part) peut s'abonner à ses événements."
)
FHIR_ANSWER: Any = {"content": {"application/fhir+json": {"schema": {"type": "object"}}}}
SUBSCRIPTION_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": [
        "resourceType",
        "status",
        "reason",
        "criteria",
        "contained",
        "extension",
        "channel",
    ],
    "properties": {
        "resourceType": {"enum": ["Subscription"]},
        "status": {"enum": ["requested", "active"]},
        "reason": {"type": "string", "pattern": "\\S"},
        "criteria": {"type": "string", "pattern": "^CommunicationRequest\\?"},
        "contained": {"type": "array", "minItems": 1, "items": {"type": "object"}},
        "extension": {"type": "array", "minItems": 5, "items": {"type": "object"}},
        "channel": {"type": "object", "required": ["type", "endpoint", "header"]},
        "end": {"type": "string"},
    },
}
"""What JSON Schema can say of an ``nde-subscription``; :mod:`server.fhir.nde` checks the rest
(extensions, contained references, INS, JDV_J46, the secret header) and answers 422."""


async def _client(audit: AuditTrail, person_id: str | None = None) -> ApiClient:
    """The caller's API client; any other account: a committed ``denied`` trace, then 403."""
    principal = audit.principal
    client = None
    if principal.type is PrincipalType.API_CLIENT:
        client = await audit.session.get(ApiClient, principal.id)
    if client is None:
        await _refuse(audit, person_id)
    return client


async def _refuse(audit: AuditTrail, person_id: str | None) -> NoReturn:
    audit.record("person", person_id, person_id=person_id, role=None, outcome="denied")
    await audit.session.commit()  # kept although the request fails
    raise Forbidden(REFUSED)


@router.post(
    "/Subscription",
    status_code=status.HTTP_201_CREATED,
    response_class=Response,
    responses={
        201: {"description": "Subscription (nde-subscription), status active", **FHIR_ANSWER}
    },
)
async def create_subscription(
    audit: Annotated[AuditTrail, audited("fhir.subscription.create")],
    session: SessionDep,
    settings: SettingsDep,
    body: Annotated[
        dict[str, Any],
        Body(
            description="Subscription (profil nde-subscription)",
            json_schema_extra=SUBSCRIPTION_SCHEMA,
        ),
    ],
) -> Response:
    """Subscribe to a person's PPA events (NdE ``nde-subscription``: extensions start,
    subject = the person's Patient by INS, declarant, subscriber, event-type ``DOC``; a
    ``rest-hook`` channel with an `X-PPA-Webhook-Secret: <secret>` header). Each validated
    version or avenant is then POSTed to the endpoint as an ``nde-notificationrequest``
    CommunicationRequest signed with the secret. API clients of the person's cercle only."""
    client = await _client(audit)
    check = partial(esms.check_url, allow_private_networks=settings.webhook_allow_private_networks)
    parsed, problems = parse_subscription(body, check)
    if parsed is None:
        raise InvalidInput(
            "Abonnement invalide (profil nde-subscription) : " + problems[0][1],
            extra={"problems": [{"path": p, "message": m} for p, m in problems]},
        )
    person = await session.scalar(
        select(Person).where(
            Person.ins_oid == parsed.ins_oid, Person.ins_matricule == parsed.ins_matricule
        )
    )
    if person is None or not await may_read(session, client, person.id):
        await _refuse(audit, person.id if person else None)
    hook = await esms.create_webhook(
        session,
        audit.principal,
        settings.resolved_secret_key(),
        parsed.endpoint,
        parsed.secret,
        allow_private_networks=settings.webhook_allow_private_networks,
        kind=NDE_KIND,
    )
    sub = NdeSubscription(
        api_client_id=client.id,
        webhook_id=hook.id,
        person_id=person.id,
        event_type=EMITTED,
        start=parsed.start,
        end=parsed.end,
        resource=parsed.resource,
        created_at=utcnow(),
    )
    session.add(sub)
    await session.flush()
    await audit.on("nde_subscription", sub.id, person.id)
    location = f"{settings.resolved_public_url()}/fhir/Subscription/{sub.id}"
    return fhir_response(served(sub, active=True), 201, headers={"Location": location})


async def _own(audit: AuditTrail, subscription_id: str) -> tuple[NdeSubscription, ApiClient]:
    client = await _client(audit)
    sub = await audit.session.scalar(
        select(NdeSubscription).where(
            NdeSubscription.id == subscription_id,
            NdeSubscription.api_client_id == client.id,
            NdeSubscription.deleted_at.is_(None),
        )
    )
    if sub is None:
        raise NotFound("Abonnement introuvable (ou supprimé, ou d'un autre logiciel).")
    return sub, client


@router.get(
    "/Subscription/{subscription_id}",
    response_class=Response,
    responses={200: {"description": "Subscription", **FHIR_ANSWER}},
)
async def read_subscription(
    subscription_id: Annotated[str, ID_PATH],
    audit: Annotated[AuditTrail, audited("fhir.subscription.read")],
) -> Response:
    """One of your subscriptions; ``status`` is ``off`` when your structure may no longer read
    the person (it left the cercle, or the person opposed it): nothing is delivered then."""
    sub, client = await _own(audit, subscription_id)
    active = await may_read(audit.session, client, sub.person_id)
    await audit.on("nde_subscription", sub.id, sub.person_id)
    return fhir_response(served(sub, active=active))


@router.delete("/Subscription/{subscription_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_subscription(
    subscription_id: Annotated[str, ID_PATH],
    audit: Annotated[AuditTrail, audited("fhir.subscription.delete")],
) -> Response:
    """End one of your subscriptions: nothing more is delivered (pending deliveries are
    cancelled; the delivery log is kept)."""
    sub, _client_row = await _own(audit, subscription_id)
    sub.deleted_at = utcnow()
    hook = await audit.session.get(Webhook, sub.webhook_id)
    if hook is not None:
        await esms.disable(audit.session, hook)
    await audit.on("nde_subscription", sub.id, sub.person_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
