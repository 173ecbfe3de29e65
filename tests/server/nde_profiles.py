"""Checks of the CI-SIS NdE 3.0.0 profiles ``nde-subscription`` and ``nde-notificationrequest``
as the tests read them in the guide's FSH sources (ansforge/interop-ig-fhir-notification-
evenements, input/fsh/StructureDefinition and Extensions): base FHIR R4 structure (fhir.resources
R4B models and fhirclient's exact R4 models), then the profile's cardinalities, fixed values,
contained references and the required JDV_J46 binding of ``event-type``.

Written from the profiles, independently of server/fhir/nde.py (only the URLs are shared facts).
"""

from __future__ import annotations

import re
from typing import Any

from fhir.resources.R4B.communicationrequest import CommunicationRequest as R4BCommunicationRequest
from fhir.resources.R4B.subscription import Subscription as R4BSubscription
from fhirclient.models.communicationrequest import (  # type: ignore[import-untyped]
    CommunicationRequest as R4CommunicationRequest,
)
from fhirclient.models.subscription import Subscription as R4Subscription  # type: ignore[import-untyped]

NDE = "https://interop.esante.gouv.fr/ig/fhir/nde/StructureDefinition/"
TRE_R254 = "https://mos.esante.gouv.fr/NOS/TRE_R254-TypeEvenement/FHIR/TRE-R254-TypeEvenement"
JDV_J46 = {
    "ADM", "AUT", "CDM", "DEM", "DEL", "DOC", "ECH", "ESD", "NCO", "NOT", "PER", "POS", "REA",
    "REC", "REP", "SDM", "SOR", "SSD", "TRA",
}  # fmt: skip
"""JDV_J46-TypeEvenementNotification-CISIS (ANS terminology, version 2022-06-24)."""
DATETIME = re.compile(
    r"^\d{4}(-\d{2}(-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2}))?)?)?$"
)
PATIENT = {"Patient"}
SUBSCRIBER = {"Patient", "Practitioner", "Organization", "RelatedPerson"}
DECLARANT = {"Organization", "Practitioner"}


class ProfileError(AssertionError):
    pass


def _need(condition: bool, message: str) -> None:
    if not condition:
        raise ProfileError(message)


def _extensions(element: dict[str, Any], name: str) -> list[dict[str, Any]]:
    return [e for e in element.get("extension", []) if e.get("url") == NDE + name]


def _one(element: dict[str, Any], name: str, low: int, value: str) -> Any:
    found = _extensions(element, name)
    _need(low <= len(found) <= 1, f"extension {name}: {len(found)} (expected {low}..1)")
    if not found:
        return None
    _need(set(found[0]) == {"url", value}, f"extension {name}: only {value} allowed")
    return found[0][value]


def _contained(resource: dict[str, Any], reference: Any, types: set[str], what: str) -> None:
    _need(isinstance(reference, dict), f"{what}: a Reference")
    ref = reference.get("reference", "")
    _need(ref.startswith("#"), f"{what}: a reference to a contained resource ({ref!r})")
    target = [c for c in resource.get("contained", []) if c.get("id") == ref[1:]]
    _need(len(target) == 1, f"{what}: {ref} not contained")
    _need(target[0]["resourceType"] in types, f"{what}: {target[0]['resourceType']} not {types}")


def _event_type(value: Any) -> None:
    _need(isinstance(value, dict), "event-type: a CodeableConcept")
    codings = value.get("coding", [])
    _need(bool(codings), "event-type: a coding (binding required)")
    for coding in codings:
        _need(coding.get("system") == TRE_R254, f"event-type: system {coding.get('system')}")
        _need(coding.get("code") in JDV_J46, f"event-type: {coding.get('code')} not in JDV_J46")


def _datetime(value: Any, what: str) -> None:
    _need(isinstance(value, str) and bool(DATETIME.match(value)), f"{what}: dateTime ({value!r})")


def check_subscription(resource: dict[str, Any]) -> None:
    """Raise :class:`ProfileError` (or a parse error) unless ``resource`` is a valid
    ``nde-subscription``."""
    R4BSubscription.model_validate(resource)
    R4Subscription(resource, strict=True)
    _need(resource["resourceType"] == "Subscription", "a Subscription")
    contained = resource.get("contained", [])
    _need(len(contained) >= 1, "contained 1..*")
    _need(
        all(c["resourceType"] in SUBSCRIBER for c in contained),
        "contained only FR Core Patient, Practitioner, Organization, RelatedPerson",
    )
    date = _one(resource, "subscription-date", 0, "valueDateTime")
    if date is not None:
        _datetime(date, "subscription-date")
    _datetime(_one(resource, "start", 1, "valueDateTime"), "start")
    _contained(resource, _one(resource, "subject", 1, "valueReference"), PATIENT, "subject")
    _contained(resource, _one(resource, "declarant", 1, "valueReference"), DECLARANT, "declarant")
    _contained(
        resource, _one(resource, "subscriber", 1, "valueReference"), SUBSCRIBER, "subscriber"
    )
    _event_type(_one(resource, "event-type", 1, "valueCodeableConcept"))
    _need(
        resource["criteria"].startswith("CommunicationRequest?"), "criteria on CommunicationRequest"
    )


def check_notification_request(resource: dict[str, Any]) -> None:
    """Raise unless ``resource`` is a valid ``nde-notificationrequest``."""
    R4BCommunicationRequest.model_validate(resource)
    R4CommunicationRequest(resource, strict=True)
    _need(resource["resourceType"] == "CommunicationRequest", "a CommunicationRequest")
    _need(len(resource.get("contained", [])) >= 1, "contained 1..*")
    for name in ("event-emission-time", "event-time"):
        value = _one(resource, name, 0, "valueDateTime")
        if value is not None:
            _datetime(value, name)
    _event_type(_one(resource, "event-type", 1, "valueCodeableConcept"))
    based = resource.get("basedOn", [])
    _need(len(based) == 1, "basedOn 1..1")
    _need(
        re.search(r"(^|/)Subscription/[^/]+$", based[0].get("reference", "")) is not None,
        "basedOn: Reference(nde-subscription)",
    )
    _need(len(resource.get("medium", [])) == 1, "medium 1..1")
    _need(("subject" in resource) != ("about" in resource), "event-subject: subject xor about")
    _contained(resource, resource.get("subject"), PATIENT, "subject")
    _need(len(resource.get("payload", [])) == 1, "payload 1..1")
    _contained(resource, resource.get("requester"), DECLARANT, "requester")
    recipients = resource.get("recipient", [])
    _need(len(recipients) == 1, "recipient 1..1")
    _contained(resource, recipients[0], SUBSCRIBER, "recipient")
    endpoint = _one(recipients[0], "recipient-endpoint", 1, "valueUrl")
    _need(isinstance(endpoint, str) and bool(endpoint), "recipient-endpoint: a url")
