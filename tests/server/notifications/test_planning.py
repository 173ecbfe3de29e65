"""``agenda.planning_changed``: a new version that changes an action's planning tells the members
the action concerns (référent, intervenants), and them only; its link is the diff."""

from __future__ import annotations

from typing import Any

from tests.server.exports_api.support import COORD, new_validated, write_live_content
from tests.server.notifications.test_emission import notices_about

NATURE = "agenda.planning_changed"


def _planning_notices(api: Any, person_id: str, number: int) -> list[dict[str, Any]]:
    return [
        n for n in notices_about(api, person_id) if n["nature"] == NATURE and n["version"] == number
    ]


def test_planning_change_told_to_the_actions_people_only(
    api_as: Any, demo: dict[str, Any], settings: Any
) -> None:
    v = new_validated(api_as, demo)
    coord = api_as(COORD)
    pro = {
        name: api_as(name).get("/api/auth/me").json()["professional_id"]
        for name in (COORD, "infirmier")
    }
    assert all(pro.values())
    assert coord.post(f"/api/ppas/{v.ppa_id}/avenant").status_code in (200, 201)

    # 1. the nurse becomes the only intervenant of one action (a planning change)
    content = v.content.model_copy(deep=True)
    action = next(a for a in content.actions if a.planning is not None)
    action.referent_id = pro[COORD]
    action.intervenant_ids = [pro["infirmier"]]
    write_live_content(settings, v.ppa_id, content)
    first = coord.post(f"/api/ppas/{v.ppa_id}/versions", json={"label": "Intervenants"})
    assert first.status_code == 201, first.text

    # 2. only its time changes: the nurse is told, not the other contributor, nor the person
    assert action.planning is not None
    action.planning.heure_debut = "07:30" if action.planning.heure_debut != "07:30" else "08:15"
    write_live_content(settings, v.ppa_id, content)
    second = coord.post(f"/api/ppas/{v.ppa_id}/versions", json={"label": "Horaire"})
    assert second.status_code == 201, second.text
    number = second.json()["number"]

    (told,) = _planning_notices(api_as("infirmier"), v.person_id, number)
    assert told["label"] == "Le planning d'une action qui me concerne a changé"
    assert told["link"] == f"#/ppa/{v.ppa_id}/diff/{number - 1}/{number}"
    for other in ("ergotherapeute", "assistante-sociale", "usager", "aidant", COORD):
        assert _planning_notices(api_as(other), v.person_id, number) == [], other

    # 3. a version that changes no planning tells no one
    content.projet.modalite_communication = "Par écrit, en phrases courtes."
    write_live_content(settings, v.ppa_id, content)
    third = coord.post(f"/api/ppas/{v.ppa_id}/versions", json={"label": "Attentes"})
    assert third.status_code == 201, third.text
    assert _planning_notices(api_as("infirmier"), v.person_id, third.json()["number"]) == []
