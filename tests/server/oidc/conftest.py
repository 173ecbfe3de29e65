"""A Pro Santé Connect-like OpenID provider and a relying party (the service) configured for it,
both real servers on loopback; the demo's professionals are the provider's accounts."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.conftest import DatabaseInfo, LiveServer, free_port, make_settings
from tests.server.oidc.op import (
    ACR_VALUES,
    CLIENT_ID,
    CLIENT_SECRET,
    SCOPE_CLAIMS,
    ProviderProcess,
    Walker,
    accounts,
    client,
)


@pytest.fixture(scope="module")
def rp_port() -> int:
    return free_port()


@pytest.fixture(scope="module")
def op(rp_port: int, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProviderProcess]:
    rp_url = f"http://127.0.0.1:{rp_port}"
    config = {
        "clients": [client(rp_url)],
        "accounts": accounts(),
        "acr_values": ACR_VALUES,
        "scope_claims": SCOPE_CLAIMS,
    }
    process = ProviderProcess.start(config, tmp_path_factory.mktemp("op"))
    yield process
    process.stop()


@pytest.fixture(scope="module")
def rp(
    op: ProviderProcess,
    rp_port: int,
    database: DatabaseInfo,
    demo: dict[str, Any],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[LiveServer]:
    """The service as a Pro Santé Connect relying party (eIDAS level 2 required: the provider
    also offers a weaker level, eidas1, that must be refused)."""
    settings = make_settings(
        database,
        tmp_path_factory.mktemp("rp"),
        oidc_issuer=op.issuer,
        oidc_client_id=CLIENT_ID,
        oidc_client_secret=CLIENT_SECRET,
        oidc_acr="eidas2",
    )
    server = LiveServer(settings, port=rp_port)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def walker(rp: LiveServer) -> Iterator[Callable[[], Walker]]:
    """``walker()``: a new browser-like HTTP client (its own cookies) for the relying party."""
    walkers: list[Walker] = []

    def factory() -> Walker:
        walkers.append(Walker(rp.url))
        return walkers[-1]

    yield factory
    for each in walkers:
        each.close()
