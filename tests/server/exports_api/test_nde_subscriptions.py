"""NdE (CI-SIS Notification d'événements 3.0.0): a DUI subscribes with ``POST /fhir/Subscription``;
each validated version or avenant then reaches its endpoint (a real HTTP receiver on loopback) as
an ``nde-notificationrequest`` CommunicationRequest, signed, retried after a failure; both
resources checked against their profiles. A client outside the cercle gets 403 and a trace; a
structure the person opposed gets nothing."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from server.esms.signing import verify_signature
from tests.conftest import Api, DatabaseInfo
from tests.server.exports_api.receiver import Received, Receiver
from tests.server.exports_api.support import (
    COORD,
    ESMS,
    Validated,
    add_avenant,
    feed_position,
    new_validated,
    wait_for,
)
from tests.server.nde_profiles import (
    TRE_R254,
    ProfileError,
    check_notification_request,
    check_subscription,
)

NDE = "https://interop.esante.gouv.fr/ig/fhir/nde/StructureDefinition/"
SECRET = "secret-partage-nde-0123456789"
FHIR_JSON = "application/fhir+json"


def subscription(ins: str, endpoint: str, *, event: str = "DOC") -> dict[str, Any]:
    """A DUI's nde-subscription, as the guide's example (Exemple1.fsh) shapes it."""
    system, value = ins.split("|")
    return {
        "resourceType": "Subscription",
        "contained": [
            {
                "resourceType": "Patient",
                "id": "pat1",
                "identifier": [{"system": system, "value": value}],
            },
            {"resourceType": "Organization", "id": "org1", "name": "PPA collaboratif"},
            {"resourceType": "Organization", "id": "dui1", "name": "DUI du FAM"},
        ],
        "extension": [
            {"url": NDE + "subscription-date", "valueDateTime": "2026-12-01T10:00:00+01:00"},
            {"url": NDE + "start", "valueDateTime": "2026-01-01T00:00:00+01:00"},
            {"url": NDE + "subject", "valueReference": {"reference": "#pat1"}},
            {"url": NDE + "declarant", "valueReference": {"reference": "#org1"}},
            {
                "url": NDE + "event-type",
                "valueCodeableConcept": {"coding": [{"system": TRE_R254, "code": event}]},
            },
            {"url": NDE + "subscriber", "valueReference": {"reference": "#dui1"}},
        ],
        "status": "requested",
        "reason": "Être prévenu de chaque version validée du PPA",
        "criteria": f"CommunicationRequest?event-type={event}",
        "channel": {
            "type": "rest-hook",
            "endpoint": endpoint,
            "payload": FHIR_JSON,
            "header": [f"X-PPA-Webhook-Secret: {SECRET}"],
        },
    }


def ins_of(api_as: Callable[[str], Api], person_id: str) -> str:
    person = api_as(COORD).get(f"/api/persons/{person_id}").json()
    return f"urn:oid:{person['ins_oid']}|{person['ins_matricule']}"


def outcome(response: Any, status: int) -> list[dict[str, Any]]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(FHIR_JSON)
    body = response.json()
    assert body["resourceType"] == "OperationOutcome"
    issues: list[dict[str, Any]] = body["issue"]
    assert all(i["severity"] == "error" and i["diagnostics"] for i in issues)
    return issues


def subscribe(api: Api, body: dict[str, Any]) -> Any:
    return api.post(
        "/fhir/Subscription", content=json.dumps(body), headers={"Content-Type": FHIR_JSON}
    )


def for_subscription(receiver: Receiver, sub_id: str) -> list[Received]:
    with receiver._lock:
        return [
            r
            for r in receiver.received
            if r.json.get("basedOn") == [{"reference": f"Subscription/{sub_id}"}]
        ]


def deleted_stops(esms: Api, sub_id: str, receiver: Receiver, database: DatabaseInfo) -> None:
    """DELETE ends the subscription: not served any more, its channel disabled."""
    assert esms.delete(f"/fhir/Subscription/{sub_id}").status_code == 204
    outcome(esms.get(f"/fhir/Subscription/{sub_id}"), 404)
    engine = sa.create_engine(database.sync_url)
    try:
        with engine.connect() as conn:
            disabled = conn.scalar(
                sa.text(
                    "SELECT w.disabled_at FROM esms_webhooks w JOIN nde_subscriptions s"
                    " ON s.webhook_id = w.id WHERE s.id = :s"
                ),
                {"s": sub_id},
            )
    finally:
        engine.dispose()
    assert disabled is not None
    # an NdE channel is not one of the ESMS feed's webhooks
    assert all(h["url"] != receiver.url for h in esms.get("/api/esms/webhooks").json())


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    rec = Receiver(fail_attempts=1).start()
    yield rec
    rec.stop()


def test_the_profile_checks_refuse_what_the_profiles_refuse() -> None:
    good = subscription("urn:oid:1.2.250.1.213.1.4.10|1234", "https://dui.example.org/nde")
    check_subscription(good)
    for broken in ("start", "subject", "event-type"):
        bad = copy.deepcopy(good)
        bad["extension"] = [e for e in bad["extension"] if e["url"] != NDE + broken]
        with pytest.raises(ProfileError):
            check_subscription(bad)
    bad = copy.deepcopy(good)
    bad["extension"][4]["valueCodeableConcept"]["coding"][0]["code"] = "PPA"
    with pytest.raises(ProfileError, match="JDV_J46"):
        check_subscription(bad)


def test_subscription_delivers_signed_notification_requests_with_retry(
    api_as: Callable[[str], Api],
    demo: dict[str, Any],
    settings: Any,
    receiver: Receiver,
    database: DatabaseInfo,
) -> None:
    v = new_validated(api_as, demo)
    esms = api_as(ESMS)
    created = subscribe(esms, subscription(ins_of(api_as, v.person_id), receiver.url))
    assert created.status_code == 201, created.text
    assert created.headers["content-type"].startswith(FHIR_JSON)
    sub = created.json()
    check_subscription(sub)
    assert sub["status"] == "active"
    assert sub["meta"]["profile"] == [NDE + "nde-subscription"]
    assert created.headers["location"].endswith(f"/fhir/Subscription/{sub['id']}")
    assert SECRET not in created.text  # the secret is never served back
    read = esms.get(f"/fhir/Subscription/{sub['id']}")
    assert read.status_code == 200
    assert read.json() == sub

    add_avenant(api_as, settings, v)  # the event: an avenant validated, DOC
    got = wait_for(
        lambda: (
            len(for_subscription(receiver, sub["id"])) >= 2
            and for_subscription(receiver, sub["id"])
        )
    )
    first, second = got[:2]
    assert (first.answered, second.answered) == (503, 204)  # retried after the failure
    assert first.body == second.body
    assert first.headers["x-ppa-delivery"] == second.headers["x-ppa-delivery"]
    assert (first.headers["x-ppa-attempt"], second.headers["x-ppa-attempt"]) == ("1", "2")
    for r in (first, second):
        assert verify_signature(SECRET, r.body, r.headers["x-ppa-signature"])
        assert r.headers["content-type"] == FHIR_JSON
        assert r.headers["x-ppa-event"] == "nde.DOC"
    request = first.json
    check_notification_request(request)
    assert request["meta"]["profile"] == [NDE + "nde-notificationrequest"]
    (event_type,) = [e for e in request["extension"] if e["url"] == NDE + "event-type"]
    assert event_type["valueCodeableConcept"]["coding"][0]["code"] == "DOC"
    assert any(e["url"] == NDE + "event-time" for e in request["extension"])
    recipient = request["recipient"][0]
    assert recipient["extension"][0]["valueUrl"] == receiver.url
    text = request["payload"][0]["contentString"]
    assert f"version {v.avenant}" in text
    assert "avenant" in text.lower()
    assert f"CarePlan/{v.ppa_id}/_history/{v.avenant}" in text
    # no health data: nothing of the PPA's content, nor the person's name
    assert v.avenant_content is not None
    body = first.body.decode()
    person = api_as(COORD).get(f"/api/persons/{v.person_id}").json()
    for word in (person["birth_family_name"], person["first_names"]):
        assert word not in body
    for action in v.avenant_content.actions:
        assert not action.titre or action.titre not in body
        assert not action.description or action.description not in body

    deleted_stops(esms, sub["id"], receiver, database)


def test_a_structure_the_person_opposed_gets_nothing(
    api_as: Callable[[str], Api],
    demo: dict[str, Any],
    settings: Any,
    receiver: Receiver,
    database: DatabaseInfo,
) -> None:
    v: Validated = new_validated(api_as, demo)
    esms = api_as(ESMS)
    created = subscribe(esms, subscription(ins_of(api_as, v.person_id), receiver.url))
    assert created.status_code == 201, created.text
    sub_id = created.json()["id"]
    opposed = api_as("usager").put(
        f"/api/persons/{v.person_id}/cercle/{v.cercle.members[ESMS]}/opposition",
        json={"opposed": True},
    )
    assert opposed.status_code == 200, opposed.text
    add_avenant(api_as, settings, v)
    feed_position(database, v.ppa_id, v.avenant or 0)  # published (and its deliveries with it)
    engine = sa.create_engine(database.sync_url)
    try:
        with engine.connect() as conn:
            queued = conn.scalar(
                sa.text(
                    "SELECT count(*) FROM webhook_deliveries d JOIN nde_subscriptions s"
                    " ON s.webhook_id = d.webhook_id WHERE s.id = :s"
                ),
                {"s": sub_id},
            )
    finally:
        engine.dispose()
    assert queued == 0
    assert for_subscription(receiver, sub_id) == []
    assert esms.get(f"/fhir/Subscription/{sub_id}").json()["status"] == "off"


def test_unauthorised_subscriptions_are_refused_and_traced(
    api_as: Callable[[str], Api], demo: dict[str, Any], database: DatabaseInfo
) -> None:
    outsider = new_validated(api_as, demo, opposed=(ESMS,))
    body = subscription(ins_of(api_as, outsider.person_id), "https://dui.example.org/nde")
    issues = outcome(subscribe(api_as(ESMS), body), 403)
    assert "cercle" in issues[0]["diagnostics"]
    issues = outcome(subscribe(api_as(COORD), body), 403)  # a personal account
    assert "logiciel" in issues[0]["diagnostics"]
    outcome(subscribe(api_as("anonymous"), body), 401)
    engine = sa.create_engine(database.sync_url)
    try:
        with engine.connect() as conn:
            traces = conn.execute(
                sa.text(
                    "SELECT actor_type, person_id FROM audit_events"
                    " WHERE action = 'fhir.subscription.create' AND outcome = 'denied'"
                    " AND (person_id = :p OR person_id IS NULL)"
                ),
                {"p": outsider.person_id},
            ).all()
            subscribed = conn.scalar(
                sa.text("SELECT count(*) FROM nde_subscriptions WHERE person_id = :p"),
                {"p": outsider.person_id},
            )
    finally:
        engine.dispose()
    assert ("api_client", outsider.person_id) in [tuple(t) for t in traces]
    assert any(t[0] == "user" and t[1] is None for t in traces)
    assert subscribed == 0


def test_invalid_subscriptions_answer_every_problem_in_french(
    api_as: Callable[[str], Api], demo: dict[str, Any]
) -> None:
    v = new_validated(api_as, demo)
    good = subscription(ins_of(api_as, v.person_id), "https://dui.example.org/nde")
    bad = copy.deepcopy(good)
    bad["extension"] = [e for e in bad["extension"] if e["url"] != NDE + "start"]
    bad["extension"][3]["valueCodeableConcept"]["coding"][0]["code"] = "SOR"
    bad["channel"]["type"] = "email"
    bad["channel"]["header"] = []
    issues = outcome(subscribe(api_as(ESMS), bad), 422)
    where = {tuple(i.get("expression", [])): i["diagnostics"] for i in issues}
    assert "obligatoire" in where[("Subscription.extension:start",)]
    assert "DOC" in where[("Subscription.extension:event-type",)]
    assert "rest-hook" in where[("Subscription.channel.type",)]
    assert "X-PPA-Webhook-Secret" in where[("Subscription.channel.header",)]
    unbound = copy.deepcopy(good)
    unbound["extension"][4]["valueCodeableConcept"]["coding"][0]["code"] = "PPA"
    issues = outcome(subscribe(api_as(ESMS), unbound), 422)
    assert "JDV_J46" in issues[0]["diagnostics"]
    plain = copy.deepcopy(good)
    plain["channel"]["endpoint"] = "http://dui.example.org/nde"
    issues = outcome(subscribe(api_as(ESMS), plain), 422)
    assert "https" in issues[0]["diagnostics"]
    control = copy.deepcopy(good)
    control["reason"] = "motif\u0000caché"
    issues = outcome(subscribe(api_as(ESMS), control), 422)
    assert issues[0]["expression"] == ["Subscription[reason]"]
    outcome(api_as(ESMS).get("/fhir/Subscription/inconnu"), 404)
