"""Revisions start from the last validated version; validating one supersedes the old PPA.
Every validated version carries its next review date; review-due lists what the caller reads."""

from __future__ import annotations

import datetime as dt
from typing import Any

from editor.schema import PPAContent
from exports.local_time import PARIS
from tests.conftest import LiveServer
from tests.factories import recent_start, valid_ppa
from tests.server.versions.conftest import Edit, RecordingRooms, clock_shifted
from tests.server.versions.helpers import (
    AUDITOR,
    CONTRIB,
    COORD,
    ESMS,
    new_ppa,
    validate,
)


def _validated_with_avenant_draft(api_as: Any, demo: dict[str, Any], edit: Edit) -> str:
    setup = new_ppa(api_as, demo)
    assert validate(api_as(COORD), setup.ppa_id).status_code == 201
    assert api_as(COORD).post(f"/api/ppas/{setup.ppa_id}/avenant").status_code == 200
    edit(setup.ppa_id, lambda c: setattr(c.actions[0], "titre", "En avenant"))
    return setup.ppa_id


def _plan(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Items without their follow-up (status, the person's opinion, last year's trial)."""
    follow_up = ("statut", "avis_usager", "date_fin_essai", "decision_essai")
    return [{k: v for k, v in i.items() if k not in follow_up} for i in items]


def test_revision_starts_from_the_last_validated_version(
    api_as: Any, demo: dict[str, Any], edit: Edit, rooms: RecordingRooms
) -> None:
    ppa_id = _validated_with_avenant_draft(api_as, demo, edit)
    response = api_as(CONTRIB).post(f"/api/ppas/{ppa_id}/revisions")
    assert response.status_code == 201, response.text
    created = response.json()
    version = created["version"]
    assert (version["number"], version["kind"]) == (1, "revision")
    assert version["based_on"] == {"ppa_id": ppa_id, "number": 2}
    revision = api_as(COORD).get(f"/api/ppas/{created['ppa_id']}").json()
    validated = api_as(COORD).get(f"/api/ppas/{ppa_id}/versions/2").json()["content"]
    assert revision["previous_ppa_id"] == ppa_id
    # not the avenant draft; last year's follow-up is not carried as current (rule 6)
    assert _plan(revision["content"]["actions"]) == _plan(validated["actions"])
    assert _plan(revision["content"]["objectifs"]) == _plan(validated["objectifs"])
    for item in [*revision["content"]["actions"], *revision["content"]["objectifs"]]:
        assert (item["statut"], item["avis_usager"]) == ("en_preparation", "")
    assert any(o["avis_usager"] for o in validated["objectifs"])
    assert revision["content"]["bilan"]["notes_preparation"] == ""
    assert revision["content"]["accords"] == []
    assert revision["content"]["projet"]["date_debut"] is None
    assert revision["content"]["bilan"]["prochaine_revision"] is None

    # The foundation's route (previous_ppa_id) starts from the validated version as well.
    person_id = revision["person_id"]
    other = api_as(COORD).post(f"/api/persons/{person_id}/ppas", json={"previous_ppa_id": ppa_id})
    assert other.status_code == 201, other.text
    assert _plan(other.json()["content"]["actions"]) == _plan(validated["actions"])

    # Validating the revision supersedes the old PPA (its avenant draft is dropped, locked),
    # once its period and next review are set again (a revision starts without them).
    def new_period(c: PPAContent) -> None:
        c.projet.date_debut = dt.date.fromisoformat(validated["projet"]["date_debut"])
        c.projet.date_fin = dt.date.fromisoformat(validated["projet"]["date_fin"])
        c.bilan.prochaine_revision = dt.date.fromisoformat(validated["bilan"]["prochaine_revision"])

    edit(created["ppa_id"], new_period)
    response = validate(api_as(COORD), created["ppa_id"])
    assert response.status_code == 201, response.text
    old = api_as(COORD).get(f"/api/ppas/{ppa_id}").json()
    assert (old["status"], old["locked"]) == ("superseded", True)
    assert ppa_id in rooms.locked
    refused = api_as(COORD).post(f"/api/ppas/{ppa_id}/avenant")
    assert refused.status_code == 409
    assert "remplacé" in refused.json()["detail"]


def test_revision_needs_a_validated_version(api_as: Any, demo: dict[str, Any]) -> None:
    setup = new_ppa(api_as, demo)
    response = api_as(CONTRIB).post(f"/api/ppas/{setup.ppa_id}/revisions")
    assert response.status_code == 409
    assert "pas encore de version validée" in response.json()["detail"]


def _with_review(day: dt.date | None) -> PPAContent:
    content = valid_ppa(fresh_ids=True, start=recent_start())
    content.bilan.date_evaluation = None
    content.bilan.prochaine_revision = day
    return content


def test_review_due_lists_due_and_overdue_ppas(
    api_as: Any, demo: dict[str, Any], live_server: LiveServer
) -> None:
    today = dt.datetime.now(PARIS).date()
    due = new_ppa(api_as, demo, _with_review(today + dt.timedelta(days=10)))
    later = new_ppa(api_as, demo, _with_review(today + dt.timedelta(days=200)))
    # A review date already past is a problem for today (and refused at validation): the
    # overdue PPA was validated earlier, the draft never was.
    overdue = new_ppa(api_as, demo, _with_review(today - dt.timedelta(days=3)), problems=1)
    draft = new_ppa(api_as, demo, _with_review(today - dt.timedelta(days=30)), problems=1)
    with clock_shifted(live_server, days=300):
        assert validate(api_as(COORD), overdue.ppa_id).status_code == 201
    for setup in (due, later):
        assert validate(api_as(COORD), setup.ppa_id).status_code == 201

    def listed(username: str, within: int) -> dict[str, dict[str, Any]]:
        response = api_as(username).get("/api/ppas/review-due", params={"within_days": within})
        assert response.status_code == 200, response.text
        return {item["ppa_id"]: item for item in response.json()}

    found = listed(COORD, 30)
    assert found[overdue.ppa_id]["review_status"] == "overdue"
    assert found[overdue.ppa_id]["days_left"] == -3
    assert found[due.ppa_id]["review_status"] == "due"
    assert found[due.ppa_id]["version_label"] == "v1 - version validée"
    assert later.ppa_id not in found
    assert draft.ppa_id not in found  # never validated
    year = listed(COORD, 400)
    assert year[later.ppa_id]["review_status"] == "due"
    # (a review date is required at validation since issue 19: no "12 months after" default)
    assert year[later.ppa_id]["next_review"] == (today + dt.timedelta(days=200)).isoformat()
    # Whoever may read validated versions sees them; outsiders see nothing.
    assert overdue.ppa_id in listed(ESMS, 30)
    assert overdue.ppa_id in listed(AUDITOR, 30)
    assert overdue.ppa_id not in listed("admin", 30)
    # Due dates come from the bilan, or 12 months after validation.
    version = api_as(COORD).get(f"/api/ppas/{due.ppa_id}/versions/2").json()
    assert version["next_review"] == (today + dt.timedelta(days=10)).isoformat()
    bad = api_as(COORD).get("/api/ppas/review-due", params={"within_days": -1})
    assert bad.status_code == 422
