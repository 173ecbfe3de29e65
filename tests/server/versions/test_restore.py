"""Restore is a forward step: the old content becomes the new draft, history and hashes stay."""

from __future__ import annotations

from typing import Any

from tests.server.versions.conftest import Edit, RecordingRooms, live_content
from tests.server.versions.helpers import (
    AUDITOR,
    CONTRIB,
    COORD,
    ESMS,
    new_ppa,
    save,
    validate,
)


def _hashes(api_as: Any, ppa_id: str) -> list[tuple[int, str, str, str]]:
    versions = api_as(COORD).get(f"/api/ppas/{ppa_id}/versions").json()
    return [(v["number"], v["content_hash"], v["chain_hash"], v["label"]) for v in versions]


def test_restore_into_the_draft(
    api_as: Any, demo: dict[str, Any], edit: Edit, rooms: RecordingRooms
) -> None:
    setup = new_ppa(api_as, demo)
    save(api_as(CONTRIB), setup.ppa_id, "Premier jet")
    edit(setup.ppa_id, lambda c: setattr(c, "projet_de_vie", "Changé."))
    save(api_as(CONTRIB), setup.ppa_id, "Projet de vie réécrit")
    edit(setup.ppa_id, lambda c: setattr(c.objectifs[0], "titre", "Autre"))
    before = _hashes(api_as, setup.ppa_id)

    response = api_as(CONTRIB).post(f"/api/ppas/{setup.ppa_id}/versions/1/restore")
    assert response.status_code == 201, response.text
    restored = response.json()
    assert restored["ppa_id"] == setup.ppa_id
    assert restored["new_ppa"] is False
    version = restored["version"]
    assert (version["number"], version["kind"], version["parent_number"]) == (4, "restore", 1)
    assert version["label"] == "Restauration de la version 1"

    after = _hashes(api_as, setup.ppa_id)
    assert after[:2] == before, "history and hashes untouched"
    # The draft is not lost: restore checkpoints it first, unless the end of the editing session
    # (the edit's room unloading, at once in tests) checkpointed it just before.
    assert after[2][3] in ("Point de sauvegarde avant restauration", "Fin de session d'édition")
    first = api_as(COORD).get(f"/api/ppas/{setup.ppa_id}/versions/1").json()
    assert version["content_hash"] == first["content_hash"]
    assert live_content(api_as(COORD), setup.ppa_id) == first["content"]
    kept = api_as(COORD).get(f"/api/ppas/{setup.ppa_id}/versions/3").json()
    assert kept["content"]["objectifs"][0]["titre"] == "Autre"
    assert ("write", setup.ppa_id) in rooms.calls  # through the live rooms
    history = api_as(AUDITOR).get(f"/api/ppas/{setup.ppa_id}/history").json()
    assert history["chain"]["ok"] is True
    # Every version checked; a session-end checkpoint of the restore's room (it unloads 30 s
    # after) may already have followed on a slow machine: count them in the same answer.
    assert history["chain"]["checked"] == len(history["versions"]) >= 4
    # Readers may not restore.
    assert (
        api_as("assistante-sociale")
        .post(f"/api/ppas/{setup.ppa_id}/versions/1/restore")
        .status_code
        == 403
    )


def test_restore_of_a_locked_ppa_creates_a_new_draft(
    api_as: Any, demo: dict[str, Any], edit: Edit
) -> None:
    setup = new_ppa(api_as, demo)
    save(api_as(CONTRIB), setup.ppa_id, "Premier jet")
    edit(setup.ppa_id, lambda c: setattr(c, "projet_de_vie", "Validé ainsi."), end_session=True)
    assert validate(api_as(COORD), setup.ppa_id).status_code == 201
    before = _hashes(api_as, setup.ppa_id)

    response = api_as(CONTRIB).post(f"/api/ppas/{setup.ppa_id}/versions/1/restore")
    assert response.status_code == 201, response.text
    restored = response.json()
    assert restored["new_ppa"] is True
    new_id = restored["ppa_id"]
    assert new_id != setup.ppa_id
    version = restored["version"]
    assert (version["number"], version["kind"]) == (1, "restore")
    assert version["based_on"] == {"ppa_id": setup.ppa_id, "number": 1}
    assert _hashes(api_as, setup.ppa_id) == before
    original = api_as(COORD).get(f"/api/ppas/{setup.ppa_id}").json()
    assert (original["status"], original["locked"]) == ("validated", True)
    assert original["content"]["projet_de_vie"] == "Validé ainsi."
    new = api_as(COORD).get(f"/api/ppas/{new_id}").json()
    assert (new["status"], new["locked"], new["previous_ppa_id"]) == ("draft", False, setup.ppa_id)
    first = api_as(COORD).get(f"/api/ppas/{setup.ppa_id}/versions/1").json()
    assert new["content"]["projet_de_vie"] == first["content"]["projet_de_vie"]
    assert new["content"]["objectifs"] == first["content"]["objectifs"]
    # ESMS software cannot read the draft version it would restore.
    assert api_as(ESMS).post(f"/api/ppas/{setup.ppa_id}/versions/1/restore").status_code == 403


def test_restore_preview_names_what_the_draft_loses_and_who_wrote_it(
    api_as: Any, demo: dict[str, Any], edit: Edit
) -> None:
    setup = new_ppa(api_as, demo)
    save(api_as(CONTRIB), setup.ppa_id, "Premier jet")
    url = f"/api/ppas/{setup.ppa_id}/versions/1/restore/preview"
    empty = api_as(COORD).get(url)
    assert empty.status_code == 200, empty.text
    assert empty.json()["items"] == []
    edit(setup.ppa_id, lambda c: setattr(c.objectifs[0], "titre", "Autre titre"))
    preview = api_as(COORD).get(url)
    assert preview.status_code == 200, preview.text
    body = preview.json()
    assert body["version"]["number"] == 1
    (item,) = body["items"]
    assert item["section"] == "objectifs"
    assert [a["name"] for a in item["authors"]] == ["Karim Benali"]
    assert body["summary"]
    # nothing recorded, nothing restored: a preview only reads
    assert len(api_as(COORD).get(f"/api/ppas/{setup.ppa_id}/versions").json()) == 1
    assert live_content(api_as(COORD), setup.ppa_id)["objectifs"][0]["titre"] == "Autre titre"
    # those who may not restore may not preview
    assert api_as("assistante-sociale").get(url).status_code == 403
    # a locked PPA loses nothing (its restore is a new PPA)
    edit(setup.ppa_id, lambda c: None, end_session=True)
    assert validate(api_as(COORD), setup.ppa_id).status_code == 201
    locked = api_as(CONTRIB).get(url)
    assert locked.status_code == 409
    assert "rien n'est retiré" in locked.json()["detail"]
