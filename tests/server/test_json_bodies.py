"""The routes that read their JSON body by hand (JSON Merge Patch, TDDUI bundles) refuse a wrong
media type, a body that is not JSON and an oversized body with the one error shape, in French,
and write nothing."""

from __future__ import annotations

from typing import Any

import pytest

ROUTES = {
    "content patch": ("PATCH", "/api/ppas/{ppa_id}/content", "application/merge-patch+json"),
    "import": ("POST", "/api/persons/{person_id}/ppas/import", "application/fhir+json"),
    "fhir": ("POST", "/fhir", "application/fhir+json"),
}


def _send(api: Any, route: str, demo: dict[str, Any], body: bytes, media_type: str) -> Any:
    method, path, _ = ROUTES[route]
    url = path.format(ppa_id=demo["ppa_id"], person_id=demo["person_id"])
    return api.client.request(method, url, content=body, headers={"Content-Type": media_type})


def _problems(response: Any) -> list[str]:
    """The problems' messages, from the JSON error body or a FHIR OperationOutcome."""
    body = response.json()
    if body.get("resourceType") == "OperationOutcome":
        return [" ".join(str(v) for v in issue.values()) for issue in body["issue"]]
    return [f"{p['path']}: {p['message']}" for p in body["problems"]]


@pytest.mark.parametrize("route", ROUTES)
def test_a_wrong_media_type_is_refused_naming_the_expected_one(
    route: str, api_as: Any, demo: dict[str, Any]
) -> None:
    expected = ROUTES[route][2]
    before = api_as("coordinatrice").get(f"/api/ppas/{demo['ppa_id']}").json()["content"]
    response = _send(api_as("coordinatrice"), route, demo, b"{}", "text/plain")
    assert response.status_code == 422, response.text
    assert expected in response.text
    assert any("type de contenu non pris en charge" in p for p in _problems(response))
    after = api_as("coordinatrice").get(f"/api/ppas/{demo['ppa_id']}").json()["content"]
    assert after == before


@pytest.mark.parametrize("route", ROUTES)
def test_a_body_that_is_not_json_is_refused(route: str, api_as: Any, demo: dict[str, Any]) -> None:
    response = _send(api_as("coordinatrice"), route, demo, b'{"projet_de_vie": ', ROUTES[route][2])
    assert response.status_code == 422, response.text
    assert any("JSON invalide" in p for p in _problems(response))


def test_media_types_are_case_insensitive(api_as: Any, demo: dict[str, Any]) -> None:
    response = _send(api_as("coordinatrice"), "content patch", demo, b"{}", "Application/JSON")
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    ("route", "size"), [("content patch", 1024 * 1024 + 1), ("import", 3 << 20)]
)
def test_an_oversized_body_is_413(route: str, size: int, api_as: Any, demo: dict[str, Any]) -> None:
    body = b'{"x": "' + b"a" * size + b'"}'
    response = _send(api_as("coordinatrice"), route, demo, body, ROUTES[route][2])
    assert response.status_code == 413, response.text[:300]
    assert response.json()["error"] == "PayloadTooLarge"
    if route == "content patch":  # under the service-wide limit: the route's own
        assert "Patch trop volumineux" in response.json()["detail"]
