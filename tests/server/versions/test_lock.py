"""A validated version is frozen: REST writes answer 409 in French, the live room is locked,
and the database itself refuses UPDATE/DELETE on every versions table (SQLite and PostgreSQL)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.exc import DBAPIError

from tests.conftest import DatabaseInfo
from tests.server.versions.conftest import RecordingRooms, counts, sql
from tests.server.versions.helpers import CONTRIB, COORD, Setup, new_ppa, save, validate


@pytest.fixture(scope="module")
def validated(api_as: Any, demo: dict[str, Any]) -> Setup:
    setup = new_ppa(api_as, demo)
    save(api_as(CONTRIB), setup.ppa_id, "Avant validation")
    response = validate(api_as(COORD), setup.ppa_id)
    assert response.status_code == 201, response.text
    return setup


def test_validation_locks_ppa_and_room(
    api_as: Any, demo: dict[str, Any], rooms: RecordingRooms
) -> None:
    setup = new_ppa(api_as, demo)
    response = validate(api_as(COORD), setup.ppa_id)
    assert response.status_code == 201, response.text
    assert response.json()["kind"] == "validated"
    assert setup.ppa_id in rooms.locked
    ppa = api_as(COORD).get(f"/api/ppas/{setup.ppa_id}").json()
    assert (ppa["status"], ppa["locked"]) == ("validated", True)


@pytest.mark.parametrize(
    ("username", "method", "path", "body"),
    [
        (COORD, "PATCH", "", {"title": "Renommé"}),
        (CONTRIB, "POST", "/versions", {"label": "Après validation"}),
        (
            COORD,
            "POST",
            "/validate",
            {"structure": {"par": "Direction"}, "personne": {"mode": "signe", "par": "Léa"}},
        ),
        (COORD, "POST", "/avenant/abandon", None),
    ],
)
def test_rest_writes_answer_409_in_french(
    validated: Setup, api_as: Any, username: str, method: str, path: str, body: Any
) -> None:
    response = api_as(username).client.request(
        method, f"/api/ppas/{validated.ppa_id}{path}", json=body
    )
    assert response.status_code == 409, response.text
    payload = response.json()
    assert payload["error"] == "Locked"
    assert "validé" in payload["detail"]
    assert "avenant" in payload["detail"] or "révision" in payload["detail"]


def test_reads_still_work_after_lock(validated: Setup, api_as: Any) -> None:
    versions = api_as(CONTRIB).get(f"/api/ppas/{validated.ppa_id}/versions").json()
    assert [v["kind"] for v in versions] == ["named", "validated"]
    one = api_as(CONTRIB).get(f"/api/ppas/{validated.ppa_id}/versions/2").json()
    assert one["content"]["objectifs"]


TABLES = {
    "versions": "WHERE ppa_id = :id",
    "version_accords": "WHERE ppa_id = :id",
    "log_leaves": "WHERE ppa_id = :id",
    "log_nodes": "WHERE level >= 1",
    "tree_heads": "WHERE tree_size >= 1",
}
SETS = {
    "versions": "label = 'réécrit'",
    "version_accords": "par = 'quelqu''un d''autre'",
    "log_leaves": "kind = 'x'",
    "log_nodes": "level = level",
    "tree_heads": "timestamp = 0",
}


@pytest.mark.parametrize("table", list(TABLES))
@pytest.mark.parametrize("verb", ["UPDATE", "DELETE"])
def test_sql_update_and_delete_are_refused(
    validated: Setup, database: DatabaseInfo, table: str, verb: str
) -> None:
    before = counts(database, validated.ppa_id)
    assert before["versions"] == 2
    assert before["accords"] == 2
    where = TABLES[table]
    statement = (
        f"UPDATE {table} SET {SETS[table]} {where}"
        if verb == "UPDATE"
        else f"DELETE FROM {table} {where}"
    )
    with pytest.raises(DBAPIError, match="append-only"):
        sql(database, statement, id=validated.ppa_id)
    assert counts(database, validated.ppa_id) == before
    labels = sql(
        database,
        "SELECT label FROM versions WHERE ppa_id = :id ORDER BY number",
        id=validated.ppa_id,
    )
    assert [row[0] for row in labels] == ["Avant validation", "v1 - version validée"]


def test_wiping_a_table_is_refused(validated: Setup, database: DatabaseInfo) -> None:
    # SQLite has no TRUNCATE: its equivalent, an unqualified DELETE, must fail as well.
    wipe = (
        "TRUNCATE versions CASCADE" if database.backend == "postgresql" else "DELETE FROM versions"
    )
    with pytest.raises(DBAPIError, match="append-only"):
        sql(database, wipe)
    assert counts(database, validated.ppa_id)["versions"] == 2
