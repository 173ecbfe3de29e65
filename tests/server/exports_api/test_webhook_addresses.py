"""Webhooks never make the server call internal services: https:// at public addresses only,
checked at registration and, resolved, before each delivery (unless
PPA_WEBHOOK_ALLOW_PRIVATE_NETWORKS, for development and tests)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from server.errors import InvalidInput
from server.esms.addresses import (
    PRIVATE_ADDRESS,
    UNRESOLVED_ADDRESS,
    AddressRefusedError,
    vetted_address,
)
from server.esms.service import check_url
from tests.conftest import Api, LiveServer
from tests.server.exports_api.receiver import Receiver
from tests.server.exports_api.support import ESMS, new_validated, wait_for

SECRET = "a-long-shared-secret-0123456789"

REFUSED_BY_DEFAULT = [
    "http://127.0.0.1:8080/hook",
    "http://localhost/hook",
    "https://127.0.0.1/hook",
    "https://localhost/hook",
    "https://interne.localhost/hook",
    "https://10.1.2.3/hook",
    "https://192.168.0.10/hook",
    "https://172.16.5.4/hook",
    "https://169.254.169.254/latest/meta-data",
    "https://100.64.0.1/hook",
    "https://0.0.0.0/hook",
    "https://[::1]/hook",
    "https://[fd00::1]/hook",
    "https://[fe80::1]/hook",
]


@pytest.mark.parametrize("url", REFUSED_BY_DEFAULT)
def test_internal_addresses_are_refused_by_default(url: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        check_url(url)
    assert str(refused.value.detail).startswith("Adresse de webhook invalide")


@pytest.mark.parametrize(
    "url",
    ["https://dui.example.org/hook", "https://93.184.216.34/hook", "https://[2001:4860::8888]/"],
)
def test_public_https_addresses_are_accepted(url: str) -> None:
    check_url(url)


@pytest.mark.parametrize(
    ("url", "accepted"),
    [
        ("http://127.0.0.1:8080/hook", True),
        ("https://10.1.2.3/hook", True),
        ("https://localhost/hook", True),
        ("http://10.1.2.3/hook", False),  # http:// only on loopback, even then
        ("http://dui.example.org/hook", False),
        ("ftp://127.0.0.1/hook", False),
    ],
)
def test_private_networks_when_allowed(url: str, accepted: bool) -> None:
    if accepted:
        check_url(url, allow_private_networks=True)
    else:
        with pytest.raises(InvalidInput):
            check_url(url, allow_private_networks=True)


async def test_host_names_are_judged_by_their_resolved_addresses() -> None:
    for host in ("localhost", "127.0.0.1"):
        with pytest.raises(AddressRefusedError) as refused:
            await vetted_address(host, 443, allow_private_networks=False)
        assert refused.value.error == PRIVATE_ADDRESS
    assert await vetted_address("localhost", 443, allow_private_networks=True) in {
        "127.0.0.1",
        "::1",
    }
    assert await vetted_address("8.8.8.8", 443, allow_private_networks=False) == "8.8.8.8"
    for allowed in (False, True):
        with pytest.raises(AddressRefusedError) as refused:
            await vetted_address(
                "name-that-does-not-resolve.invalid", 443, allow_private_networks=allowed
            )
        assert refused.value.error == UNRESOLVED_ADDRESS


def test_registration_refuses_a_loopback_receiver_by_default(
    api_as: Callable[[str], Api], settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "webhook_allow_private_networks", False)
    response = api_as(ESMS).post(
        "/api/esms/webhooks", json={"url": "http://127.0.0.1:9/hook", "secret": SECRET}
    )
    assert response.status_code == 422
    assert response.json()["detail"].startswith("Adresse de webhook invalide")


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    rec = Receiver().start()
    yield rec
    rec.stop()


def test_a_delivery_to_an_internal_address_is_never_sent(
    api_as: Callable[[str], Api],
    demo: dict[str, Any],
    live_server: LiveServer,
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A webhook registered while private networks were allowed (or whose name now resolves
    to an internal address) is checked again before each delivery."""
    esms = api_as(ESMS)
    hook = esms.post("/api/esms/webhooks", json={"url": receiver.url, "secret": SECRET}).json()
    monkeypatch.setattr(live_server.app.state.delivery_worker, "allow_private_networks", False)
    try:
        ppa = new_validated(api_as, demo)

        def attempted() -> list[dict[str, Any]]:
            log = esms.get(f"/api/esms/webhooks/{hook['id']}/deliveries").json()
            return [d for d in log if d["log"]]

        deliveries = wait_for(attempted)
        for delivery in deliveries:
            assert {a["error"] for a in delivery["log"]} == {PRIVATE_ADDRESS}
            assert {a["status_code"] for a in delivery["log"]} == {None}
            assert delivery["status"] == "pending"  # retried later with backoff, never sent
        assert receiver.for_ppa(ppa.ppa_id) == []
        assert receiver.received == []
    finally:
        esms.delete(f"/api/esms/webhooks/{hook['id']}")
