"""A server whose transmissions go to real loopback servers: an SMTP submission server
(STARTTLS + client certificate) and an HTTPS PDSm endpoint (client certificate), sharing the
session's database; recipients with MSSanté addresses."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from server.people.identifiers import luhn_key
from server.transmissions.settings import TransmissionSettings
from tests.conftest import Api, DatabaseInfo, LiveServer, login, make_settings
from tests.server.transmissions.fhir_server import FhirServer
from tests.server.transmissions.pki import Pki, make_pki
from tests.server.transmissions.smtp_server import SmtpServer

DOMAIN = "test.mssante.fr"
SENDER = f"fam-les-tilleuls@{DOMAIN}"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def smtp(pki: Pki) -> Iterator[SmtpServer]:
    server = SmtpServer(pki).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def dmp(pki: Pki) -> Iterator[FhirServer]:
    server = FhirServer(pki).start()
    yield server
    server.stop()


def transmission_settings(
    pki: Pki, smtp_port: int, dmp_url: str, **overrides: Any
) -> TransmissionSettings:
    values: dict[str, Any] = {
        "mss_smtp_host": "127.0.0.1",
        "mss_smtp_port": smtp_port,
        "mss_cert": pki.client_cert,
        "mss_key": pki.client_key,
        "mss_ca_file": pki.ca,
        "mss_from": SENDER,
        "mss_domains": [DOMAIN],
        "dmp_fhir_url": dmp_url,
        "transmit_retry_base_seconds": 0.3,
        "transmit_poll_seconds": 0.3,
        "transmit_timeout_seconds": 20,
    }
    values.update(overrides)
    return TransmissionSettings(**values)


@pytest.fixture(scope="module")
def tx_server(
    database: DatabaseInfo,
    tmp_path_factory: pytest.TempPathFactory,
    pki: Pki,
    smtp: SmtpServer,
    dmp: FhirServer,
    demo: dict[str, Any],
) -> Iterator[LiveServer]:
    server = LiveServer(make_settings(database, Path(tmp_path_factory.mktemp("txdata"))))
    server.app.state.transmission_settings = transmission_settings(pki, smtp.port, dmp.url)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def tx_as(tx_server: LiveServer, demo: dict[str, Any]) -> Iterator[Callable[[str], Api]]:
    clients: dict[str, Api] = {}

    def factory(username: str) -> Api:
        if username not in clients:
            password = next(u["password"] for u in demo["logins"] if u["username"] == username)
            clients[username] = Api(tx_server.url, login(tx_server.url, username, password))
        return clients[username]

    yield factory
    for client in clients.values():
        client.client.close()


def random_finess(dep: str) -> str:
    payload = f"{dep}{random.randint(0, 9_999_999):07d}"[:8]
    return payload + luhn_key(payload)


@dataclass
class Recipients:
    professional_id: str
    professional_address: str
    outsider_id: str
    mdph_address: str
    mdph_id: str


def add_recipients(api_as: Callable[[str], Api], person_id: str) -> Recipients:
    """A professional of the cercle with an MSSanté address, one outside the cercle, and the
    MDPH of the département of the person's structure."""
    coord = api_as("coordinatrice")
    person = coord.get(f"/api/persons/{person_id}").json()
    structures = coord.get("/api/structures").json()
    home = next(s for s in structures if s["id"] == person["structure_id"])
    dep = home["departement"] or home["finess"][:2]
    mdph = next((s for s in structures if s["kind"] == "mdph" and s["departement"] == dep), None)
    if mdph is None:
        created = coord.post(
            "/api/structures",
            json={
                "finess": random_finess(dep),
                "name": f"MDPH {dep}",
                "kind": "mdph",
                "departement": dep,
                "mss_address": f"mdph{dep}@{DOMAIN}",
            },
        )
        assert created.status_code == 201, created.text
        mdph = created.json()
    ids = []
    for last in ("Lemaire", "Dehors"):
        pro = coord.post(
            "/api/professionals",
            json={
                "first_name": "Inès",
                "last_name": last,
                "profession": "Infirmière",
                "mss_address": f"ines.{last.lower()}.{random.randint(0, 10**6)}@{DOMAIN}",
            },
        )
        assert pro.status_code == 201, pro.text
        ids.append(pro.json())
    member = coord.post(
        f"/api/persons/{person_id}/cercle",
        json={"kind": "professional", "role": "reader", "professional_id": ids[0]["id"]},
    )
    assert member.status_code == 201, member.text
    return Recipients(
        ids[0]["id"], ids[0]["mss_address"], ids[1]["id"], mdph["mss_address"], mdph["id"]
    )
