"""Pro Santé Connect is https: the provider here too (a certificate of a test CA), trusted
through PPA_OIDC_CA_FILE, and refused without it."""

from __future__ import annotations

import datetime
import ipaddress
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pydantic import SecretStr

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

pytestmark = pytest.mark.node


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def write_tls(directory: Path) -> tuple[Path, Path, Path]:
    """A test CA and a certificate of 127.0.0.1 it signed: (CA file, key file, cert file)."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("AC de test ppa-collab"))
        .issuer_name(_name("AC de test ppa-collab"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("127.0.0.1"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    ca_file, key_file, cert_file = (directory / n for n in ("ca.pem", "key.pem", "cert.pem"))
    ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return ca_file, key_file, cert_file


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    return write_tls(tmp_path_factory.mktemp("tls"))


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
