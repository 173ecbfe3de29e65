"""Timelines over the API (rule 6), with the server's versions clock moved back: the admission
date and the first PPA's 6-month deadline, the yearly review from the last full validation (an
avenant does not reset it), a PPA in force past its review flagged *échu* everywhere."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from exports.local_time import PARIS
from tests.conftest import LiveServer
from tests.factories import recent_start, valid_ppa
from tests.server.helpers import person_body
from tests.server.versions.conftest import Edit, clock_shifted, shifted_day
from tests.server.versions.helpers import COORD, new_ppa, validate
from versions.lifecycle import add_months


def _today() -> Any:
    return datetime.now(PARIS).date()


def test_admission_date_and_first_ppa_deadline(api_as: Any, demo: dict[str, Any]) -> None:
    coord = api_as(COORD)
    admission = add_months(_today(), -6) - timedelta(days=1)  # 6 months and a day ago
    response = coord.post("/api/persons", json=person_body(admission_date=admission.isoformat()))
    assert response.status_code == 201, response.text
    person = response.json()
    assert person["admission_date"] == admission.isoformat()
    assert person["first_ppa_deadline"] == add_months(admission, 6).isoformat()
    timeline = coord.get(f"/api/persons/{person['id']}/timeline").json()
    assert timeline["first_ppa"]["status"] == "en_retard"
    assert "6 mois après l'admission" in timeline["first_ppa"]["message"]
    assert (timeline["in_force"], timeline["gap"]) == (None, True)
    assert timeline["gap_reason"] == "Aucun PPA en vigueur pour cette personne."
    # recorded later by a coordinator, one day more recent: not late yet
    patched = coord.patch(
        f"/api/persons/{person['id']}",
        json={"admission_date": (admission + timedelta(days=1)).isoformat()},
    )
    assert patched.status_code == 200, patched.text
    timeline = coord.get(f"/api/persons/{person['id']}/timeline").json()
    assert (timeline["first_ppa"]["status"], timeline["gap"]) == ("a_faire", False)


def test_admission_before_birth_is_refused(api_as: Any) -> None:
    body = person_body(birth_date="1990-05-01", admission_date="1990-04-30")
    response = api_as(COORD).post("/api/persons", json=body)
    assert response.status_code == 422, response.text
    assert "date d'admission avant la date de naissance" in response.text


def test_a_ppa_past_its_review_is_echu_everywhere(
    api_as: Any, demo: dict[str, Any], live_server: LiveServer
) -> None:
    today = _today()
    # validated 400 days ago: its review (349 days after its start) passed 57 days ago
    content = valid_ppa(fresh_ids=True, start=recent_start(today - timedelta(days=400)))
    setup = new_ppa(api_as, demo, content, problems=1)  # today, its review would be past
    coord = api_as(COORD)
    with clock_shifted(live_server, days=400):
        assert validate(coord, setup.ppa_id).status_code == 201
    review = content.bilan.prochaine_revision
    assert review is not None
    reason = f"La révision était prévue au plus tard le {review:%d/%m/%Y}."
    person_id = setup.cercle.person_id
    listed = {p["id"]: p for p in coord.get(f"/api/persons/{person_id}/ppas").json()}
    assert (listed[setup.ppa_id]["echu"], listed[setup.ppa_id]["echu_reasons"][-1]) == (
        True,
        reason,
    )
    assert listed[setup.cercle.ppa_id]["echu"] is False  # a draft is never échu
    every = {p["id"]: p for p in coord.get("/api/ppas").json()}
    assert every[setup.ppa_id]["echu"] is True
    assert coord.get(f"/api/ppas/{setup.ppa_id}").json()["echu"] is True
    due = {r["ppa_id"]: r for r in coord.get("/api/ppas/review-due").json()}
    assert (due[setup.ppa_id]["echu"], due[setup.ppa_id]["review_status"]) == (True, "overdue")
    timeline = coord.get(f"/api/persons/{person_id}/timeline").json()
    assert timeline["in_force"]["echu"] is True
    assert timeline["gap"] is True
    assert timeline["gap_reason"].startswith("Le PPA en vigueur est échu")


def test_a_recent_ppa_is_not_echu_and_an_avenant_keeps_the_full_validation_day(
    api_as: Any, demo: dict[str, Any], edit: Edit, live_server: LiveServer
) -> None:
    full_day = shifted_day(200)
    setup = new_ppa(api_as, demo, valid_ppa(fresh_ids=True, start=recent_start(full_day)))
    coord = api_as(COORD)
    with clock_shifted(live_server, days=200):
        assert validate(coord, setup.ppa_id).status_code == 201
    assert coord.post(f"/api/ppas/{setup.ppa_id}/avenant").status_code == 200
    edit(setup.ppa_id, lambda c: setattr(c.actions[0], "description", "Nouvel horaire."))
    assert validate(coord, setup.ppa_id).status_code == 201  # the avenant, today
    timeline = coord.get(f"/api/persons/{setup.cercle.person_id}/timeline").json()
    in_force = timeline["in_force"]
    assert in_force["ppa_id"] == setup.ppa_id
    assert in_force["full_validated_on"] == full_day.isoformat()  # not the avenant's day
    assert in_force["next_review"] == setup.content.bilan.prochaine_revision.isoformat()  # type: ignore[union-attr]
    assert (in_force["echu"], timeline["gap"]) == (False, False)
    assert timeline["first_ppa"]["status"] == "inconnu"  # no admission date recorded
