from __future__ import annotations

from typing import Any

from editor.schema import PPAContent
from tests.server.helpers import build_cercle, person_body


def test_demo_ppa_is_valid_with_serafin_codes_and_labels(api_as: Any, demo: dict[str, Any]) -> None:
    response = api_as("coordinatrice").get(f"/api/ppas/{demo['ppa_id']}")
    assert response.status_code == 200, response.text
    data = response.json()
    content = PPAContent.model_validate(data["content"])
    assert data["problems"] == []
    assert len(content.objectifs) >= 4
    assert len(content.actions) >= 6
    codes = {b.code for b in content.besoins} | {c for a in content.actions for c in a.prestations}
    assert "1.3.2.2" in codes
    assert data["serafin"]["1.3.2.2"] == "Besoins pour accomplir les activités domestiques"
    assert set(data["serafin"]) == codes
    assert data["status"] == "draft"
    assert data["person_id"] == demo["person_id"]


def test_create_from_scratch_then_read(api_as: Any, demo: dict[str, Any]) -> None:
    cercle = build_cercle(api_as, demo)
    data = api_as("infirmier").get(f"/api/ppas/{cercle.ppa_id}").json()
    assert data["content"]["projet"]["titre"] == "PPA test"
    assert data["content"]["objectifs"] == []


def test_create_with_content_reports_every_problem(api_as: Any, demo: dict[str, Any]) -> None:
    cercle = build_cercle(api_as, demo)
    content = {
        "besoins": [{"id": "b1", "code": "2.3.2.1"}],
        "objectifs": [
            {"id": "o1", "titre": "Sans besoin"},
            {"id": "o2", "titre": "Deux besoins", "besoin_ids": ["b1", "b2"]},
        ],
        "actions": [
            {
                "id": "a1",
                "titre": "Orpheline",
                "objectif_ids": ["inconnu"],
                "prestations": ["1.3.2.1"],
                "date_debut": "2027-02-01",
                "date_fin": "2027-01-01",
            }
        ],
    }
    response = api_as("coordinatrice").post(
        f"/api/persons/{cercle.person_id}/ppas",
        json={"title": "Avec problèmes", "content": content},
    )
    assert response.status_code == 201, response.text
    problems = response.json()["problems"]
    assert len(problems) >= 5
    for problem in problems:
        assert problem["path"]
        assert problem["code"]
        assert problem["message"]
    paths = " ".join(p["path"] for p in problems)
    assert "objectifs" in paths
    assert "actions" in paths
    assert "besoins" in paths


def test_create_from_previous_copies_content_without_accords(
    api_as: Any, demo: dict[str, Any]
) -> None:
    coord = api_as("coordinatrice")
    response = coord.post(f"/api/persons/{demo['person_id']}/ppas", json={"from_previous": True})
    assert response.status_code == 201, response.text
    new = response.json()
    assert new["previous_ppa_id"] is not None
    previous = coord.get(f"/api/ppas/{new['previous_ppa_id']}").json()
    assert new["content"]["objectifs"] == previous["content"]["objectifs"]
    assert new["content"]["actions"] == previous["content"]["actions"]
    assert new["content"]["accords"] == []
    listed = coord.get(f"/api/persons/{demo['person_id']}/ppas").json()
    assert {new["id"], previous["id"]} <= {p["id"] for p in listed}


def test_from_previous_without_any_ppa_is_a_clear_error(api_as: Any) -> None:
    coord = api_as("coordinatrice")
    person = coord.post("/api/persons", json=person_body()).json()
    response = coord.post(f"/api/persons/{person['id']}/ppas", json={"from_previous": True})
    assert response.status_code == 409
    assert response.json()["error"] == "Conflict"
    assert "pas encore de PPA" in response.json()["detail"]


def test_invalid_content_shape_is_refused_and_nothing_written(
    api_as: Any, demo: dict[str, Any]
) -> None:
    cercle = build_cercle(api_as, demo)
    coord = api_as("coordinatrice")
    before = coord.get(f"/api/persons/{cercle.person_id}/ppas").json()
    response = coord.post(
        f"/api/persons/{cercle.person_id}/ppas",
        json={"content": {"objectifs": [{"id": "o1", "date_debut": "pas une date"}]}},
    )
    assert response.status_code == 422
    assert "objectifs" in response.json()["detail"]
    after = coord.get(f"/api/persons/{cercle.person_id}/ppas").json()
    assert before == after


def test_unknown_ppa_is_404(api_as: Any) -> None:
    response = api_as("coordinatrice").get("/api/ppas/00000000-0000-0000-0000-000000000000")
    assert response.status_code == 404
    assert response.json()["error"] == "NotFound"
