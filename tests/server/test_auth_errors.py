from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import LiveServer


def test_login_with_wrong_password(live_server: LiveServer, demo: dict[str, Any]) -> None:
    response = httpx.post(
        f"{live_server.url}/api/auth/token", data={"username": "coordinatrice", "password": "x"}
    )
    assert response.status_code == 401
    assert response.json() == {
        "error": "Unauthenticated",
        "detail": "Identifiant ou mot de passe incorrect, ou compte désactivé.",
    }


def test_unknown_user_same_answer(live_server: LiveServer) -> None:
    response = httpx.post(
        f"{live_server.url}/api/auth/token", data={"username": "nobody", "password": "x"}
    )
    assert response.status_code == 401
    assert (
        response.json()["detail"] == "Identifiant ou mot de passe incorrect, ou compte désactivé."
    )


def test_missing_and_forged_tokens(api_as: Any) -> None:
    anonymous = api_as("anonymous")
    assert anonymous.get("/api/persons").status_code == 401
    forged = anonymous.get("/api/persons", headers={"Authorization": "Bearer abc.def.ghi"})
    assert forged.status_code == 401
    assert forged.json()["error"] == "Unauthenticated"
    fake_api = anonymous.get("/api/persons", headers={"Authorization": "Bearer ppa_demo_x"})
    assert fake_api.status_code == 401


def test_errors_are_json_without_stack_traces(api_as: Any) -> None:
    coord = api_as("coordinatrice")
    not_found = coord.get("/api/nowhere")
    assert not_found.status_code == 404
    assert not_found.json()["error"] == "NotFound"
    bad_json = coord.post(
        "/api/persons", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert bad_json.status_code == 422
    assert "Traceback" not in bad_json.text
    method = coord.client.request("DELETE", "/api/persons")
    assert method.status_code == 405
    assert method.json()["error"] == "MethodNotAllowed"


def test_unknown_fields_are_refused(api_as: Any) -> None:
    response = api_as("coordinatrice").post(
        "/api/structures", json={"finess": "750712184", "name": "X", "evil": 1}
    )
    assert response.status_code == 422
    assert "champ inconnu" in response.json()["detail"]


def test_openapi_is_served(live_server: LiveServer) -> None:
    response = httpx.get(f"{live_server.url}/openapi.json")
    assert response.status_code == 200
    assert "/api/ppas/{ppa_id}" in response.json()["paths"]
