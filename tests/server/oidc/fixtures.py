"""Fixtures: a Pro Santé Connect-like OpenID provider and relying parties (the service)
configured for it, all real servers on loopback; the demo's professionals are the provider's
accounts. Imported by tests/server/oidc/conftest.py and the browser test
(tests/e2e/test_psc_login.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from joserfc.jwk import ECKey

from tests.conftest import DatabaseInfo, LiveServer, free_port, make_settings
from tests.server.oidc.op import (
    ACR_VALUES,
    CLIENT_ID,
    CLIENT_SECRET,
    KEYED_CLIENT_ID,
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
def keyed_rp_port() -> int:
    return free_port()


@pytest.fixture(scope="module")
def client_key(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """An EC P-256 key for private_key_jwt: its PEM file and its public JWK."""
    key = ECKey.generate_key("P-256", {"kid": "ppa-collab-test-key"})
    path = tmp_path_factory.mktemp("client-key") / "client.pem"
    path.write_bytes(key.as_pem(private=True))
    return path, dict(key.as_dict(private=False))


@pytest.fixture(scope="module")
def op(
    rp_port: int,
    keyed_rp_port: int,
    client_key: tuple[Path, dict[str, Any]],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[ProviderProcess]:
    rp_url = f"http://127.0.0.1:{rp_port}"
    keyed = client(
        f"http://127.0.0.1:{keyed_rp_port}",
        client_id=KEYED_CLIENT_ID,
        token_endpoint_auth_method="private_key_jwt",
        jwks={"keys": [client_key[1]]},
    )
    del keyed["client_secret"], keyed["userinfo_signed_response_alg"]  # userinfo: plain JSON
    config = {
        "clients": [client(rp_url), keyed],
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


@pytest.fixture(scope="module")
def keyed_rp(
    op: ProviderProcess,
    keyed_rp_port: int,
    client_key: tuple[Path, dict[str, Any]],
    database: DatabaseInfo,
    demo: dict[str, Any],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[LiveServer]:
    """Another relying party: private_key_jwt client authentication, userinfo in JSON, the
    default authentication level (eidas1)."""
    settings = make_settings(
        database,
        tmp_path_factory.mktemp("keyed-rp"),
        oidc_issuer=op.issuer,
        oidc_client_id=KEYED_CLIENT_ID,
        oidc_private_key_path=client_key[0],
        oidc_private_key_id="ppa-collab-test-key",
    )
    server = LiveServer(settings, port=keyed_rp_port)
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
