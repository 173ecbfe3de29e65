"""Avenants: opened from the validated version, they may change actions (modalités, planning,
prestations) and an objective's follow-up (status, opinion, due date), not add or remove an
objective nor change the besoins, nor stretch the period or the yearly review (rule 4); a
validated avenant is the new current version."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest

from editor.schema import Jour, PPAContent, StatutObjectif
from tests.conftest import LiveServer
from tests.factories import recent_start, valid_ppa
from tests.server.versions.conftest import (
    Edit,
    RecordingRooms,
    clock_shifted,
    live_content,
    shifted_day,
)
from tests.server.versions.helpers import CONTRIB, COORD, ESMS, Setup, new_ppa, validate
from versions.lifecycle import add_months


@contextlib.contextmanager
def live_check_off(live_server: LiveServer) -> Iterator[None]:
    """The live avenant check off (as for a change that reached the document another way: a
    restore, an older editor), to see the validation's own check."""
    scopes = live_server.app.state.collab.avenant_scopes
    scopes.enabled = False
    try:
        yield
    finally:
        scopes.enabled = True


def _validated(api_as: Any, demo: dict[str, Any]) -> Setup:
    setup = new_ppa(api_as, demo)
    assert validate(api_as(COORD), setup.ppa_id).status_code == 201
    return setup


def _open(api_as: Any, ppa_id: str) -> dict[str, Any]:
    response = api_as(COORD).post(f"/api/ppas/{ppa_id}/avenant")
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


def _move_workshop(content: PPAContent) -> None:
    action = next(a for a in content.actions if a.titre.startswith("Atelier cuisine"))
    assert action.planning is not None
    action.planning.jours = [Jour.JEUDI]
    action.planning.heure_debut = "14:00"
    action.prestations.append("2.3.2.1")


def test_open_avenant_unlocks_the_live_document_with_the_validated_content(
    api_as: Any, demo: dict[str, Any], edit: Edit, rooms: RecordingRooms
) -> None:
    setup = _validated(api_as, demo)
    assert setup.ppa_id in rooms.locked
    opened = _open(api_as, setup.ppa_id)
    assert (opened["status"], opened["locked"]) == ("avenant_draft", False)
    assert opened["base_version"]["kind"] == "validated"
    assert setup.ppa_id not in rooms.locked
    validated = api_as(COORD).get(f"/api/ppas/{setup.ppa_id}/versions/2").json()
    assert validated["kind"] == "validated"
    assert live_content(api_as(COORD), setup.ppa_id) == validated["content"]
    # Contributors edit again; only a coordinator opens avenants.
    assert api_as(CONTRIB).post(f"/api/ppas/{setup.ppa_id}/avenant").status_code == 403
    again = api_as(COORD).post(f"/api/ppas/{setup.ppa_id}/avenant")
    assert again.status_code == 409
    assert "avenant en cours" in again.json()["detail"]


def test_allowed_avenant_becomes_the_current_version(
    api_as: Any, demo: dict[str, Any], edit: Edit, rooms: RecordingRooms
) -> None:
    setup = _validated(api_as, demo)
    _open(api_as, setup.ppa_id)
    edit(setup.ppa_id, _move_workshop)
    response = validate(api_as(COORD), setup.ppa_id)
    assert response.status_code == 201, response.text
    avenant = response.json()
    assert avenant["kind"] == "avenant"
    assert avenant["label"] == "v2 - avenant n°1 à v1"
    assert avenant["avenant_number"] == 1
    assert avenant["series_rank"] == 2
    assert avenant["parent_number"] == 2  # the validated version it amends
    assert avenant["summary"].startswith("1 action modifiée (« Atelier cuisine")
    assert [a["type"] for a in avenant["accords"]] == ["structure", "personne"]
    assert setup.ppa_id in rooms.locked
    ppa = api_as(COORD).get(f"/api/ppas/{setup.ppa_id}").json()
    assert (ppa["status"], ppa["locked"]) == ("validated", True)
    # A checkpoint of the avenant draft precedes it; ESMS software sees validated versions only.
    versions = api_as(COORD).get(f"/api/ppas/{setup.ppa_id}/versions").json()
    assert [v["kind"] for v in versions] == ["checkpoint", "validated", "checkpoint", "avenant"]
    esms = api_as(ESMS).get(f"/api/ppas/{setup.ppa_id}/versions").json()
    assert [v["label"] for v in esms] == ["v1 - version validée", "v2 - avenant n°1 à v1"]
    # A second avenant is n°2, amending the avenant.
    _open(api_as, setup.ppa_id)
    edit(setup.ppa_id, lambda c: setattr(c.actions[0], "description", "Autre."))
    second = validate(api_as(COORD), setup.ppa_id).json()
    assert second["label"] == "v3 - avenant n°2 à v2"


def _drop_last_objective(content: PPAContent) -> None:
    dropped = content.objectifs.pop()
    for action in content.actions:
        action.objectif_ids = [o for o in action.objectif_ids if o != dropped.id]
    content.actions = [a for a in content.actions if a.objectif_ids]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda c: setattr(c.objectifs[0], "titre", "Un autre objectif"), "a été modifié"),
        (lambda c: _drop_last_objective(c), "a été supprimé"),
        (lambda c: setattr(c.besoins[1], "code", "1.3.2.1"), "code SERAFIN-PH"),
        (lambda c: c.besoins.append(c.besoins[0].model_copy(update={"id": "b-new"})), "Ajout"),
    ],
)
def test_avenant_touching_objectives_or_besoins_is_refused(
    api_as: Any,
    demo: dict[str, Any],
    edit: Edit,
    rooms: RecordingRooms,
    live_server: LiveServer,
    change: Any,
    expected: str,
) -> None:
    setup = _validated(api_as, demo)
    _open(api_as, setup.ppa_id)
    edit(setup.ppa_id, _move_workshop)  # allowed on its own
    with live_check_off(live_server):
        edit(setup.ppa_id, change, end_session=True)  # its checkpoint is in "before"
    before = api_as(COORD).get(f"/api/ppas/{setup.ppa_id}/versions").json()
    response = validate(api_as(COORD), setup.ppa_id)
    if response.json()["error"] == "ValidationRefused":
        pytest.fail(f"the change made the content invalid: {response.text}")
    assert response.status_code == 422, response.text
    payload = response.json()
    assert payload["error"] == "AvenantRefused"
    assert "ajouter ou supprimer un objectif, ni changer les besoins" in payload["detail"]
    assert "nouveau PPA" in payload["detail"]
    assert payload["revision_url"] == f"/api/ppas/{setup.ppa_id}/revisions"
    assert len(payload["problems"]) == 1, payload["problems"]
    assert expected in payload["problems"][0]["message"]
    assert payload["problems"][0]["path"].split("/")[0] in ("objectifs", "besoins")
    # Nothing recorded, the avenant stays open and editable.
    assert api_as(COORD).get(f"/api/ppas/{setup.ppa_id}/versions").json() == before
    ppa = api_as(COORD).get(f"/api/ppas/{setup.ppa_id}").json()
    assert (ppa["status"], ppa["locked"]) == ("avenant_draft", False)
    assert setup.ppa_id not in rooms.locked


def test_pending_avenant_names_what_abandoning_takes_out_and_who_wrote_it(
    api_as: Any, demo: dict[str, Any], edit: Edit
) -> None:
    setup = _validated(api_as, demo)
    refused = api_as(COORD).get(f"/api/ppas/{setup.ppa_id}/avenant/pending")
    assert refused.status_code == 409
    assert "Aucun avenant" in refused.json()["detail"]
    _open(api_as, setup.ppa_id)
    empty = api_as(COORD).get(f"/api/ppas/{setup.ppa_id}/avenant/pending")
    assert empty.status_code == 200, empty.text
    assert empty.json()["items"] == []
    edit(setup.ppa_id, _move_workshop)
    pending = api_as(COORD).get(f"/api/ppas/{setup.ppa_id}/avenant/pending").json()
    assert pending["base_version"]["kind"] == "validated"
    (item,) = pending["items"]
    assert item["section"] == "actions"
    assert item["title"].startswith("Atelier cuisine")
    assert [a["name"] for a in item["authors"]] == ["Karim Benali"]
    assert "modifiée" in pending["summary"]
    assert api_as(CONTRIB).get(f"/api/ppas/{setup.ppa_id}/avenant/pending").status_code == 403


def test_abandon_avenant_keeps_the_draft_and_restores_the_validated_content(
    api_as: Any, demo: dict[str, Any], edit: Edit, rooms: RecordingRooms
) -> None:
    setup = _validated(api_as, demo)
    _open(api_as, setup.ppa_id)
    edit(setup.ppa_id, _move_workshop)
    response = api_as(COORD).post(f"/api/ppas/{setup.ppa_id}/avenant/abandon")
    assert response.status_code == 200, response.text
    assert (response.json()["status"], response.json()["locked"]) == ("validated", True)
    assert setup.ppa_id in rooms.locked
    versions = api_as(COORD).get(f"/api/ppas/{setup.ppa_id}/versions").json()
    assert versions[-1]["label"] == "Avenant abandonné (brouillon conservé)"
    draft = api_as(COORD).get(f"/api/ppas/{setup.ppa_id}/versions/{versions[-1]['number']}")
    workshop = next(
        a for a in draft.json()["content"]["actions"] if a["titre"].startswith("Atelier cuisine")
    )
    assert workshop["planning"]["jours"] == ["TH"]
    validated = api_as(COORD).get(f"/api/ppas/{setup.ppa_id}/versions/2").json()
    assert validated["kind"] == "validated"
    assert live_content(api_as(COORD), setup.ppa_id) == validated["content"]


def _follow_up(content: PPAContent) -> None:
    objectif = content.objectifs[0]
    objectif.statut = StatutObjectif.TERMINE
    objectif.avis_usager = "Je fais mon contrôle du soir seule."
    assert objectif.date_echeance is not None
    content.objectifs[1].date_echeance = objectif.date_echeance - timedelta(days=10)


def test_avenant_may_update_an_objectives_follow_up(
    api_as: Any, demo: dict[str, Any], edit: Edit
) -> None:
    """Rule 4: the mid-year follow-up of an objective goes through an avenant."""
    setup = _validated(api_as, demo)
    _open(api_as, setup.ppa_id)
    edit(setup.ppa_id, _follow_up)
    response = validate(api_as(COORD), setup.ppa_id)
    assert response.status_code == 201, response.text
    assert response.json()["kind"] == "avenant"
    assert response.json()["content"]["objectifs"][0]["statut"] == "termine"


def _set_review(day: date) -> Any:
    return lambda c: setattr(c.bilan, "prochaine_revision", day)


def test_an_avenant_does_not_reset_the_yearly_review(
    api_as: Any, demo: dict[str, Any], edit: Edit, live_server: LiveServer
) -> None:
    """Rule 4/6, controlled clock: validated 200 days ago, the review stays within 12 months of
    that validation through every avenant (validated today), not 12 months from the avenant."""
    full_day = shifted_day(200)
    setup = new_ppa(api_as, demo, valid_ppa(fresh_ids=True, start=recent_start(full_day)))
    coord = api_as(COORD)
    with clock_shifted(live_server, days=200):
        assert validate(coord, setup.ppa_id).status_code == 201
    limit = add_months(full_day, 12)
    for avenant in (1, 2):
        _open(api_as, setup.ppa_id)
        # within 12 months of today (the avenant's day), not of the full validation: refused
        with live_check_off(live_server):
            edit(setup.ppa_id, _set_review(limit + timedelta(days=1)))
        response = validate(coord, setup.ppa_id)
        assert response.status_code == 422, response.text
        assert response.json()["error"] == "AvenantRefused"
        [problem] = response.json()["problems"]
        assert problem["path"] == "bilan/prochaine_revision"
        assert f"dernière validation complète du {full_day:%d/%m/%Y}" in problem["message"]
        edit(setup.ppa_id, _set_review(limit - timedelta(days=avenant - 1)))
        response = validate(coord, setup.ppa_id)
        assert response.status_code == 201, response.text
        assert response.json()["avenant_number"] == avenant
        assert response.json()["next_review"] == (limit - timedelta(days=avenant - 1)).isoformat()


def test_avenant_may_not_stretch_the_period(
    api_as: Any, demo: dict[str, Any], edit: Edit, live_server: LiveServer
) -> None:
    setup = _validated(api_as, demo)
    _open(api_as, setup.ppa_id)
    start = setup.content.projet.date_debut
    assert start is not None
    end = add_months(start, 12) + timedelta(1)
    with live_check_off(live_server):
        edit(setup.ppa_id, lambda c: setattr(c.projet, "date_fin", end))
    response = validate(api_as(COORD), setup.ppa_id)
    assert response.status_code == 422, response.text
    [problem] = response.json()["problems"]
    assert problem["path"] == "projet/date_fin"
    assert "au-delà de 12 mois après son début" in problem["message"]
