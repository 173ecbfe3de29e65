"""Diff between any two versions: items added / removed / changed, coded fields with their
SERAFIN-PH labels, word-level text, and who changed what."""

from __future__ import annotations

from typing import Any

import pytest

from editor.schema import Action, PPAContent
from tests.conftest import LiveServer
from tests.server.versions.helpers import CONTRIB, CONTRIB2, COORD, ESMS, Setup, new_ppa, save
from tests.server.versions.live import edit_over_websocket


def _item(diff: dict[str, Any], section: str, title_start: str) -> dict[str, Any]:
    found = [
        i for i in diff["items"] if i["section"] == section and i["title"].startswith(title_start)
    ]
    assert len(found) == 1, [(i["section"], i["title"]) for i in diff["items"]]
    item: dict[str, Any] = found[0]
    return item


def _field(item: dict[str, Any], name: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = [f for f in item["fields"] if f["field"] == name]
    assert len(found) == 1
    return found[0]


def _authors(change: dict[str, Any]) -> list[str]:
    return [a["name"] for a in change["authors"]]


def _first_edits(content: PPAContent) -> None:
    sante = next(a for a in content.actions if a.titre == "Point santé hebdomadaire")
    assert sante.planning is not None
    sante.planning.lieu = "Cabinet infirmier du foyer"
    sante.prestations.append("2.1.1.1")
    objectif = content.objectifs[0]
    objectif.titre = "Gérer seule son traitement du soir"


def _second_edits(content: PPAContent) -> None:
    content.actions = [a for a in content.actions if a.titre != "Gestion du budget courses"]
    content.actions.append(
        Action(
            id="action-piscine",
            titre="Piscine le samedi",
            objectif_ids=[content.objectifs[2].id],
            prestations=["2.3.4.2"],
        )
    )
    content.besoins[1].analyse = "Compétences domestiques en net progrès."


@pytest.fixture(scope="module")
def history(api_as: Any, demo: dict[str, Any], live_server: LiveServer) -> Setup:
    def edit(ppa_id: str, mutate: Any, as_: str) -> None:
        token = api_as(as_).token
        assert token is not None
        edit_over_websocket(live_server.ws_url, ppa_id, token, mutate)

    setup = new_ppa(api_as, demo)
    save(api_as(CONTRIB), setup.ppa_id, "Premier jet")
    edit(setup.ppa_id, _first_edits, CONTRIB)
    save(api_as(CONTRIB), setup.ppa_id, "Santé revue par l'infirmier")
    edit(setup.ppa_id, _second_edits, CONTRIB2)
    save(api_as(CONTRIB2), setup.ppa_id, "Logement revu par l'ergothérapeute")
    return setup


def test_diff_across_two_versions_with_authors(history: Setup, api_as: Any) -> None:
    response = api_as(COORD).get(f"/api/ppas/{history.ppa_id}/diff", params={"from": 1, "to": 3})
    assert response.status_code == 200, response.text
    diff = response.json()
    assert (diff["from_version"]["number"], diff["to_version"]["number"]) == (1, 3)
    nurse, ergo = "Karim Benali", "Julien Moreau"

    objectif = _item(diff, "objectifs", "Gérer seule")
    assert objectif["kind"] == "changed"
    titre = _field(objectif, "titre")
    assert titre["kind"] == "text"
    assert titre["old"] == "Gérer son traitement du soir en autonomie"
    old = "".join(s["text"] for s in titre["segments"] if s["op"] != "insert")
    new = "".join(s["text"] for s in titre["segments"] if s["op"] != "delete")
    assert (old, new) == (titre["old"], titre["new"])
    assert {"op": "insert", "text": " seule"} in titre["segments"]
    assert {"op": "delete", "text": " en autonomie"} in titre["segments"]
    assert _authors(titre) == [nurse]
    assert _authors(objectif) == [nurse]

    sante = _item(diff, "actions", "Point santé")
    lieu = _field(sante, "planning.lieu")
    assert lieu["path"].endswith("/planning/lieu")
    assert (lieu["old"], lieu["new"]) == ("Infirmerie du foyer", "Cabinet infirmier du foyer")
    prestations = _field(sante, "prestations")
    assert prestations["kind"] == "codes"
    assert prestations["new"] == ["2.1.1.2", "2.1.1.1"]
    assert prestations["new_labels"][1].startswith("2.1.1.1 - ")
    assert _authors(prestations) == [nurse]

    removed = _item(diff, "actions", "Gestion du budget")
    assert removed["kind"] == "removed"
    assert _authors(removed) == [ergo]
    added = _item(diff, "actions", "Piscine")
    assert added["kind"] == "added"
    assert added["item_id"] == "action-piscine"
    links = _field(added, "objectif_ids")
    assert links["kind"] == "links"
    assert links["new_labels"] == ["Participer à une activité de loisirs chaque semaine"]
    assert _authors(added) == [ergo]
    besoin = _item(diff, "besoins", "Accomplir seule")
    assert _field(besoin, "analyse")["kind"] == "text"
    assert _authors(besoin) == [ergo]

    assert diff["summary"].startswith("1 objectif modifié (« Gérer seule")
    assert "1 action ajoutée (« Piscine le samedi »)" in diff["summary"]
    assert "1 action supprimée (« Gestion du budget courses »)" in diff["summary"]
    assert diff["authorship"] == "update_log"


def test_reverse_diff_swaps_additions_and_removals(history: Setup, api_as: Any) -> None:
    diff = api_as(COORD).get(f"/api/ppas/{history.ppa_id}/diff?from=3&to=1").json()
    assert _item(diff, "actions", "Piscine")["kind"] == "removed"
    assert _item(diff, "actions", "Gestion du budget")["kind"] == "added"
    titre = _field(_item(diff, "objectifs", "Gérer son"), "titre")
    assert titre["new"] == "Gérer son traitement du soir en autonomie"


def test_diff_of_consecutive_versions_credits_only_their_authors(
    history: Setup, api_as: Any
) -> None:
    diff = api_as(COORD).get(f"/api/ppas/{history.ppa_id}/diff?from=2&to=3").json()
    sections = {(i["section"], i["kind"]) for i in diff["items"]}
    assert sections == {("actions", "removed"), ("actions", "added"), ("besoins", "changed")}
    assert {name for i in diff["items"] for name in _authors(i)} == {"Julien Moreau"}


def test_diff_of_a_version_with_itself_is_empty(history: Setup, api_as: Any) -> None:
    diff = api_as(COORD).get(f"/api/ppas/{history.ppa_id}/diff?from=2&to=2").json()
    assert diff["items"] == []
    assert diff["summary"] == "Aucune modification"


def test_diff_needs_readable_versions(history: Setup, api_as: Any) -> None:
    assert api_as(ESMS).get(f"/api/ppas/{history.ppa_id}/diff?from=1&to=2").status_code == 403
    missing = api_as(COORD).get(f"/api/ppas/{history.ppa_id}/diff?from=1&to=9")
    assert missing.status_code == 404
    assert "Version 9 introuvable" in missing.json()["detail"]
    bad = api_as(COORD).get(f"/api/ppas/{history.ppa_id}/diff?from=0&to=1")
    assert bad.status_code == 422


def test_authorship_per_field_within_one_version(
    api_as: Any, demo: dict[str, Any], live_server: LiveServer
) -> None:
    """Two people edit between the same two versions: each field names its own author."""
    setup = new_ppa(api_as, demo)
    save(api_as(COORD), setup.ppa_id, "Avant")

    def edit(mutate: Any, username: str) -> None:
        token = api_as(username).token
        assert token is not None
        edit_over_websocket(live_server.ws_url, setup.ppa_id, token, mutate)

    edit(lambda c: setattr(c.objectifs[0], "strategie", "Rappel vocal."), CONTRIB)
    edit(lambda c: setattr(c.objectifs[1], "strategie", "Cuisine deux fois."), CONTRIB2)
    edit(lambda c: setattr(c.objectifs[0], "avis_usager", "D'accord."), CONTRIB2)
    save(api_as(COORD), setup.ppa_id, "Après")
    diff = api_as(COORD).get(f"/api/ppas/{setup.ppa_id}/diff?from=1&to=2").json()
    assert diff["authorship"] == "update_log"
    first = _item(diff, "objectifs", "Gérer son")
    assert _authors(_field(first, "strategie")) == ["Karim Benali"]
    assert _authors(_field(first, "avis_usager")) == ["Julien Moreau"]
    assert _authors(first) == ["Karim Benali", "Julien Moreau"]
    second = _item(diff, "objectifs", "Préparer")
    assert _authors(second) == ["Julien Moreau"]
    when = _field(first, "strategie")["authors"][0]
    assert when["first_at"] <= when["last_at"]
    versions = api_as(COORD).get(f"/api/ppas/{setup.ppa_id}/versions").json()
    me = {u: api_as(u).get("/api/auth/me").json()["id"] for u in (CONTRIB, CONTRIB2)}
    assert versions[1]["authors"] == sorted(me.values())
    assert versions[1]["created_by_name"] == "Claire Durand"
