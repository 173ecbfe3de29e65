"""Undo (issue 17, fix 4): deleting an item offers "Annuler" for a while and Ctrl+Z undoes it; the
undo covers one's own deletions only, never a colleague's changes."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import expect

from tests.conftest import Api
from tests.e2e.conftest import PageFactory, content_of, text_control, wait_saved

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
