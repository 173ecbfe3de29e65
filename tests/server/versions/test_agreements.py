"""Rules 2 and 3 of docs/domain-rules.md at validation: the person's agreement is required (one
of four ways, a refusal recorded with its reason); a legal representative whose measure covers
the person must agree too, given by his cercle member id."""

from __future__ import annotations

from typing import Any

from tests.conftest import Api
from tests.server.versions.helpers import (
    COORD,
    PERSON_ACCORD,
    STRUCTURE_ACCORD,
    Setup,
    new_ppa,
    validate,
)


def _codes(response: Any) -> set[str]:
    return {p["code"] for p in response.json().get("problems", [])}


def _representative(api: Api, setup: Setup, **measure: str) -> str:
    """The aidant's account turned into the person's legal representative (his member id)."""
    person_id = setup.cercle.person_id
    members = api.get(f"/api/persons/{person_id}/cercle").json()
    aidant = next(m for m in members if m["kind"] == "aidant")
    response = api.delete(f"/api/persons/{person_id}/cercle/{aidant['id']}")
    assert response.status_code in (200, 204), response.text
    response = api.post(
        f"/api/persons/{person_id}/cercle",
        json={
            "kind": "legal_representative",
            "role": "aidant",
            "user_id": aidant["user_id"],
            **measure,
        },
    )
    assert response.status_code == 201, response.text
    assert response.json()["mesure"] == measure.get("mesure")
    member_id: str = response.json()["id"]
    return member_id


def test_the_person_agreement_is_required(api_as: Any, demo: dict[str, Any]) -> None:
    setup = new_ppa(api_as, demo)
    coord = api_as(COORD)
    response = coord.post(
        f"/api/ppas/{setup.ppa_id}/validate", json={"structure": STRUCTURE_ACCORD}
    )
    assert response.status_code == 409, response.text
    assert response.json()["error"] == "ValidationRefused"
    assert _codes(response) == {"missing_person_agreement"}
    assert "L'accord de la personne n'est pas indiqué" in response.json()["detail"]
    ppa = coord.get(f"/api/ppas/{setup.ppa_id}").json()
    assert (ppa["status"], ppa["locked"]) == ("draft", False)
    assert validate(coord, setup.ppa_id).status_code == 201


def test_a_refusal_is_recorded_with_its_reason(api_as: Any, demo: dict[str, Any]) -> None:
    setup = new_ppa(api_as, demo)
    refusal = {"mode": "refuse", "par": "Jean Paul Dupont", "motif": "Ne veut pas du suivi."}
    response = validate(api_as(COORD), setup.ppa_id, personne=refusal)
    assert response.status_code == 201, response.text
    [person] = [a for a in response.json()["accords"] if a["type"] == "personne"]
    assert (person["mode"], person["motif"]) == ("refuse", "Ne veut pas du suivi.")
    # a refusal without its reason is not an agreement given (422, the request is wrong)
    other = new_ppa(api_as, demo)
    response = validate(api_as(COORD), other.ppa_id, personne={"mode": "refuse", "par": "J"})
    assert response.status_code == 422, response.text


def test_a_legal_representative_holds_a_measure(api_as: Any, demo: dict[str, Any]) -> None:
    setup = new_ppa(api_as, demo)
    coord = api_as(COORD)
    members = coord.get(f"/api/persons/{setup.cercle.person_id}/cercle").json()
    aidant = next(m for m in members if m["kind"] == "aidant")
    coord.delete(f"/api/persons/{setup.cercle.person_id}/cercle/{aidant['id']}")
    url = f"/api/persons/{setup.cercle.person_id}/cercle"
    body = {"kind": "legal_representative", "role": "aidant", "user_id": aidant["user_id"]}
    response = coord.post(url, json=body)
    assert response.status_code == 422, response.text
    assert "mesure de protection" in response.text
    response = coord.post(url, json={**body, "kind": "aidant", "mesure": "tutelle"})
    assert response.status_code == 422, response.text
    response = coord.post(url, json={**body, "mesure": "tutelle", "mesure_portee": "personne"})
    assert response.status_code == 201, response.text
    assert (response.json()["mesure"], response.json()["mesure_portee"]) == (
        "tutelle",
        "personne",
    )


def test_a_measure_covering_the_person_requires_the_representative(
    api_as: Any, demo: dict[str, Any]
) -> None:
    setup = new_ppa(api_as, demo)
    coord = api_as(COORD)
    tuteur = _representative(coord, setup, mesure="tutelle", mesure_portee="personne_et_biens")
    response = validate(coord, setup.ppa_id)
    assert response.status_code == 409, response.text
    assert _codes(response) == {"missing_representative_agreement"}
    assert "tutelle" in response.json()["detail"]
    # someone else's member id is not a representative's
    someone = setup.cercle.members["infirmier"]
    response = validate(coord, setup.ppa_id, representant={"membre_id": someone, "mode": "signe"})
    assert response.status_code == 409, response.text
    assert _codes(response) == {"not_a_representative", "missing_representative_agreement"}
    response = validate(
        coord,
        setup.ppa_id,
        representant={"membre_id": tuteur, "mode": "oral", "temoin": "Claire Durand"},
    )
    assert response.status_code == 201, response.text
    [given] = [a for a in response.json()["accords"] if a["type"] == "representant"]
    assert (given["par"], given["mode"], given["temoin"]) == (tuteur, "oral", "Claire Durand")


def test_a_measure_over_property_alone_does_not(api_as: Any, demo: dict[str, Any]) -> None:
    setup = new_ppa(api_as, demo)
    coord = api_as(COORD)
    _representative(coord, setup, mesure="curatelle", mesure_portee="biens")
    assert validate(coord, setup.ppa_id).status_code == 201


def test_a_measure_of_unknown_scope_asks_for_the_agreement(
    api_as: Any, demo: dict[str, Any]
) -> None:
    setup = new_ppa(api_as, demo)
    coord = api_as(COORD)
    curateur = _representative(coord, setup, mesure="habilitation_familiale")
    assert _codes(validate(coord, setup.ppa_id)) == {"missing_representative_agreement"}
    refusal = {"membre_id": curateur, "mode": "refuse", "motif": "Désaccord sur le budget."}
    response = validate(coord, setup.ppa_id, representant=refusal)
    assert response.status_code == 201, response.text
    assert PERSON_ACCORD["mode"] == "signe"
