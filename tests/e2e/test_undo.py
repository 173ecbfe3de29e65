"""Undo (issue 17, fix 4): deleting an item offers "Annuler" for a while and Ctrl+Z undoes it; the
undo covers one's own deletions only, never a colleague's changes. Once the notice is gone, a
deleted item comes back from the history on its own (the diff of two versions)."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import expect

from tests.conftest import Api
from tests.e2e.conftest import PageFactory, axe_violations, content_of, text_control, wait_saved
from tests.e2e.test_versions import open_history

pytestmark = pytest.mark.browser


def test_a_deleted_objective_comes_back_with_annuler_and_ctrl_z(
    open_as: PageFactory, fresh_ppa: Callable[..., str], api_as: Callable[[str], Api]
) -> None:
    ppa_id = fresh_ppa()
    api = api_as("coordinatrice")
    before = content_of(api, ppa_id)
    objectif = before["objectifs"][0]
    served_by = [a["id"] for a in before["actions"] if objectif["id"] in a["objectif_ids"]]
    assert served_by
    page = open_as("coordinatrice", f"#/ppa/{ppa_id}")
    karim = open_as("infirmier", f"#/ppa/{ppa_id}")

    def delete_first_objective() -> None:
        card = page.locator(f'[data-item-id="{objectif["id"]}"]')
        card.get_by_role("button", name="Supprimer l'objectif").click()
        page.get_by_role("dialog").get_by_role("button", name="Supprimer").click()
        expect(card).to_have_count(0)
        wait_saved(page)

    delete_first_objective()
    assert objectif["id"] not in [o["id"] for o in content_of(api, ppa_id)["objectifs"]]
    notice = page.locator(".undo-notice")
    expect(notice).to_be_visible()
    expect(notice).to_contain_text("Objectif supprimé")
    assert axe_violations(page) == []
    notice.get_by_role("button", name="Annuler").click()
    expect(page.locator(f'[data-item-id="{objectif["id"]}"]')).to_have_count(1)
    expect(notice).to_be_hidden()
    wait_saved(page)
    after = content_of(api, ppa_id)
    assert [o["id"] for o in after["objectifs"]] == [o["id"] for o in before["objectifs"]]
    assert after["objectifs"][0] == objectif
    # the actions that served it serve it again
    for action in after["actions"]:
        if action["id"] in served_by:
            assert objectif["id"] in action["objectif_ids"]

    # Ctrl+Z outside a text field; a colleague's edit meanwhile is not undone
    delete_first_objective()
    text_control(karim, "projet_de_vie").fill("Écrit par Karim.")
    wait_saved(karim)
    page.locator("#objectifs .add-item").focus()
    page.keyboard.press("Control+z")
    expect(page.locator(f'[data-item-id="{objectif["id"]}"]')).to_have_count(1)
    wait_saved(page)
    after = content_of(api, ppa_id)
    assert after["objectifs"][0] == objectif
    assert after["projet_de_vie"] == "Écrit par Karim."
    # Ctrl+Z inside a text field stays the field's own
    field = text_control(page, "projet_de_vie")
    expect(field).to_have_value("Écrit par Karim.")
    field.click()
    page.keyboard.press("Control+z")
    expect(page.locator(f'[data-item-id="{objectif["id"]}"]')).to_have_count(1)


def test_a_deleted_objective_comes_back_from_the_history(
    open_as: PageFactory, fresh_ppa: Callable[..., str], api_as: Callable[[str], Api]
) -> None:
    ppa_id = fresh_ppa("PPA à l'objectif retrouvé")
    api = api_as("coordinatrice")
    before = content_of(api, ppa_id)
    objectif = before["objectifs"][0]
    served_by = {a["id"] for a in before["actions"] if objectif["id"] in a["objectif_ids"]}
    assert served_by
    saved = api.post(f"/api/ppas/{ppa_id}/versions", json={"label": "Avec l'objectif"})
    assert saved.status_code == 201, saved.text
    page = open_as("coordinatrice", f"#/ppa/{ppa_id}")
    card = page.locator(f'[data-item-id="{objectif["id"]}"]')
    card.get_by_role("button", name="Supprimer l'objectif").click()
    page.get_by_role("dialog").get_by_role("button", name="Supprimer").click()
    expect(card).to_have_count(0)
    wait_saved(page)
    page.locator(".undo-notice").evaluate("el => { el.hidden = true }")  # the notice is gone

    panel = open_history(page)
    panel.get_by_label("Nom de la version").fill("Sans l'objectif")
    panel.get_by_role("button", name="Enregistrer une version").click()
    expect(panel.locator(".version__title").first).to_contain_text("Sans l'objectif")
    panel.get_by_label("Comparer la version").select_option(str(saved.json()["number"]))
    panel.get_by_role("button", name="Afficher les différences").click()
    diff = panel.get_by_role("region", name="Différences")
    removed = diff.locator(".diff-item--removed")
    expect(removed).to_have_count(1)
    put_back = removed.get_by_role(
        "button", name=re.compile(r"^Remettre « .+ » dans le brouillon$")
    )
    assert axe_violations(page) == []
    put_back.click()
    expect(removed).to_contain_text("est de nouveau dans le brouillon")
    expect(removed.locator(".put-back-done")).to_be_focused()
    expect(card).to_have_count(1)
    wait_saved(page)
    after = content_of(api, ppa_id)
    assert after["objectifs"][0] == objectif  # in its place again
    for action in after["actions"]:
        assert (objectif["id"] in action["objectif_ids"]) is (action["id"] in served_by)
    assert axe_violations(page) == []


def test_deleted_besoin_and_attente_come_back_in_turn_and_redo(
    open_as: PageFactory, fresh_ppa: Callable[..., str], api_as: Callable[[str], Api]
) -> None:
    """Any item, not only objectives: each Ctrl+Z takes back the latest deletion (a besoin
    with the objectives' links to it), Ctrl+Shift+Z does it again."""
    ppa_id = fresh_ppa()
    api = api_as("coordinatrice")
    before = content_of(api, ppa_id)
    besoin = next(
        b for b in before["besoins"] if any(b["id"] in o["besoin_ids"] for o in before["objectifs"])
    )
    attente = before["attentes"][0]
    page = open_as("coordinatrice", f"#/ppa/{ppa_id}")

    def delete(item_id: str, label: str) -> None:
        card = page.locator(f'[data-item-id="{item_id}"]')
        card.get_by_role("button", name=label).click()
        page.get_by_role("dialog").get_by_role("button", name="Supprimer").click()
        expect(card).to_have_count(0)

    delete(besoin["id"], "Supprimer le besoin")
    delete(attente["id"], "Supprimer l'attente")
    wait_saved(page)
    gone = content_of(api, ppa_id)
    assert all(besoin["id"] not in o["besoin_ids"] for o in gone["objectifs"])
    page.locator("#attentes .add-item").focus()
    page.keyboard.press("Control+z")  # the attente, deleted last
    expect(page.locator(f'[data-item-id="{attente["id"]}"]')).to_have_count(1)
    expect(page.locator(f'[data-item-id="{besoin["id"]}"]')).to_have_count(0)
    page.locator("#attentes .add-item").focus()
    page.keyboard.press("Control+z")  # then the besoin, with its links
    expect(page.locator(f'[data-item-id="{besoin["id"]}"]')).to_have_count(1)
    wait_saved(page)
    assert content_of(api, ppa_id) == before
    page.locator("#attentes .add-item").focus()
    page.keyboard.press("Control+Shift+z")  # redo: the besoin goes again
    expect(page.locator(f'[data-item-id="{besoin["id"]}"]')).to_have_count(0)
    wait_saved(page)
    assert besoin["id"] not in [b["id"] for b in content_of(api, ppa_id)["besoins"]]
