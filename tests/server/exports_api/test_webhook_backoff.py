"""Webhook retries: the backoff schedule, and a delivery that ends ``failed`` after
``max_attempts`` attempts against a receiver that always answers 503."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

from server.esms.delivery import WebhookSettings, backoff
from tests.conftest import Api, login, make_database
from tests.server.exports_api.receiver import Receiver
from tests.server.exports_api.support import COORD, validate, wait_for
from tests.server.exports_api.test_webhooks import SECRET, _cli, _server


def test_backoff_doubles_from_2_seconds_and_is_capped_at_an_hour() -> None:
    defaults = WebhookSettings(_env_file=None)
    assert (defaults.retry_base_seconds, defaults.retry_max_seconds) == (2.0, 3600.0)
    assert defaults.max_attempts == 16
    delays = [backoff(defaults, failed).total_seconds() for failed in range(1, 16)]
    assert delays == [2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048] + [3600] * 4
    assert backoff(defaults, 0).total_seconds() == 2  # never a zero or negative delay
    # 15 waits between the 16 attempts: 4094 s of doubling, then 4 capped hours
    # = 5 h 08 min 14 s (docs/exports-api.md).
    total = sum((backoff(defaults, n) for n in range(1, 16)), timedelta())
    assert total == timedelta(hours=5, minutes=8, seconds=14)


def test_backoff_follows_the_settings() -> None:
    quick = WebhookSettings(_env_file=None, retry_base_seconds=0.5, retry_max_seconds=3)
    assert [backoff(quick, n).total_seconds() for n in range(1, 6)] == [0.5, 1, 2, 3, 3]


def test_a_delivery_is_failed_after_max_attempts(tmp_path: Path) -> None:
    """A server with ``max_attempts=2`` and a 0.3 s base: two signed attempts, at least the
    backoff apart, then ``failed`` (no next attempt), and the worker sends nothing more."""
    from tests.factories import recent_start, valid_ppa

    database, drop = make_database(tmp_path)
    env = {"PPA_DATA_DIR": str(tmp_path / "data"), "PPA_DATABASE_URL": database.url}
    demo = json.loads(_cli(env, "demo", "--json"))
    refusing = Receiver(fail_attempts=1_000_000).start()
    settings = WebhookSettings(
        _env_file=None,
        max_attempts=2,
        retry_base_seconds=0.3,
        poll_seconds=0.1,
    )
    server = _server(env, settings)
    password = next(u["password"] for u in demo["logins"] if u["username"] == COORD)
    coord = Api(server.url, login(server.url, COORD, password))
    esms = Api(server.url, demo["esms"]["token"])
    try:
        hook = esms.post("/api/esms/webhooks", json={"url": refusing.url, "secret": SECRET})
        assert hook.status_code == 201, hook.text
        content = valid_ppa(
            members=demo["professionals"], fresh_ids=True, start=recent_start()
        ).model_dump(mode="json")
        created = coord.post(f"/api/persons/{demo['person_id']}/ppas", json={"content": content})
        assert created.status_code == 201, created.text
        ppa_id = created.json()["id"]
        validate(coord, ppa_id)
        delivery_id = wait_for(lambda: refusing.for_ppa(ppa_id))[0].headers["x-ppa-delivery"]

        def finished() -> dict[str, object] | None:
            log = esms.get(f"/api/esms/webhooks/{hook.json()['id']}/deliveries").json()
            mine = next(d for d in log if d["id"] == delivery_id)
            return None if mine["status"] == "pending" else mine

        delivery = wait_for(finished)
        assert delivery["status"] == "failed"
        assert delivery["attempts"] == 2
        assert delivery["next_attempt_at"] is None
        assert delivery["delivered_at"] is None
        attempts = delivery["log"]
        assert isinstance(attempts, list)
        assert [(a["number"], a["status_code"], a["error"]) for a in attempts] == [
            (1, 503, "HTTP 503"),
            (2, 503, "HTTP 503"),
        ]
        first, second = (datetime.fromisoformat(a["at"]) for a in attempts)
        assert second - first >= backoff(settings, 1)
        sent = [r for r in refusing.for_ppa(ppa_id) if r.headers["x-ppa-delivery"] == delivery_id]
        assert [r.headers["x-ppa-attempt"] for r in sent] == ["1", "2"]
        # the service's admins are told (a notice naming the webhook, nothing of the PPA)
        admin_password = next(u["password"] for u in demo["logins"] if u["username"] == "admin")
        admin = Api(server.url, login(server.url, "admin", admin_password))
        told = admin.get("/api/me/notifications").json()["items"]
        admin.client.close()
        assert [n["nature"] for n in told] == ["esms.delivery_failed"]
        assert told[0]["ppa_id"] is None
    finally:
        coord.client.close()
        esms.client.close()
        server.stop()
        refusing.stop()
        drop()
