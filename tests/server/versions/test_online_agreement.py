"""The person's own agreement given online (issue 17, point 8; rule 2 of docs/domain-rules.md):
by her (``signe``) or by her aidant on her behalf (``oral``, the aidant as witness), tied to the
draft she read, recorded with the version by her, on her day."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from editor.schema import PPAContent
from exports.local_time import PARIS
from tests.server.versions.conftest import Edit
from tests.server.versions.helpers import AUDITOR, CONTRIB, COORD, STRUCTURE_ACCORD, new_ppa

URL = "/api/ppas/{}/person-agreement"


def _me(api_as: Any, username: str) -> dict[str, Any]:
    me: dict[str, Any] = api_as(username).get("/api/auth/me").json()
    return me


def _validate_without_person(api: Any, ppa_id: str) -> Any:
    return api.post(f"/api/ppas/{ppa_id}/validate", json={"structure": STRUCTURE_ACCORD})


def test_the_person_agrees_online_and_it_is_recorded_with_the_version(
    api_as: Any, demo: dict[str, Any]
) -> None:
    setup = new_ppa(api_as, demo)
    person = api_as("usager")
    assert person.get(URL.format(setup.ppa_id)).json() == {"agreement": None}
    response = person.post(URL.format(setup.ppa_id), json={"accord": True})
    assert response.status_code == 201, response.text
    given = response.json()["agreement"]
    assert (given["mode"], given["accord"], given["on_behalf"], given["current"]) == (
        "signe",
        True,
        False,
        True,
    )
    assert given["par"].endswith("(en ligne)")
    # The team sees it before validating, then validates without recording it themselves.
    seen = api_as(COORD).get(URL.format(setup.ppa_id)).json()["agreement"]
    assert seen["current"] is True
    assert seen["given_by"] == _me(api_as, "usager")["id"]
    response = _validate_without_person(api_as(COORD), setup.ppa_id)
    assert response.status_code == 201, response.text
    [accord] = [a for a in response.json()["accords"] if a["type"] == "personne"]
    assert accord["mode"] == "signe"
    assert accord["par"] == given["par"]
    assert accord["recorded_by"] == _me(api_as, "usager")["id"]
    assert accord["date"] == datetime.now(PARIS).date().isoformat()
    number = response.json()["number"]
    # Shown with the version and in the history; used, it is no longer pending.
    version = person.get(f"/api/ppas/{setup.ppa_id}/versions/{number}").json()
    assert [a["par"] for a in version["accords"] if a["type"] == "personne"] == [given["par"]]
    history = api_as(AUDITOR).get(f"/api/ppas/{setup.ppa_id}/history").json()
    [entry] = [v for v in history["versions"] if v["number"] == number]
    assert any(a["recorded_by"] == accord["recorded_by"] for a in entry["accords"])
    assert person.get(URL.format(setup.ppa_id)).json() == {"agreement": None}
    # Validated: no more online answer on it.
    response = person.post(URL.format(setup.ppa_id), json={"accord": True})
    assert response.status_code == 409, response.text


def test_the_aidant_answers_on_her_behalf_and_it_shows(
    api_as: Any, demo: dict[str, Any], edit: Edit
) -> None:
    setup = new_ppa(api_as, demo)
    aidant = api_as("aidant")

    def her_words(content: PPAContent) -> None:
        content.projet_de_vie = "Elle veut vivre dans son appartement."

    edit(setup.ppa_id, her_words, as_="aidant", end_session=True)
    response = aidant.post(URL.format(setup.ppa_id), json={"accord": True})
    assert response.status_code == 201, response.text
    given = response.json()["agreement"]
    name = _me(api_as, "aidant")["display_name"]
    assert given["on_behalf"] is True
    assert given["mode"] == "oral"
    assert given["par"].startswith(f"{name} pour ")
    assert given["par"].endswith("(en ligne)")
    response = _validate_without_person(api_as(COORD), setup.ppa_id)
    assert response.status_code == 201, response.text
    [accord] = [a for a in response.json()["accords"] if a["type"] == "personne"]
    assert (accord["mode"], accord["par"]) == ("oral", given["par"])
    assert accord["temoin"].startswith(name)
    assert accord["recorded_by"] == _me(api_as, "aidant")["id"]
    # What the aidant wrote is shown as written for the person: "X pour Y".
    aidant_id = _me(api_as, "aidant")["id"]
    versions = aidant.get(f"/api/ppas/{setup.ppa_id}/versions").json()
    names = {n for v in versions for a, n in v["author_names"].items() if a == aidant_id}
    assert names == {given["par"].removesuffix(" (en ligne)")}


def test_a_refusal_needs_her_words_and_validates_as_refused(
    api_as: Any, demo: dict[str, Any]
) -> None:
    setup = new_ppa(api_as, demo)
    person = api_as("usager")
    response = person.post(URL.format(setup.ppa_id), json={"accord": False, "motif": " "})
    assert response.status_code == 422, response.text
    assert "pourquoi" in response.text
    response = person.post(
        URL.format(setup.ppa_id), json={"accord": False, "motif": "Je veux sortir seule."}
    )
    assert response.status_code == 201, response.text
    response = _validate_without_person(api_as(COORD), setup.ppa_id)
    assert response.status_code == 201, response.text
    [accord] = [a for a in response.json()["accords"] if a["type"] == "personne"]
    assert (accord["mode"], accord["motif"]) == ("refuse", "Je veux sortir seule.")


def test_a_changed_draft_asks_her_again(api_as: Any, demo: dict[str, Any], edit: Edit) -> None:
    setup = new_ppa(api_as, demo)
    person = api_as("usager")
    assert person.post(URL.format(setup.ppa_id), json={"accord": True}).status_code == 201

    def retitle(content: PPAContent) -> None:
        content.objectifs[0].titre = content.objectifs[0].titre + " (changé)"

    edit(setup.ppa_id, retitle)
    state = person.get(URL.format(setup.ppa_id)).json()["agreement"]
    assert state["current"] is False
    response = _validate_without_person(api_as(COORD), setup.ppa_id)
    assert response.status_code == 409, response.text
    assert {p["code"] for p in response.json()["problems"]} == {"missing_person_agreement"}
    # Asked again, she agrees with the new text: it validates.
    assert person.post(URL.format(setup.ppa_id), json={"accord": True}).status_code == 201
    assert _validate_without_person(api_as(COORD), setup.ppa_id).status_code == 201


def test_only_the_person_or_her_aidant_answers(api_as: Any, demo: dict[str, Any]) -> None:
    setup = new_ppa(api_as, demo)
    for username in (COORD, CONTRIB):
        response = api_as(username).post(URL.format(setup.ppa_id), json={"accord": True})
        assert response.status_code == 403, response.text
        assert "Seule la personne" in response.json()["detail"]
    response = api_as(AUDITOR).post(URL.format(setup.ppa_id), json={"accord": True})
    assert response.status_code == 403, response.text
    assert (
        api_as("anonymous").post(URL.format(setup.ppa_id), json={"accord": True}).status_code == 401
    )
    assert api_as(COORD).get(URL.format(setup.ppa_id)).json() == {"agreement": None}
