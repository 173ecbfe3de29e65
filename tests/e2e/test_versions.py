"""History panel: named versions, diff, restore, validation that locks every open editor,
avenant, and downloads in every export format."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from exports.local_time import PARIS
from exports.registry import FORMATS
from tests.conftest import Api
from tests.e2e.conftest import (
    PageFactory,
    axe_violations,
    content_of,
    save_state,
    text_control,
    wait_saved,
)
from tests.e2e.test_read_only import EDIT_CONTROLS, force_write
from tests.server.versions.helpers import PERSON_ACCORD
from versions.lifecycle import AVENANT_OBJECTIF_FIELDS

pytestmark = pytest.mark.browser

HISTORY = "Historique, validation et exports"
DOWNLOADS_PER_BURST = 8
"""Chromium (156.0.8078.108 here) starts at most 10 downloads in a burst (about a second; the
11th never starts, without a message): the test pauses before reaching it. A person clicking
cannot hit it."""

ALL_FORMATS = list(FORMATS)
"""The export menu of an avenant offers every format of the registry, in its order."""
DRAFT_FORMATS = [name for name, fmt in FORMATS.items() if fmt.drafts_allowed]


def shown_date(created_at: str) -> str:
    """A version's date as the history panel shows it (Europe/Paris, fr-FR short style)."""
    moment = datetime.fromisoformat(created_at).astimezone(PARIS)
    return f"{moment:%d/%m/%Y %H:%M}"


def open_history(page: Page) -> Any:
    page.get_by_role("button", name=HISTORY).click()
    panel = page.get_by_role("complementary", name=HISTORY)
    expect(panel.locator(".version").first.or_(panel.get_by_text("Aucune version"))).to_be_visible()
    return panel


def validate_by_api(api: Api, ppa_id: str) -> dict[str, Any]:
    response = api.post(
        f"/api/ppas/{ppa_id}/validate",
        json={"structure": {"par": "Claire Durand"}, "personne": PERSON_ACCORD},
    )
    assert response.status_code == 201, response.text
    version: dict[str, Any] = response.json()
    return version


def test_validation_from_the_ui_locks_every_open_editor(
    open_as: PageFactory, fresh_ppa: Callable[..., str], api_as: Callable[[str], Api]
) -> None:
    ppa_id = fresh_ppa("PPA à valider")
    api = api_as("coordinatrice")
    claire = open_as("coordinatrice", f"#/ppa/{ppa_id}")
    karim = open_as("infirmier", f"#/ppa/{ppa_id}")
    wait_saved(karim)
    expect(karim.locator(".ppa-form textarea").first).to_be_visible()

    panel = open_history(claire)
    panel.get_by_role("button", name="Valider le PPA").click()
    dialog = claire.get_by_role("dialog", name="Valider le PPA")
    structure = dialog.get_by_role("group", name="Accord de la structure (obligatoire)")
    expect(structure.get_by_label("Donné par")).to_have_value("Claire Durand")
    personne = dialog.get_by_role("group", name="Accord de la personne")
    personne.get_by_label("Oral (avec témoin)").check()
    personne.get_by_label("Donné (ou refusé) par").fill("Léa Martin")
    dialog.get_by_role("button", name="Valider définitivement").click()
    expect(dialog.get_by_role("alert")).to_contain_text("demande un témoin")
    personne.get_by_label("Témoin (accord oral)").fill("Emma Martin (sœur)")
    dialog.get_by_role("button", name="Valider définitivement").click()
    expect(dialog).to_have_count(0)

    # the other open editor turns read-only within a second of the validation's answer
    expect(karim.locator(".banner--locked")).to_be_visible(timeout=1000)
    expect(karim.locator(EDIT_CONTROLS)).to_have_count(0, timeout=1000)
    expect(save_state(karim)).to_have_text("Lecture seule")
    expect(claire.locator(".banner--locked")).to_contain_text("validé et verrouillé")
    expect(claire.locator(EDIT_CONTROLS)).to_have_count(0)
    expect(panel).to_contain_text("PPA validé : version")
    expect(panel.locator('.version[data-kind="validated"]')).to_have_count(1)

    ppa = api.get(f"/api/ppas/{ppa_id}").json()
    assert (ppa["status"], ppa["locked"]) == ("validated", True)
    versions = api.get(f"/api/ppas/{ppa_id}/versions").json()
    validated = next(v for v in versions if v["kind"] == "validated")
    accords = api.get(f"/api/ppas/{ppa_id}/versions/{validated['number']}").json()["accords"]
    assert {(a["type"], a["mode"], a["par"], a["temoin"]) for a in accords} == {
        ("structure", "signe", "Claire Durand", ""),
        ("personne", "oral", "Léa Martin", "Emma Martin (sœur)"),
    }

    # a Yjs write forced from the page of the locked document is refused by the server
    before = content_of(api, ppa_id)
    force_write(karim, "ÉCRIT APRÈS VALIDATION ")
    assert content_of(api, ppa_id) == before

    # opened later, a locked PPA shows no controls at all
    later = open_as("psychologue", f"#/ppa/{ppa_id}")
    expect(later.locator(".banner--locked")).to_be_visible()
    expect(later.locator(EDIT_CONTROLS)).to_have_count(0)
    force_write(later, "ÉCRIT PLUS TARD ")
    assert content_of(api, ppa_id) == before


def test_the_validation_dialog_blocks_on_blocking_points_only(
    open_as: PageFactory, fresh_ppa: Callable[..., str], api_as: Callable[[str], Api]
) -> None:
    ppa_id = fresh_ppa("PPA incomplet")
    api = api_as("coordinatrice")
    claire = open_as("coordinatrice", f"#/ppa/{ppa_id}")
    review = claire.locator('[data-field="bilan/prochaine_revision"] input')
    panel = open_history(claire)

    def dialog_after(value: str) -> Any:
        review.fill(value)
        wait_saved(claire)
        panel.get_by_role("button", name="Valider le PPA").click()
        return claire.get_by_role("dialog", name="Valider le PPA")

    # no next review date: a blocking point, the button is disabled
    dialog = dialog_after("")
    blocking = dialog.locator('[data-severity="bloquant"]')
    expect(blocking).to_contain_text("1 point bloquant à corriger avant de valider")
    expect(blocking).to_contain_text("La date de la prochaine révision n'est pas fixée")
    expect(dialog.get_by_role("button", name="Valider définitivement")).to_be_disabled()
    dialog.get_by_role("button", name="Annuler").click()
    # the review after the projet's end: to check, shown, the validation goes through
    dialog = dialog_after("2027-12-03")
    expect(dialog.locator('[data-severity="bloquant"]')).to_have_count(0)
    expect(dialog.locator('[data-severity="a_verifier"]')).to_contain_text(
        "après la fin de la période du projet"
    )
    dialog.get_by_role("button", name="Valider définitivement").click()
    expect(dialog).to_have_count(0)
    ppa = api.get(f"/api/ppas/{ppa_id}").json()
    assert (ppa["status"], ppa["locked"]) == ("validated", True)


def test_avenant_changes_modalites_and_is_validated_from_the_ui(
    open_as: PageFactory, fresh_ppa: Callable[..., str], api_as: Callable[[str], Api]
) -> None:
    ppa_id = fresh_ppa("PPA avec avenant")
    api = api_as("coordinatrice")
    validated = validate_by_api(api, ppa_id)
    action = content_of(api, ppa_id)["actions"][0]
    lieu = f"actions/{action['id']}/planning/lieu"
    claire = open_as("coordinatrice", f"#/ppa/{ppa_id}")
    expect(claire.locator(".banner--locked")).to_be_visible()

    panel = open_history(claire)
    panel.get_by_role("button", name="Ouvrir un avenant").click()
    expect(claire.get_by_role("alert").filter(has_text="Avenant ouvert")).to_be_visible()
    expect(claire.locator(".badges")).to_contain_text("Avenant en préparation")
    expect(claire.locator(".banner--locked")).to_have_count(0)
    # besoins are frozen in an avenant, objectives but for their follow-up (status, the
    # person's opinion and agreement, due date, evaluation: one control per field of
    # AVENANT_OBJECTIF_FIELDS); actions are not
    expect(claire.locator("#objectifs .notice")).to_contain_text("Avenant en cours")
    objectifs = len(content_of(api, ppa_id)["objectifs"])
    expect(
        claire.locator("#objectifs textarea, #objectifs input, #objectifs select")
    ).to_have_count(len(AVENANT_OBJECTIF_FIELDS) * objectifs)
    expect(claire.locator('#objectifs [data-field$="/titre"] input')).to_have_count(0)
    expect(claire.locator('#objectifs [data-field$="/description"] textarea')).to_have_count(0)
    expect(claire.locator("#besoins button:not(.section-toggle)")).to_have_count(0)
    assert axe_violations(claire) == []  # the avenant's frozen sections
    text_control(claire, lieu).fill("Infirmerie du foyer, salle 2")
    wait_saved(claire)
    assert content_of(api, ppa_id)["actions"][0]["planning"]["lieu"] == (
        "Infirmerie du foyer, salle 2"
    )

    panel = open_history(claire)
    panel.get_by_role("button", name="Valider l'avenant").click()
    dialog = claire.get_by_role("dialog", name="Valider l'avenant")
    dialog.get_by_role("group", name="Accord de la personne").get_by_role(
        "radio", name="Non sollicité"
    ).check()
    dialog.get_by_label("Motif (refus ou accord non sollicité)").fill(
        "Changement de salle sans effet pour la personne."
    )
    assert axe_violations(claire) == []
    dialog.get_by_role("button", name="Valider définitivement l'avenant").click()
    expect(dialog).to_have_count(0)
    expect(claire.locator(".banner--locked")).to_be_visible(timeout=1000)
    expect(panel).to_contain_text("Avenant validé : version")
    avenant = panel.locator('.version[data-kind="avenant"]')
    expect(avenant).to_have_count(1)
    number = int(avenant.get_attribute("data-number") or "0")

    # the diff between the validated version and the avenant highlights the new place
    panel.get_by_label("Comparer la version").select_option(str(validated["number"]))
    panel.get_by_label("avec la version").select_option(str(number))
    panel.get_by_role("button", name="Afficher les différences").click()
    diff = panel.get_by_role("region", name="Différences")
    expect(diff).to_contain_text("1 action modifiée")
    expect(diff.locator("ins.diff-added")).to_contain_text(["salle 2"])
    expect(diff).to_contain_text("Lieu")
    assert axe_violations(claire) == []

    # every export format of the avenant downloads
    avenant.get_by_text(f"Télécharger v{number}").click()
    buttons = avenant.locator("[data-format]")
    expect(buttons).to_have_count(len(ALL_FORMATS))
    assert buttons.evaluate_all("els => els.map(e => e.dataset.format)") == ALL_FORMATS
    for index, name in enumerate(ALL_FORMATS):
        if index == DOWNLOADS_PER_BURST:
            claire.wait_for_timeout(2500)
        with claire.expect_download() as info:
            avenant.locator(f'[data-format="{name}"]').click()
        download = info.value
        path = download.path()
        assert path.stat().st_size > 200, name
        assert re.search(r"\.(pdf|docx|json|xml|zip|ics)$", download.suggested_filename), name
    expect(panel.get_by_role("status").first).to_contain_text("Téléchargé")


def test_named_versions_diff_and_restore(
    open_as: PageFactory, fresh_ppa: Callable[..., str], api_as: Callable[[str], Api]
) -> None:
    ppa_id = fresh_ppa("PPA versions")
    api = api_as("coordinatrice")
    original = content_of(api, ppa_id)["projet_de_vie"]
    claire = open_as("coordinatrice", f"#/ppa/{ppa_id}")
    panel = open_history(claire)

    def save(label: str) -> None:
        wait_saved(claire)
        panel.get_by_label("Nom de la version").fill(label)
        panel.get_by_role("button", name="Enregistrer une version").click()
        expect(panel.locator(".version__title").first).to_contain_text(label)

    save("Avant réunion")
    text_control(claire, "projet_de_vie").click()
    claire.keyboard.press("Control+End")
    claire.keyboard.type(" Et partir en vacances à la mer.")
    save("Après réunion")
    first = panel.locator(".version").filter(has_text="Avant réunion")
    second = panel.locator(".version").filter(has_text="Après réunion")
    n1 = first.get_attribute("data-number")
    n2 = second.get_attribute("data-number")
    assert n1 is not None
    assert n2 is not None
    expect(first.locator(".version__meta").first).to_contain_text("Claire Durand")
    expect(first.locator(".hash")).to_have_text(re.compile(r"^[0-9a-f]{12}…$"))
    # every version row shows its date
    versions = api.get(f"/api/ppas/{ppa_id}/versions").json()
    expect(panel.locator(".version")).to_have_count(len(versions))
    for version in versions:
        row = panel.locator(f'.version[data-number="{version["number"]}"]')
        expect(row.locator(".version__meta").first).to_contain_text(
            shown_date(version["created_at"])
        )

    panel.get_by_label("Comparer la version").select_option(n1)
    panel.get_by_label("avec la version").select_option(n2)
    panel.get_by_role("button", name="Afficher les différences").click()
    diff = panel.get_by_role("region", name="Différences")
    expect(diff.locator("ins.diff-added")).to_contain_text(["partir en vacances"])
    expect(diff).to_contain_text("Claire Durand")
    assert axe_violations(claire) == []

    # a draft version offers the formats drafts allow
    first.get_by_text(f"Télécharger v{n1}").click()
    draft_buttons = first.locator("[data-format]")
    expect(draft_buttons).to_have_count(len(DRAFT_FORMATS))
    assert draft_buttons.evaluate_all("els => els.map(e => e.dataset.format)") == DRAFT_FORMATS

    first.get_by_role("button", name=f"Ouvrir v{n1}").click()
    dialog = claire.get_by_role("dialog")
    expect(dialog).to_contain_text(original)
    expect(dialog).not_to_contain_text("vacances")
    assert axe_violations(claire) == []
    dialog.get_by_role("button", name="Fermer").first.click()

    first.get_by_role("button", name=f"Restaurer v{n1} comme nouveau brouillon").click()
    claire.get_by_role("dialog").get_by_role("button", name=f"Restaurer la v{n1}").click()
    expect(text_control(claire, "projet_de_vie")).to_have_value(original)
    expect(panel.locator('.version[data-kind="restore"]')).to_have_count(1)
    wait_saved(claire)
    assert content_of(api, ppa_id)["projet_de_vie"] == original


def test_offline_edits_overtaken_by_a_validation_are_reported(
    open_as: PageFactory, fresh_ppa: Callable[..., str], api_as: Callable[[str], Api]
) -> None:
    ppa_id = fresh_ppa("PPA validé pendant une absence")
    api = api_as("coordinatrice")
    before = content_of(api, ppa_id)
    karim = open_as("infirmier", f"#/ppa/{ppa_id}")
    wait_saved(karim)
    context = karim.context
    context.set_offline(True)
    text_control(karim, "projet_de_vie").click()
    karim.keyboard.type("Écrit dans le train. ")
    assert karim.evaluate("() => window.ppaCollab.session.whenStoredLocally()") is True
    karim.close()

    validate_by_api(api, ppa_id)
    context.set_offline(False)
    page = context.new_page()
    page.goto(karim.url)  # still logged in: the session is the browser's, not the tab's
    expect(page.locator(".banner--locked")).to_be_visible()
    expect(page.get_by_role("alert").filter(has_text="hors ligne sur cet appareil")).to_be_visible()
    expect(page.locator('[data-field="projet_de_vie"] .ro-value')).to_have_text(
        before["projet_de_vie"]
    )
    assert content_of(api, ppa_id) == before


def test_diff_shows_removed_text_and_a_changed_serafin_code(
    open_as: PageFactory, fresh_ppa: Callable[..., str], api_as: Callable[[str], Api]
) -> None:
    ppa_id = fresh_ppa("PPA diff de code")
    api = api_as("coordinatrice")
    besoin = content_of(api, ppa_id)["besoins"][1]
    old_code, new_code = besoin["code"], "1.3.2.1"
    assert old_code != new_code
    removed = " d'ici deux ans"
    assert besoin["description"].endswith(removed + ".")
    kept = besoin["description"][: -len(removed) - 1] + "."

    def label(code: str) -> str:
        response = api.get(f"/api/terminology/serafin/{code}")
        assert response.status_code == 200, response.text
        name: str = response.json()["label"]
        return f"{code} - {name}"

    claire = open_as("coordinatrice", f"#/ppa/{ppa_id}")
    panel = open_history(claire)

    def save(name: str) -> str:
        wait_saved(claire)
        panel.get_by_label("Nom de la version").fill(name)
        panel.get_by_role("button", name="Enregistrer une version").click()
        version = panel.locator(".version").filter(has_text=name)
        expect(version).to_have_count(1)
        number: str | None = version.get_attribute("data-number")
        assert number is not None
        return number

    before = save("Avant correction du besoin")
    card = claire.locator(f'[data-field="besoins/{besoin["id"]}/code"]')
    card.get_by_role("button", name="Changer le code SERAFIN-PH").click()
    dialog = claire.get_by_role("dialog")
    dialog.get_by_label("Rechercher un code ou des mots").fill(new_code)
    dialog.locator(f'.serafin-results [data-code="{new_code}"]').click()
    expect(dialog).to_have_count(0)
    expect(card.locator(".code")).to_have_text(new_code)
    description = text_control(claire, f"besoins/{besoin['id']}/description")
    description.click()
    claire.keyboard.press("Control+End")
    for _ in range(len(removed) + 1):
        claire.keyboard.press("Backspace")
    claire.keyboard.type(".")
    expect(description).to_have_value(kept)
    after = save("Après correction du besoin")
    stored = content_of(api, ppa_id)["besoins"][1]
    assert (stored["code"], stored["description"]) == (new_code, kept)

    panel.get_by_label("Comparer la version").select_option(before)
    panel.get_by_label("avec la version").select_option(after)
    panel.get_by_role("button", name="Afficher les différences").click()
    diff = panel.get_by_role("region", name="Différences")
    item = diff.locator(".diff-item--changed").filter(has_text=new_code)
    expect(item).to_have_count(1)
    code_change = item.locator("li").filter(has_text="Code")
    expect(code_change.locator("del.diff-removed")).to_have_text(label(old_code))
    expect(code_change.locator("ins.diff-added")).to_have_text(label(new_code))
    text_change = item.locator("li").filter(has=claire.locator(".diff-text"))
    expect(text_change.locator("del.diff-removed")).to_have_text(
        re.compile(r"^\s*" + re.escape(removed.strip()) + r"\s*$")
    )
    expect(text_change.locator("ins.diff-added")).to_have_count(0)
    expect(text_change).to_contain_text(kept[:-1])
