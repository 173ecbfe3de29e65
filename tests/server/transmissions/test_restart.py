"""A transmission whose first attempt failed is waiting for its retry when the server process is
killed (SIGKILL); the next process sends it: the SMTP server and the DMP each accept it exactly
once, with the Message-ID and document id the API showed, and a third process sends nothing
again."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.cli import invoke
from tests.conftest import make_database
from tests.factories import recent_start, valid_ppa
from tests.server.exports_api.support import PERSON_ACCORD, STRUCTURE_ACCORD, wait_for
from tests.server.test_cli import serving
from tests.server.transmissions.conftest import DOMAIN, SENDER
from tests.server.transmissions.fhir_server import FhirServer
from tests.server.transmissions.pki import Pki
from tests.server.transmissions.smtp_server import SmtpServer

pytestmark = pytest.mark.slow
COORD = "coordinatrice"


@pytest.fixture
def servers(pki: Pki) -> Iterator[tuple[SmtpServer, FhirServer]]:
    smtp = SmtpServer(pki, fail_first=1).start()
    dmp = FhirServer(pki, fail_first=1).start()
    yield smtp, dmp
    smtp.stop()
    dmp.stop()


def _env(tmp_path: Path, pki: Pki, smtp: SmtpServer, dmp: FhirServer, url: str) -> dict[str, str]:
    return {
        "PPA_DATA_DIR": str(tmp_path / "data"),
        "PPA_DATABASE_URL": url,
        "PPA_SECRET_KEY": "restart-test-secret-key-0123456789abcdef",
        "PPA_MSS_SMTP_HOST": "127.0.0.1",
        "PPA_MSS_SMTP_PORT": str(smtp.port),
        "PPA_MSS_CERT": str(pki.client_cert),
        "PPA_MSS_KEY": str(pki.client_key),
        "PPA_MSS_CA_FILE": str(pki.ca),
        "PPA_MSS_FROM": SENDER,
        "PPA_MSS_DOMAINS": DOMAIN,
        "PPA_DMP_FHIR_URL": dmp.url,
        # The retry comes well after the kill: the test waits on states, never on time.
        "PPA_TRANSMIT_RETRY_BASE_SECONDS": "8",
        "PPA_TRANSMIT_POLL_SECONDS": "0.3",
    }


def _client(url: str, password: str) -> httpx.Client:
    token = httpx.post(
        f"{url}/api/auth/token", data={"username": COORD, "password": password}, timeout=30
    ).json()["access_token"]
    return httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=60)


def _rows(client: httpx.Client, path: str) -> Callable[[], list[dict[str, Any]]]:
    def get() -> list[dict[str, Any]]:
        response = client.get(path)
        assert response.status_code == 200, response.text
        rows: list[dict[str, Any]] = response.json()
        return rows

    return get


def _settled(
    rows: Callable[[], list[dict[str, Any]]], statuses: set[str]
) -> list[dict[str, Any]] | None:
    got = rows()
    return got if {r["status"] for r in got} == statuses else None


def _validated_ppa(coord: httpx.Client, demo: dict[str, Any]) -> tuple[str, str]:
    """A professional of the cercle with an MSSanté address, and a validated PPA: (the
    professional's id, the transmissions path of the validated version)."""
    pro = coord.post(
        "/api/professionals",
        json={
            "first_name": "Inès",
            "last_name": "Lemaire",
            "profession": "Infirmière",
            "mss_address": f"ines.lemaire@{DOMAIN}",
        },
    ).json()
    added = coord.post(
        f"/api/persons/{demo['person_id']}/cercle",
        json={"kind": "professional", "role": "reader", "professional_id": pro["id"]},
    )
    assert added.status_code == 201, added.text
    content = valid_ppa(members=demo["professionals"], fresh_ids=True, start=recent_start())
    created = coord.post(
        f"/api/persons/{demo['person_id']}/ppas",
        json={"content": content.model_dump(mode="json")},
    )
    assert created.status_code == 201, created.text
    ppa_id = created.json()["id"]
    validated = coord.post(
        f"/api/ppas/{ppa_id}/validate",
        json={"structure": STRUCTURE_ACCORD, "personne": PERSON_ACCORD},
    )
    assert validated.status_code == 201, validated.text
    path = f"/api/ppas/{ppa_id}/versions/{validated.json()['number']}/transmissions"
    return pro["id"], path


def test_a_retry_interrupted_by_a_kill_is_sent_once_by_the_next_process(
    tmp_path: Path, pki: Pki, servers: tuple[SmtpServer, FhirServer]
) -> None:
    smtp, dmp = servers
    database, drop = make_database(tmp_path)
    env = _env(tmp_path, pki, smtp, dmp, database.url)
    try:
        done = invoke(["demo", "--json"], env)
        assert done.returncode == 0, done.stderr
        demo = json.loads(done.stdout)
        password = next(u["password"] for u in demo["logins"] if u["username"] == COORD)
        with serving(env, tmp_path / "a.log") as a:
            coord = _client(a.url, password)
            pro_id, path = _validated_ppa(coord, demo)
            mail = coord.post(
                path, json={"channel": "mssante", "to": [{"professional_id": pro_id}]}
            )
            deposit = coord.post(path, json={"channel": "dmp"})
            assert mail.status_code == deposit.status_code == 202
            rows = _rows(coord, path)
            # Both failed once (451, 503) and wait for their retry ...
            wait_for(lambda: all(r["attempts"] == 1 for r in rows()))
            assert {r["status"] for r in rows()} == {"en_attente"}
            coord.close()
            a.process.kill()  # ... when the process dies.
            a.process.wait(timeout=30)
        assert smtp.received == []
        assert dmp.accepted == []

        with serving(env, tmp_path / "b.log") as b:
            coord = _client(b.url, password)
            rows = _rows(coord, path)
            final = wait_for(lambda: _settled(rows, {"envoye", "recu"}))
            by_channel = {r["channel"]: r for r in final}
            assert by_channel["mssante"]["attempts"] == by_channel["dmp"]["attempts"] == 2
            coord.close()
        assert [r.message["Message-ID"] for r in smtp.received] == [mail.json()["message_id"]]
        assert smtp.handler.data_commands == 2
        assert len(dmp.accepted) == 1
        assert dmp.requests == 2

        with serving(env, tmp_path / "c.log") as c:
            # A new transmission goes through C's worker, which passes over the two done ones.
            coord = _client(c.url, password)
            again = coord.post(
                path, json={"channel": "mssante", "to": [{"address": f"x@{DOMAIN}"}]}
            )
            assert again.status_code == 202, again.text
            rows = _rows(coord, path)
            wait_for(
                lambda: any(
                    r["id"] == again.json()["id"] and r["status"] == "envoye" for r in rows()
                )
            )
            coord.close()
        ids = [r.message["Message-ID"] for r in smtp.received]
        assert ids == [mail.json()["message_id"], again.json()["message_id"]]
        assert len(dmp.accepted) == 1
    finally:
        drop()
