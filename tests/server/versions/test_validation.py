"""Validation is atomic: a failure at any step leaves no half-validated version; concurrent
validations of one PPA: exactly one wins, the others get 409."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.conftest import DatabaseInfo, LiveServer, login
from tests.server.versions.conftest import Edit, Faults, RecordingRooms, counts, sql
from tests.server.versions.helpers import (
    COORD,
    PERSON_ACCORD,
    STRUCTURE_ACCORD,
    new_ppa,
    validate,
)

# Every step of a validation of a PPA with no version yet: the checkpoint taken before the
# validation appends leaf 1 / head 1 / version 1, the validated version leaf 2 / head 2 / ...
STEPS = [
    ("room_locked", 1),
    ("ppa_locked", 1),
    ("superseded", 1),
    ("leaf", 1),
    ("head", 1),
    ("version", 1),
    ("accords", 1),
    ("checkpoint", 1),
    ("leaf", 2),
    ("head", 2),
    ("version", 2),
    ("accords", 2),
    ("commit", 1),
]


def test_steps_cover_a_validation(
    api_as: Any, demo: dict[str, Any], faults: Faults, rooms: RecordingRooms
) -> None:
    setup = new_ppa(api_as, demo)
    faults.ppa_id = setup.ppa_id
    assert validate(api_as(COORD), setup.ppa_id).status_code == 201
    assert [(s, faults.seen[: i + 1].count(s)) for i, s in enumerate(faults.seen)] == STEPS


@pytest.mark.parametrize(("step", "occurrence"), STEPS)
def test_failure_at_any_step_leaves_nothing(
    step: str,
    occurrence: int,
    api_as: Any,
    demo: dict[str, Any],
    database: DatabaseInfo,
    live_server: LiveServer,
    faults: Faults,
    rooms: RecordingRooms,
) -> None:
    setup = new_ppa(api_as, demo)
    coord = api_as(COORD)
    before = counts(database, setup.ppa_id)
    faults.ppa_id = setup.ppa_id
    faults.target = (step, occurrence)
    # A one-off connection: uvicorn closes the connection of a request that failed with an
    # unexpected error, and a pooled client could reuse it for its next request.
    with httpx.Client(base_url=live_server.url, headers=coord.client.headers) as once:
        response = once.post(
            f"/api/ppas/{setup.ppa_id}/validate",
            json={"structure": STRUCTURE_ACCORD, "personne": PERSON_ACCORD},
        )
    assert response.status_code == 500, response.text
    assert response.json()["error"] == "InternalError"
    assert counts(database, setup.ppa_id) == before
    ppa = coord.get(f"/api/ppas/{setup.ppa_id}").json()
    assert (ppa["status"], ppa["locked"]) == ("draft", False)
    assert ("lock", setup.ppa_id) in rooms.calls
    assert setup.ppa_id not in rooms.locked, "the room lock must be undone"
    assert coord.get(f"/api/ppas/{setup.ppa_id}/versions").json() == []

    faults.target = None
    response = validate(coord, setup.ppa_id)
    assert response.status_code == 201, response.text
    assert setup.ppa_id in rooms.locked
    after = counts(database, setup.ppa_id)
    assert after["versions"] == 2
    assert after["accords"] == 2
    assert after["leaves"] == 2


def test_refused_validation_unlocks_the_room(
    api_as: Any, demo: dict[str, Any], database: DatabaseInfo, rooms: RecordingRooms, edit: Edit
) -> None:
    setup = new_ppa(api_as, demo)
    edit(setup.ppa_id, lambda c: setattr(c.besoins[0], "code", None), end_session=True)
    before = counts(database, setup.ppa_id)
    response = validate(api_as(COORD), setup.ppa_id)
    assert response.status_code == 409, response.text  # 422 until issue 19
    payload = response.json()
    assert payload["error"] == "ValidationRefused"
    assert "SERAFIN-PH" in payload["detail"]
    assert any("besoins" in p["path"] for p in payload["problems"])
    assert counts(database, setup.ppa_id) == before
    assert setup.ppa_id not in rooms.locked


@pytest.mark.parametrize(
    ("personne", "message"),
    [
        ({"mode": "oral", "par": "La personne"}, "témoin"),
        ({"mode": "refuse", "par": "La personne"}, "motif"),
        ({"mode": "non_sollicite"}, "motif"),
        ({"mode": "signe"}, "qui a donné"),
    ],
)
def test_agreements_are_checked(
    api_as: Any, demo: dict[str, Any], personne: dict[str, str], message: str
) -> None:
    setup = new_ppa(api_as, demo)
    response = validate(api_as(COORD), setup.ppa_id, personne=personne)
    assert response.status_code == 422, response.text
    assert message in response.json()["detail"]
    missing = api_as(COORD).post(f"/api/ppas/{setup.ppa_id}/validate", json={})
    assert missing.status_code == 422
    assert missing.json()["problems"][0]["path"] == "structure"


def test_agreements_are_recorded_with_the_version(api_as: Any, demo: dict[str, Any]) -> None:
    setup = new_ppa(api_as, demo)
    personne = {
        "mode": "oral",
        "par": "Jean Paul Dupont",
        "temoin": "Sa sœur",
        "date": "2026-11-21",
    }
    response = validate(api_as(COORD), setup.ppa_id, personne=personne)
    assert response.status_code == 201, response.text
    version = response.json()
    me = api_as(COORD).get("/api/auth/me").json()
    accords = version["accords"]
    assert [(a["type"], a["mode"]) for a in accords] == [
        ("structure", "signe"),
        ("personne", "oral"),
    ]
    assert accords[0]["par"] == STRUCTURE_ACCORD["par"]
    assert accords[0]["date"] == STRUCTURE_ACCORD["date"]
    assert accords[1]["temoin"] == "Sa sœur"
    assert accords[1]["date"] == "2026-11-21"
    assert all(a["recorded_by"] == me["id"] for a in accords)
    assert version["label"] == "v1 - version validée"
    assert version["series_rank"] == 1
    review = setup.content.bilan.prochaine_revision
    assert review is not None
    assert version["next_review"] == review.isoformat()  # the bilan's prochaine_revision
    # The agreements are covered by the chain hash: the auditor's chain check recomputes it.
    history = api_as("auditeur").get(f"/api/ppas/{setup.ppa_id}/history").json()
    assert history["chain"] == {"ok": True, "checked": 2, "broken_number": None, "reason": None}
    assert history["versions"][1]["accords"] == accords


def _fire(base_url: str, token: str, ppa_id: str, barrier: threading.Barrier) -> int:
    with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {token}"}) as client:
        barrier.wait()
        response = client.post(
            f"/api/ppas/{ppa_id}/validate",
            json={"structure": STRUCTURE_ACCORD, "personne": PERSON_ACCORD},
            timeout=60,
        )
        return response.status_code


def _race(urls: list[str], token: str, ppa_id: str) -> list[int]:
    barrier = threading.Barrier(len(urls))
    results: list[int] = [0] * len(urls)

    def run(index: int, url: str) -> None:
        results[index] = _fire(url, token, ppa_id, barrier)

    threads = [threading.Thread(target=run, args=(i, u)) for i, u in enumerate(urls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sorted(results)


def test_concurrent_validations_one_wins(
    api_as: Any, demo: dict[str, Any], live_server: LiveServer, database: DatabaseInfo
) -> None:
    setup = new_ppa(api_as, demo)
    token = api_as(COORD).token
    assert token
    assert _race([live_server.url] * 6, token, setup.ppa_id) == [201, 409, 409, 409, 409, 409]
    assert counts(database, setup.ppa_id)["versions"] == 2


@pytest.fixture(scope="module")
def second_server(settings: Any) -> Iterator[LiveServer]:
    """Another app on the same database (another process, as far as locks go)."""
    # A copy: LiveServer sets the port on its settings, and the session server's app derives
    # its public URL (agenda feeds) from its own.
    server = LiveServer(settings.model_copy())
    server.start()
    yield server
    server.stop()


def test_concurrent_validations_across_servers_one_wins(
    api_as: Any,
    demo: dict[str, Any],
    live_server: LiveServer,
    second_server: LiveServer,
    database: DatabaseInfo,
) -> None:
    passwords = {login_["username"]: login_["password"] for login_ in demo["logins"]}
    for _ in range(3):
        setup = new_ppa(api_as, demo)
        token = login(live_server.url, COORD, passwords[COORD])
        urls = [live_server.url, second_server.url] * 3
        winner, *losers = _race(urls, token, setup.ppa_id)
        # A loser is told the PPA is validated (409) or, when the other process held SQLite
        # past its busy timeout (a loaded machine), to retry (503): never a 500.
        assert winner == 201
        assert set(losers) <= {409, 503}, losers
        numbers = sql(
            database, "SELECT number, kind FROM versions WHERE ppa_id = :id", id=setup.ppa_id
        )
        assert sorted(tuple(r) for r in numbers) == [(1, "checkpoint"), (2, "validated")]
