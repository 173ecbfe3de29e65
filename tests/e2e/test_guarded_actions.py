"""Irreversible or destructive actions ask first and say why they cannot be done yet (issue 17,
fixes 1 and 2): abandoning an avenant names what is lost and who wrote it, and no false
"offline edits" notice follows; "Valider définitivement" stays disabled, with its reason,
while blocking points remain."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import Api
from tests.e2e.conftest import PageFactory, axe_violations, content_of, text_control, wait_saved
from tests.e2e.test_versions import open_history, validate_by_api

pytestmark = pytest.mark.browser

OFFLINE_NOTICE = "hors ligne sur cet appareil"


def no_offline_notice(page: Page) -> None:
    """The page checked its local copy (the check is asynchronous) and said nothing about it."""
    expect(page.locator(".banner--locked")).to_be_visible()
    expect(page.locator(".editor-page")).to_have_attribute("data-local-copy", "checked")
    expect(page.get_by_text(OFFLINE_NOTICE)).to_have_count(0)


def test_abandoning_an_avenant_names_the_changes_and_their_authors_first(
    open_as: PageFactory, fresh_ppa: Callable[..., str], api_as: Callable[[str], Api]
) -> None:
    ppa_id = fresh_ppa("PPA à l'avenant abandonné")
    api = api_as("coordinatrice")
    validate_by_api(api, ppa_id)
    assert api.post(f"/api/ppas/{ppa_id}/avenant").status_code == 200
    first, second = content_of(api, ppa_id)["actions"][:2]
    karim = open_as("infirmier", f"#/ppa/{ppa_id}")
    text_control(karim, f"actions/{first['id']}/planning/lieu").fill("Infirmerie, salle 2")
    wait_saved(karim)
    claire = open_as("coordinatrice", f"#/ppa/{ppa_id}")
    text_control(claire, f"actions/{second['id']}/resultat_attendu").fill("Un résultat revu.")
    wait_saved(claire)

    panel = open_history(claire)
    panel.get_by_role("button", name="Abandonner l'avenant").click()
    dialog = claire.get_by_role("dialog", name="Abandonner l'avenant ?")
    expect(dialog).to_contain_text("les 2 modifications faites depuis la version validée")
    lost = dialog.locator(".lost-changes li")
    expect(lost).to_have_count(2)
    expect(lost.filter(has_text=first["titre"][:25])).to_contain_text("par Karim Benali")
    expect(lost.filter(has_text=second["titre"][:25])).to_contain_text("par Claire Durand")
    # Enter alone never abandons: the focus starts on "Annuler"
    expect(dialog.get_by_role("button", name="Annuler")).to_be_focused()
    assert axe_violations(claire) == []
    dialog.get_by_role("button", name="Annuler").click()
    expect(dialog).to_have_count(0)
    assert api.get(f"/api/ppas/{ppa_id}").json()["status"] == "avenant_draft"

    panel.get_by_role("button", name="Abandonner l'avenant").click()
    claire.get_by_role("dialog").get_by_role("button", name="Abandonner l'avenant").click()
    expect(claire.get_by_role("alert").filter(has_text="Avenant abandonné")).to_be_visible()
    ppa = api.get(f"/api/ppas/{ppa_id}").json()
    assert (ppa["status"], ppa["locked"]) == ("validated", True)

    # nothing was typed offline: neither the coordinator nor her colleague is told otherwise
    no_offline_notice(claire)
    karim.reload()
    no_offline_notice(karim)
    claire.reload()
    no_offline_notice(claire)


def submit_reason(dialog: Any) -> Any:
    return dialog.get_by_role("button", name="Valider définitivement")


def test_final_validation_stays_disabled_with_its_reason_until_blocking_points_are_solved(
    open_as: PageFactory, fresh_ppa: Callable[..., str], api_as: Callable[[str], Api]
) -> None:
    ppa_id = fresh_ppa("PPA à compléter")
    claire = open_as("coordinatrice", f"#/ppa/{ppa_id}")
    review = claire.locator('[data-field="bilan/prochaine_revision"] input')
    review.fill("")
    wait_saved(claire)
    panel = open_history(claire)
    panel.get_by_role("button", name="Valider le PPA").click()
    dialog = claire.get_by_role("dialog", name="Valider le PPA")
    button = submit_reason(dialog)
    expect(dialog.locator('[data-severity="bloquant"]')).to_contain_text("1 point bloquant")
    expect(button).to_be_disabled()
    expect(button).to_have_accessible_description(
        "Validation impossible tant que le point bloquant ci-dessus reste à corriger."
    )
    assert axe_violations(claire) == []

    # a colleague fixes the date while the dialog is open: the button comes alive
    karim = open_as("infirmier", f"#/ppa/{ppa_id}")
    karim.locator('[data-field="bilan/prochaine_revision"] input').fill("2027-07-01")
    wait_saved(karim)
    expect(dialog.locator('[data-severity="bloquant"]')).to_have_count(0)
    expect(button).to_be_enabled()
    expect(button).to_have_accessible_description("")
    button.click()
    expect(dialog).to_have_count(0)
    api = api_as("coordinatrice")
    assert api.get(f"/api/ppas/{ppa_id}").json()["status"] == "validated"


def test_restoring_a_version_names_what_the_draft_loses_and_who_wrote_it(
    open_as: PageFactory, fresh_ppa: Callable[..., str], api_as: Callable[[str], Api]
) -> None:
    ppa_id = fresh_ppa("PPA à restaurer")
    api = api_as("coordinatrice")
    saved = api.post(f"/api/ppas/{ppa_id}/versions", json={"label": "Avant réunion"})
    assert saved.status_code == 201, saved.text
    number = saved.json()["number"]
    action = content_of(api, ppa_id)["actions"][0]
    karim = open_as("infirmier", f"#/ppa/{ppa_id}")
    text_control(karim, f"actions/{action['id']}/planning/lieu").fill("Infirmerie, salle 2")
    wait_saved(karim)

    claire = open_as("coordinatrice", f"#/ppa/{ppa_id}")
    panel = open_history(claire)
    restore = panel.get_by_role("button", name=f"Restaurer v{number} comme nouveau brouillon")
    restore.click()
    dialog = claire.get_by_role("dialog", name=f"Restaurer la version {number} ?")
    expect(dialog).to_contain_text("la modification faite depuis cette version")
    lost = dialog.locator(".lost-changes li")
    expect(lost).to_have_count(1)
    expect(lost).to_contain_text(action["titre"][:25])
    expect(lost).to_contain_text("par Karim Benali")
    expect(dialog.get_by_role("button", name="Annuler")).to_be_focused()
    assert axe_violations(claire) == []
    dialog.get_by_role("button", name="Annuler").click()
    expect(dialog).to_have_count(0)
    lieu = text_control(karim, f"actions/{action['id']}/planning/lieu")
    expect(lieu).to_have_value("Infirmerie, salle 2")
    assert not any(v["kind"] == "restore" for v in api.get(f"/api/ppas/{ppa_id}/versions").json())

    restore.click()
    claire.get_by_role("dialog").get_by_role("button", name=f"Restaurer la v{number}").click()
    expect(lieu).not_to_have_value("Infirmerie, salle 2")
    expect(panel.locator('.version[data-kind="restore"]')).to_have_count(1)
