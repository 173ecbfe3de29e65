"""Absolute URLs come from ``PPA_PUBLIC_URL`` only, and X-Forwarded-For is believed from the
proxies of ``PPA_FORWARDED_ALLOW_IPS`` only (default: none), through the real ``ppa serve``.

A client on loopback sending a forged Host header and X-Forwarded-For changes neither the
agenda URL handed out nor the address recorded in the audit trail.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from server.config import Settings
from tests.server.test_cli import CliDatabase, cli_db, run, serving

__all__ = ["cli_db"]  # the fixture, imported for this module's tests

FORGED = {"Host": "attaquant.example", "X-Forwarded-For": "203.0.113.66"}


def _seed(cli_db: CliDatabase) -> dict[str, Any]:
    seeded = run(["demo", "--json"], cli_db.env)
    assert seeded.returncode == 0, seeded.stderr
    data: dict[str, Any] = json.loads(seeded.stdout)
    return data


def _create_feed(url: str, data: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """Log in and create the person's agenda feed, both with forged headers: (feed, user id)."""
    coordinator = next(x for x in data["logins"] if x["role"] == "coordinator")
    response = httpx.post(
        f"{url}/api/auth/token",
        data={"username": coordinator["username"], "password": coordinator["password"]},
        headers=FORGED,
        timeout=30,
    )
    assert response.status_code == 200, response.text
    auth = {"Authorization": f"Bearer {response.json()['access_token']}"}
    me = httpx.get(f"{url}/api/auth/me", headers=auth, timeout=30).json()
    created = httpx.post(
        f"{url}/api/agenda-feeds",
        json={"kind": "person", "person_id": data["person_id"], "label": "test"},
        headers={**auth, **FORGED},
        timeout=30,
    )
    assert created.status_code == 201, created.text
    feed: dict[str, Any] = created.json()
    return feed, me["id"]


def _audited_addresses(cli_db: CliDatabase, user_id: str) -> set[str | None]:
    engine = sa.create_engine(cli_db.database.sync_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text(
                    "SELECT action, client_addr FROM audit_events "
                    "WHERE actor_id = :uid AND action IN ('auth.login', 'agenda.feed.create')"
                ),
                {"uid": user_id},
            ).all()
    finally:
        engine.dispose()
    assert {action for action, _ in rows} == {"auth.login", "agenda.feed.create"}
    return {addr for _, addr in rows}


def test_forged_host_and_forwarded_for_change_neither_urls_nor_audit(
    cli_db: CliDatabase, tmp_path: Path
) -> None:
    data = _seed(cli_db)
    env = {**cli_db.env, "PPA_PUBLIC_URL": "https://ppa.example.org/"}
    with serving(env, tmp_path / "serve.log") as served:
        feed, user_id = _create_feed(served.url, data)
        assert feed["url"].startswith("https://ppa.example.org/api/agenda/"), feed["url"]
        assert feed["webcal_url"].startswith("webcal://ppa.example.org/api/agenda/")
        # The feed answers at the path of the URL handed out.
        path = feed["url"].removeprefix("https://ppa.example.org")
        assert httpx.get(f"{served.url}{path}", timeout=30).status_code == 200
    assert _audited_addresses(cli_db, user_id) == {"127.0.0.1"}


def test_default_public_url_is_the_listen_address(cli_db: CliDatabase, tmp_path: Path) -> None:
    data = _seed(cli_db)
    with serving(cli_db.env, tmp_path / "serve.log") as served:
        feed, _ = _create_feed(served.url, data)
        assert feed["url"].startswith(f"{served.url}/api/agenda/"), (feed["url"], served.url)


def test_configured_proxy_is_believed(cli_db: CliDatabase, tmp_path: Path) -> None:
    data = _seed(cli_db)
    env = {**cli_db.env, "PPA_FORWARDED_ALLOW_IPS": "127.0.0.1"}
    with serving(env, tmp_path / "serve.log") as served:
        _, user_id = _create_feed(served.url, data)
    assert _audited_addresses(cli_db, user_id) == {"203.0.113.66"}


def test_public_url_defaults() -> None:
    assert Settings(_env_file=None).resolved_public_url() == "http://127.0.0.1:8000"
    ipv6 = Settings(_env_file=None, host="::1", port=9000)
    assert ipv6.resolved_public_url() == "http://[::1]:9000"
    assert Settings(_env_file=None, public_url="https://a.example/ppa/").resolved_public_url() == (
        "https://a.example/ppa"
    )
    assert Settings(_env_file=None).trusted_proxies() == []
    both = Settings(_env_file=None, forwarded_allow_ips="10.0.0.1, 10.0.0.2")
    assert both.trusted_proxies() == ["10.0.0.1", "10.0.0.2"]
