"""Pro Santé Connect is https: the provider here too (a certificate of a test CA), trusted
through PPA_OIDC_CA_FILE, and refused without it."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from tests.conftest import DatabaseInfo, LiveServer, free_port, make_settings
from tests.pki import TestAuthority
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

pytestmark = pytest.mark.node


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """A test CA and a certificate of 127.0.0.1 it signed: (CA file, key file, cert file)."""
    authority = TestAuthority(tmp_path_factory.mktemp("tls"))
    issued = authority.issue("127.0.0.1", ips=("127.0.0.1",))
    return authority.ca, issued.key, issued.cert


@pytest.fixture(scope="module")
def tls_rp_port() -> int:
    return free_port()


@pytest.fixture(scope="module")
def tls_op(
    tls_rp_port: int, tls_files: tuple[Path, Path, Path], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ProviderProcess]:
    _, key_file, cert_file = tls_files
    config = {
        "clients": [client(f"http://127.0.0.1:{tls_rp_port}")],
        "accounts": accounts(),
        "acr_values": ACR_VALUES,
        "scope_claims": SCOPE_CLAIMS,
        "tls": {"key": str(key_file), "cert": str(cert_file)},
    }
    process = ProviderProcess.start(config, tmp_path_factory.mktemp("tls-op"))
    yield process
    process.stop()


def relying_party(
    database: DatabaseInfo, data: Path, issuer: str, port: int, **settings: Any
) -> LiveServer:
    server = LiveServer(
        make_settings(
            database,
            data,
            oidc_issuer=issuer,
            oidc_client_id=CLIENT_ID,
            oidc_client_secret=SecretStr(CLIENT_SECRET),
            **settings,
        ),
        port=port,
    )
    server.start()
    return server


def test_an_https_provider_trusted_through_the_ca_file(
    tls_op: ProviderProcess,
    tls_rp_port: int,
    tls_files: tuple[Path, Path, Path],
    database: DatabaseInfo,
    demo: dict[str, Any],
    tmp_path: Path,
) -> None:
    ca_file = tls_files[0]
    assert tls_op.issuer.startswith("https://127.0.0.1:")
    rp = relying_party(database, tmp_path, tls_op.issuer, tls_rp_port, oidc_ca_file=ca_file)
    browser = Walker(
        rp.url, httpx.Client(timeout=30, verify=ssl.create_default_context(cafile=ca_file))
    )
    try:
        assert browser.login("f:psc:infirmier").status_code == 303
    finally:
        browser.close()
        rp.stop()


def test_an_untrusted_provider_certificate_is_refused(
    tls_op: ProviderProcess, database: DatabaseInfo, demo: dict[str, Any], tmp_path: Path
) -> None:
    rp = relying_party(database, tmp_path, tls_op.issuer, free_port())  # system CAs only
    try:
        answer = httpx.get(f"{rp.url}/api/auth/psc/login", timeout=30)
    finally:
        rp.stop()
    assert answer.status_code == 502
    assert "<code>discovery_unreachable</code>" in answer.text
