from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from tests.server.helpers import person_body


def test_register_person_with_valid_ins(api_as: Any) -> None:
    coord = api_as("coordinatrice")
    response = coord.post(
        "/api/persons", json=person_body(ins_matricule="279035121518989", ins_system="test")
    )
    if response.status_code == 409:  # already registered by an earlier run on this database
        pytest.fail("fresh databases are used for every run")
    assert response.status_code == 201, response.text
    person = response.json()
    assert person["ins_oid"] == "1.2.250.1.213.1.4.10"
    assert person["my_role"] == "coordinator"
    again = coord.post(
        "/api/persons", json=person_body(ins_matricule="279035121518989", ins_system="test")
    )
    assert again.status_code == 409


def test_invalid_ins_key_names_field_and_reason(api_as: Any) -> None:
    response = api_as("coordinatrice").post(
        "/api/persons", json=person_body(ins_matricule="279035121518988")
    )
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "InvalidInput"
    assert "ins_matricule" in body["detail"]
    assert "clé INS invalide" in body["detail"]
    assert body["problems"][0]["path"] == "ins_matricule"


@pytest.mark.parametrize(
    ("field", "value", "fragment"),
    [
        ("birth_date", "3000-01-01", "futur"),
        ("birth_date", "14/03/1975", "date"),
        ("sex", "X", "valeur non autorisée"),
        ("birthplace_insee", "7505", "format"),
        ("first_names", "", "trop court"),
    ],
)
def test_invalid_identity_traits(api_as: Any, field: str, value: str, fragment: str) -> None:
    response = api_as("coordinatrice").post("/api/persons", json=person_body(**{field: value}))
    assert response.status_code == 422
    assert field in response.json()["detail"]
    assert fragment in response.json()["detail"]


def test_persons_and_families_cannot_register_persons(api_as: Any) -> None:
    response = api_as("usager").post("/api/persons", json=person_body())
    assert response.status_code == 403


def test_professional_rpps_and_structure_finess_are_checked(api_as: Any) -> None:
    coord = api_as("coordinatrice")
    bad = coord.post(
        "/api/professionals",
        json={"first_name": "A", "last_name": "B", "profession": "IDE", "rpps": "10002123450"},
    )
    assert bad.status_code == 422
    assert "RPPS" in bad.json()["detail"]
    bad = coord.post("/api/structures", json={"finess": "750712185", "name": "X"})
    assert bad.status_code == 422
    assert "clé FINESS invalide" in bad.json()["detail"]
    ok = coord.post("/api/structures", json={"finess": "750712184", "name": "Hôpital"})
    assert ok.status_code == 201
    assert (
        coord.post("/api/structures", json={"finess": "750712184", "name": "X"}).status_code == 409
    )


def test_only_admins_create_api_clients(api_as: Any) -> None:
    assert api_as("coordinatrice").post("/api/api-clients", json={"name": "DUI"}).status_code == 403
    response = api_as("admin").post("/api/api-clients", json={"name": "DUI test"})
    assert response.status_code == 201
    token = response.json()["token"]
    assert token.startswith("ppa_")
    me = api_as("anonymous").get("/api/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200
    assert me.json()["type"] == "api_client"


def test_empty_or_unknown_references_are_clear_errors(api_as: Any) -> None:
    coord = api_as("coordinatrice")
    body = {"first_name": "A", "last_name": "B", "profession": "IDE"}
    empty = coord.post("/api/professionals", json={**body, "structure_id": ""})
    assert empty.status_code == 422
    assert "structure_id" in empty.json()["detail"]
    unknown = coord.post("/api/professionals", json={**body, "structure_id": "nope"})
    assert unknown.status_code == 404
    assert unknown.json()["detail"] == "Structure introuvable."


def test_an_admission_before_the_birth_is_refused_on_update(api_as: Any) -> None:
    coord = api_as("coordinatrice")
    created = coord.post("/api/persons", json=person_body())
    assert created.status_code == 201, created.text
    person = created.json()
    born = date.fromisoformat(person["birth_date"])
    url = f"/api/persons/{person['id']}"
    refused = coord.patch(url, json={"admission_date": (born - timedelta(days=1)).isoformat()})
    assert refused.status_code == 422, refused.text
    body = refused.json()
    assert body["error"] == "InvalidInput"
    assert f"({born:%d/%m/%Y})" in body["detail"]
    assert [p["path"] for p in body["problems"]] == ["admission_date"]
    assert coord.get(url).json()["admission_date"] is None  # nothing written
    same_day = coord.patch(url, json={"admission_date": born.isoformat()})
    assert same_day.status_code == 200, same_day.text
    assert same_day.json()["admission_date"] == born.isoformat()
