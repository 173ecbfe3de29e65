from __future__ import annotations

from typing import Any


def test_search_logement_finds_besoin_and_prestation(api_as: Any) -> None:
    response = api_as("infirmier").get("/api/terminology/serafin", params={"q": "logement"})
    assert response.status_code == 200
    codes = [c["code"] for c in response.json()]
    assert "1.3.2.1" in codes
    assert "2.3.2.1" in codes


def test_search_is_accent_and_case_insensitive(api_as: Any) -> None:
    plain = api_as("infirmier").get("/api/terminology/serafin", params={"q": "SECURITE"}).json()
    accented = api_as("infirmier").get("/api/terminology/serafin", params={"q": "sécurité"}).json()
    assert plain == accented
    assert any(c["code"] == "1.2.1.4" for c in plain)


def test_search_by_code_prefix_and_kind(api_as: Any) -> None:
    found = api_as("infirmier").get(
        "/api/terminology/serafin", params={"q": "2.3.2", "kind": "prestation_directe"}
    )
    assert [c["code"] for c in found.json()] == ["2.3.2", "2.3.2.1", "2.3.2.2"]


def test_deprecated_hidden_unless_asked(api_as: Any) -> None:
    api = api_as("infirmier")
    hidden = api.get("/api/terminology/serafin", params={"q": "2.4"}).json()
    assert [c["code"] for c in hidden] == ["2.4"]
    shown = api.get(
        "/api/terminology/serafin", params={"q": "2.4", "include_deprecated": True}
    ).json()
    assert {c["code"]: c["deprecated"] for c in shown} == {"2.4": False, "2.4.1": True}


def test_tree_and_single_code(api_as: Any) -> None:
    api = api_as("infirmier")
    tree = api.get("/api/terminology/serafin/tree", params={"kind": "besoin"}).json()
    assert [root["code"] for root in tree] == ["1"]
    assert [child["code"] for child in tree[0]["children"]] == ["1.1", "1.2", "1.3"]
    one = api.get("/api/terminology/serafin/1.3.2.1").json()
    assert one["label"] == "Besoins pour vivre dans un logement"
    assert one["kind"] == "besoin"
    missing = api.get("/api/terminology/serafin/9.9")
    assert missing.status_code == 404
    assert "9.9" in missing.json()["detail"]


def test_terminology_requires_login(api_as: Any) -> None:
    assert api_as("anonymous").get("/api/terminology/serafin?q=logement").status_code == 401


def test_bad_kind_is_422(api_as: Any) -> None:
    response = api_as("infirmier").get(
        "/api/terminology/serafin", params={"q": "x", "kind": "autre"}
    )
    assert response.status_code == 422
    assert "kind" in response.json()["detail"]
