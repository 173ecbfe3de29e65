"""ESMS webhooks: registration, signed deliveries, retries with backoff, the delivery log, and a
delivery that survives a restart of the service."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from server.esms.delivery import WebhookSettings
from server.esms.signing import verify_signature
from tests.cli import invoke
from tests.conftest import Api, DatabaseInfo, LiveServer, login, make_database
from tests.server.exports_api.receiver import Receiver
from tests.server.exports_api.support import (
    COORD,
    ESMS,
    PERSON_ACCORD,
    STRUCTURE_ACCORD,
    add_avenant,
    feed_position,
    new_validated,
    wait_for,
)

SECRET = "a-long-shared-secret-0123456789"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    rec = Receiver(fail_attempts=1).start()
    yield rec
    rec.stop()


@pytest.fixture
def webhook(api_as: Callable[[str], Api], receiver: Receiver) -> Iterator[dict[str, Any]]:
    response = api_as(ESMS).post("/api/esms/webhooks", json={"url": receiver.url, "secret": SECRET})
    assert response.status_code == 201, response.text
    hook: dict[str, Any] = response.json()
    yield hook
    api_as(ESMS).delete(f"/api/esms/webhooks/{hook['id']}")


def test_registration_is_for_api_clients_with_https_and_a_real_secret(
    api_as: Callable[[str], Api],
) -> None:
    esms = api_as(ESMS)
    user = api_as(COORD).post(
        "/api/esms/webhooks", json={"url": "https://dui.example.org/hook", "secret": SECRET}
    )
    assert user.status_code == 403
    plain = esms.post(
        "/api/esms/webhooks", json={"url": "http://dui.example.org/hook", "secret": SECRET}
    )
    assert plain.status_code == 422
    assert "https" in plain.json()["detail"]
    short = esms.post(
        "/api/esms/webhooks", json={"url": "https://dui.example.org/hook", "secret": "court"}
    )
    assert short.status_code == 422
    created = esms.post(
        "/api/esms/webhooks", json={"url": "https://dui.example.org/hook", "secret": SECRET}
    )
    assert created.status_code == 201, created.text
    assert SECRET not in created.text
    listed = esms.get("/api/esms/webhooks").json()
    assert created.json()["id"] in {h["id"] for h in listed}
    assert SECRET not in json.dumps(listed)
    assert esms.delete(f"/api/esms/webhooks/{created.json()['id']}").status_code == 204
    after = {h["id"]: h for h in esms.get("/api/esms/webhooks").json()}
    assert after[created.json()["id"]]["disabled_at"] is not None
    assert api_as(COORD).get("/api/esms/webhooks").status_code == 403
    assert api_as("anonymous").get("/api/esms/webhooks").status_code == 401


def test_validation_and_avenant_are_delivered_signed_after_a_failed_attempt(
    api_as: Callable[[str], Api],
    demo: dict[str, Any],
    settings: Any,
    receiver: Receiver,
    webhook: dict[str, Any],
) -> None:
    ppa = new_validated(api_as, demo)
    attempts = wait_for(
        lambda: len(receiver.for_ppa(ppa.ppa_id)) >= 2 and receiver.for_ppa(ppa.ppa_id)
    )
    first, second = attempts[:2]
    assert (first.answered, second.answered) == (503, 204)
    assert first.body == second.body
    for got in (first, second):
        assert verify_signature(SECRET, got.body, got.headers["x-ppa-signature"])
        assert got.headers["x-ppa-signature"].startswith("sha256=")
        assert got.headers["x-ppa-event"] == "ppa.validated"
        assert got.headers["content-type"] == "application/json"
    assert first.headers["x-ppa-delivery"] == second.headers["x-ppa-delivery"]
    assert (first.headers["x-ppa-attempt"], second.headers["x-ppa-attempt"]) == ("1", "2")
    payload = first.json
    assert payload["type"] == "ppa.validated"
    assert payload["data"]["version"] == ppa.validated
    assert payload["data"]["person_id"] == ppa.person_id
    assert "pdf" in payload["data"]["exports"]
    assert not verify_signature(
        "another-secret-0123456789", first.body, first.headers["x-ppa-signature"]
    )

    def settled() -> list[dict[str, Any]] | None:
        # The receiver may answer the second attempt before the worker commits its outcome.
        log = api_as(ESMS).get(f"/api/esms/webhooks/{webhook['id']}/deliveries").json()
        mine = [d for d in log if d["id"] == first.headers["x-ppa-delivery"]]
        return mine if mine and mine[0]["attempts"] >= 2 else None

    mine = wait_for(settled)
    assert len(mine) == 1
    delivery = mine[0]
    assert delivery["status"] == "delivered"
    assert delivery["attempts"] == 2
    assert [a["status_code"] for a in delivery["log"]] == [503, 204]
    assert delivery["log"][0]["error"] == "HTTP 503"
    assert delivery["delivered_at"] is not None
    assert delivery["next_attempt_at"] is None

    add_avenant(api_as, settings, ppa)
    avenants = wait_for(
        lambda: [
            r
            for r in receiver.for_ppa(ppa.ppa_id)
            if r.headers["x-ppa-event"] == "ppa.avenant" and r.answered == 204
        ]
    )
    assert avenants[0].json["data"]["version"] == ppa.avenant
    assert "mdph" in avenants[0].json["data"]["exports"]
    assert verify_signature(SECRET, avenants[0].body, avenants[0].headers["x-ppa-signature"])


def test_no_delivery_for_a_person_who_opposed_the_esms(
    api_as: Callable[[str], Api],
    demo: dict[str, Any],
    webhook: dict[str, Any],
    database: DatabaseInfo,
) -> None:
    opposed = new_validated(api_as, demo, opposed=(ESMS,))
    # The feed event and the deliveries are written in the same transaction.
    position = feed_position(database, opposed.ppa_id, opposed.validated)
    log = api_as(ESMS).get(f"/api/esms/webhooks/{webhook['id']}/deliveries").json()
    assert position not in {d["feed_position"] for d in log}


def test_another_client_cannot_read_a_webhook_log(
    api_as: Callable[[str], Api], webhook: dict[str, Any]
) -> None:
    response = api_as(COORD).get(f"/api/esms/webhooks/{webhook['id']}/deliveries")
    assert response.status_code == 403
    unknown = api_as(ESMS).get("/api/esms/webhooks/nope/deliveries")
    assert unknown.status_code == 404


# -- a delivery survives a restart -----------------------------------------------------------


def _cli(env: dict[str, str], *args: str) -> str:
    done = invoke(args, env)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _server(env: dict[str, str], webhooks: WebhookSettings) -> LiveServer:
    from server.config import Settings

    settings = Settings(
        data_dir=Path(env["PPA_DATA_DIR"]),
        database_url=env["PPA_DATABASE_URL"],
        webhook_allow_private_networks=True,  # the receiver listens on loopback
    )
    server = LiveServer(settings)
    server.app.state.webhook_settings = webhooks
    server.start()
    return server


def test_a_delivery_interrupted_by_a_shutdown_is_sent_by_the_next_process(
    tmp_path: Path,
) -> None:
    """Server A leases the delivery and is stopped while the receiver hangs; server B (same
    database) takes it over once the lease expires and delivers it."""
    from tests.factories import recent_start, valid_ppa

    database, drop = make_database(tmp_path)
    env = {"PPA_DATA_DIR": str(tmp_path / "data"), "PPA_DATABASE_URL": database.url}
    demo = json.loads(_cli(env, "demo", "--json"))
    hanging = Receiver(hang=True).start()
    fast = WebhookSettings(lease_seconds=2, retry_base_seconds=0.5, poll_seconds=0.5)
    a = _server(env, fast.model_copy(update={"timeout_seconds": 120}))
    b: LiveServer | None = None
    password = next(u["password"] for u in demo["logins"] if u["username"] == COORD)
    coord = Api(a.url, login(a.url, COORD, password))
    esms = Api(a.url, demo["esms"]["token"])
    try:
        hook = esms.post("/api/esms/webhooks", json={"url": hanging.url, "secret": SECRET})
        assert hook.status_code == 201, hook.text
        content = valid_ppa(
            members=demo["professionals"], fresh_ids=True, start=recent_start()
        ).model_dump(mode="json")
        created = coord.post(f"/api/persons/{demo['person_id']}/ppas", json={"content": content})
        assert created.status_code == 201, created.text
        ppa_id = created.json()["id"]
        validated = coord.post(
            f"/api/ppas/{ppa_id}/validate",
            json={"structure": STRUCTURE_ACCORD, "personne": PERSON_ACCORD},
        )
        assert validated.status_code == 201, validated.text
        # A is now waiting on the hanging receiver (the request reached it).
        wait_for(lambda: hanging.arrived >= 1)
        a.stop()
        assert not hanging.received, "A must not have completed the delivery"
        hanging.stop()

        working = Receiver(port=hanging.port).start()  # the ESMS is back, same URL
        try:
            b = _server(env, fast)
            got = wait_for(lambda: working.for_ppa(ppa_id))
            assert got[0].answered == 204
            assert got[0].headers["x-ppa-attempt"] == "1"
            assert verify_signature(SECRET, got[0].body, got[0].headers["x-ppa-signature"])
        finally:
            working.stop()
    finally:
        coord.client.close()
        esms.client.close()
        if b is not None:
            b.stop()
        hanging.stop()
        drop()
