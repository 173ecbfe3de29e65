"""The people's side (issue 17): the person's own page, easy to read, where she (or her aidant
for her) writes her projet de vie, her attentes, her avis and gives her agreement online
(point 8); printing and the draft PDF (point 9); the auditor's entry page (point 5)."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable

import pytest
from playwright.sync_api import expect

from tests.conftest import Api
from tests.e2e.conftest import PageFactory, axe_violations, content_of, wait_saved
from tests.e2e.test_versions import open_history

pytestmark = pytest.mark.browser

STRUCTURE = {"par": "Claire Durand, directrice du FAM"}
PERSON = {"mode": "signe", "par": "Léa Martin"}


@pytest.mark.parametrize("username", ["usager", "aidant"])
def test_the_person_and_the_aidant_write_and_agree_online(
    open_as: PageFactory,
    fresh_ppa: Callable[..., str],
    api_as: Callable[[str], Api],
    username: str,
) -> None:
    ppa_id = fresh_ppa()
    coord = api_as("coordinatrice")
    before = content_of(coord, ppa_id)
    page = open_as(username, f"#/ppa/{ppa_id}/moi", wait=False)
    heading = "Mon projet" if username == "usager" else "Le projet de Léa"
    expect(page.get_by_role("heading", level=1)).to_have_text(heading)
    if username == "aidant":
        expect(page.locator(".falc__intro")).to_contain_text("Vous écrivez pour Léa.")
    projet = page.locator("#falc-projet").locator("xpath=..").locator("textarea")
    expect(projet).to_have_value(before["projet_de_vie"])
    # No codes, no professional analysis on this page.
    body = page.locator(".falc").inner_text()
    for code in [b["code"] for b in before["besoins"] if b.get("code")]:
        assert code not in body
    # Her projet de vie, her agreement and words on the first objective, a new attente.
    projet.click()
    page.keyboard.press("Control+End")
    page.keyboard.type(" Et partir en vacances.")
    first = page.locator(".falc__objectif").first
    first.get_by_label("Non, pas d'accord").check()
    first.locator("textarea").click()
    page.keyboard.press("Control+End")
    page.keyboard.type(" Je préfère le matin.")
    page.get_by_role("button", name="Ajouter une attente").click()
    expect(page.locator("section[aria-labelledby=falc-attentes] textarea").last).to_be_focused()
    page.keyboard.type("Voir mon frère.")
    wait_saved(page)
    assert axe_violations(page) == []
    after = content_of(coord, ppa_id)
    assert after["projet_de_vie"] == before["projet_de_vie"] + " Et partir en vacances."
    objectifs = [o for o in after["objectifs"] if o["statut"] != "annule"]
    assert objectifs[0]["accord_usager"] == "desaccord"
    assert objectifs[0]["avis_usager"].endswith(" Je préfère le matin.")
    assert after["attentes"][-1]["texte"] == "Voir mon frère."
    assert after["attentes"][-1]["origine"] == ("personne" if username == "usager" else "entourage")

    # A professional field forced from page JS is refused by the server (not only hidden).
    page.evaluate(
        """() => {
            const doc = window.ppaCollab.session.doc
            doc.getArray('objectifs').get(0).get('titre').insert(0, 'Réécrit ')
        }"""
    )
    expect(page.get_by_role("alert").filter(has_text="propres champs")).to_be_visible()
    assert content_of(coord, ppa_id)["objectifs"][0]["titre"] == before["objectifs"][0]["titre"]
    assert axe_violations(page) == []  # the refusal's alert on her page

    # Her agreement, online: given on what is saved, shown with its date.
    page.reload()
    expect(page.get_by_role("heading", level=1)).to_have_text(heading)
    wait_saved(page)
    yes = "Je suis d'accord avec mon projet" if username == "usager" else "Léa est d'accord"
    page.get_by_role("button", name=yes).click()
    expect(page.locator(".falc__agreement [role=status]")).to_contain_text("Accord donné")
    assert axe_violations(page) == []
    state = coord.get(f"/api/ppas/{ppa_id}/person-agreement").json()["agreement"]
    assert state["current"] is True
    assert state["on_behalf"] is (username == "aidant")
    # The coordinator validates with it; the version records it, by her.
    response = coord.post(f"/api/ppas/{ppa_id}/validate", json={"structure": STRUCTURE})
    assert response.status_code == 201, response.text
    [accord] = [a for a in response.json()["accords"] if a["type"] == "personne"]
    assert accord["par"] == state["par"]
    assert accord["mode"] == ("signe" if username == "usager" else "oral")
    assert accord["recorded_by"] == api_as(username).get("/api/auth/me").json()["id"]


def test_colleagues_see_the_aidant_writing_for_her(
    open_as: PageFactory, fresh_ppa: Callable[..., str]
) -> None:
    ppa_id = fresh_ppa()
    claire = open_as("coordinatrice", f"#/ppa/{ppa_id}")
    open_as("aidant", f"#/ppa/{ppa_id}")
    expect(claire.locator(".presence__other")).to_contain_text("Emma Martin (sœur) pour Léa")


def test_a_refusal_needs_her_words(
    open_as: PageFactory, fresh_ppa: Callable[..., str], api_as: Callable[[str], Api]
) -> None:
    ppa_id = fresh_ppa()
    page = open_as("usager", f"#/ppa/{ppa_id}/moi", wait=False)
    wait_saved(page)
    page.get_by_role("button", name="Je ne suis pas d'accord").click()
    expect(page.locator(".falc__agreement .form-error")).to_contain_text("Écrivez pourquoi")
    assert axe_violations(page) == []
    page.get_by_label("Pourquoi vous n'êtes pas d'accord ?").fill("Je veux sortir seule.")
    page.get_by_role("button", name="Je ne suis pas d'accord").click()
    expect(page.locator(".falc__agreement [role=status]")).to_contain_text("Refus donné")
    state = api_as("coordinatrice").get(f"/api/ppas/{ppa_id}/person-agreement").json()
    assert (state["agreement"]["accord"], state["agreement"]["motif"]) == (
        False,
        "Je veux sortir seule.",
    )


def test_the_coordinator_validates_with_her_online_answer(
    open_as: PageFactory, fresh_ppa: Callable[..., str], api_as: Callable[[str], Api]
) -> None:
    ppa_id = fresh_ppa("PPA accord en ligne")
    aidant = api_as("aidant")
    assert (
        aidant.post(f"/api/ppas/{ppa_id}/person-agreement", json={"accord": True}).status_code
        == 201
    )
    claire = open_as("coordinatrice", f"#/ppa/{ppa_id}")
    panel = open_history(claire)
    panel.get_by_role("button", name="Valider le PPA").click()
    dialog = claire.get_by_role("dialog", name="Valider le PPA")
    online = dialog.get_by_label("Utiliser sa réponse donnée en ligne", exact=False)
    expect(online).to_be_checked()
    expect(dialog).to_contain_text("pour Léa")
    assert axe_violations(claire) == []
    dialog.get_by_role("button", name="Valider définitivement").click()
    expect(dialog).to_have_count(0)
    expect(panel.locator('.version[data-kind="validated"]')).to_have_count(1)
    # shown with the version: hers, given online, by her aidant for her
    validated = panel.locator('.version[data-kind="validated"]')
    validated.get_by_role("button", name=re.compile(r"^Ouvrir v\d+$")).click()
    shown = claire.get_by_role("dialog").locator("li").filter(has_text="Accord de la personne")
    expect(shown).to_contain_text(re.compile(r"pour Léa \w+ \(en ligne\)"))
    assert axe_violations(claire) == []
    claire.get_by_role("dialog").get_by_role("button", name="Fermer").first.click()
    coord = api_as("coordinatrice")
    versions = coord.get(f"/api/ppas/{ppa_id}/versions").json()
    number = next(v["number"] for v in versions if v["kind"] == "validated")
    accords = coord.get(f"/api/ppas/{ppa_id}/versions/{number}").json()["accords"]
    [personne] = [a for a in accords if a["type"] == "personne"]
    assert personne["mode"] == "oral"
    assert " pour Léa" in personne["par"]
    assert personne["recorded_by"] == aidant.get("/api/auth/me").json()["id"]


def test_print_shows_the_whole_draft_without_chrome_and_the_draft_pdf(
    open_as: PageFactory, fresh_ppa: Callable[..., str], api_as: Callable[[str], Api]
) -> None:
    ppa_id = fresh_ppa()
    page = open_as("coordinatrice", f"#/ppa/{ppa_id}")
    page.evaluate("() => { window.__printed = 0; window.print = () => { window.__printed += 1 } }")
    page.get_by_role("button", name="Imprimer").click()
    page.wait_for_function("() => window.__printed === 1")
    page.emulate_media(media="print")
    for chrome in (".app-header", ".toc", ".editor-head__bar", ".print-tools", ".life-steps"):
        expect(page.locator(chrome).first).to_be_hidden()
    bodies = page.locator(".ppa-section .section-body")
    assert bodies.count() >= 8
    for index in range(bodies.count()):
        expect(bodies.nth(index)).to_be_visible()
    page.emulate_media(media="screen")
    expect(page.locator(".toc")).to_be_visible()
    # The draft as a PDF, without saving a version.
    versions = api_as("coordinatrice").get(f"/api/ppas/{ppa_id}/versions").json()
    with page.expect_download() as info:
        page.get_by_role("button", name="PDF du brouillon").click()
    download = info.value
    assert download.suggested_filename.endswith("-brouillon.pdf")
    with open(download.path(), "rb") as handle:
        assert handle.read(5) == b"%PDF-"
    assert api_as("coordinatrice").get(f"/api/ppas/{ppa_id}/versions").json() == versions


def test_the_auditor_has_an_entry_page_and_a_way_back(
    open_as: PageFactory, fresh_ppa: Callable[..., str], api_as: Callable[[str], Api]
) -> None:
    coord = api_as("coordinatrice")
    validated = fresh_ppa("PPA validé pour l'audit")
    assert (
        api_as("usager")
        .post(f"/api/ppas/{validated}/person-agreement", json={"accord": True})
        .status_code
        == 201
    )
    response = coord.post(f"/api/ppas/{validated}/validate", json={"structure": STRUCTURE})
    assert response.status_code == 201, response.text
    draft = fresh_ppa("Brouillon invisible en audit")
    page = open_as("auditeur", "#/")
    expect(page).to_have_url(re.compile(r"#/audit$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Espace audit")
    block = page.locator(".audit-ppa").filter(has_text="PPA validé pour l'audit")
    expect(block).to_be_visible()
    expect(
        page.locator(".audit-ppa").filter(has_text="Brouillon invisible en audit")
    ).to_have_count(0)
    block.get_by_role("button", name="Historique vérifié").click()
    expect(block.locator(".notice")).to_contain_text("Chaîne des versions vérifiée")
    # the person's agreement given online, shown with the version
    expect(block.locator("table")).to_contain_text(
        "Accord de la personne : Signé, Léa MARTIN (en ligne)"
    )
    with page.expect_download() as info:
        block.get_by_role("button", name="Télécharger le dossier d'audit").click()
    with open(info.value.path(), "rb") as handle:
        assert zipfile.ZipFile(io.BytesIO(handle.read())).testzip() is None
    page.get_by_role("button", name="Journal des accès (50 derniers)").first.click()
    expect(page.locator(".audit-trail table").first).to_be_visible()
    assert axe_violations(page) == []
    # A direct link to a draft: refused, with the way back to the audit page.
    page.goto(page.url.split("#")[0] + f"#/ppa/{draft}")
    expect(page.locator(".form-error")).to_contain_text("Votre rôle")
    page.get_by_role("link", name="Espace audit (si vous auditez ce dossier)").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Espace audit")
    assert axe_violations(page) == []


def test_her_page_fits_a_phone(open_as: PageFactory, fresh_ppa: Callable[..., str]) -> None:
    """The person and her aidant often have only a phone: her page fits 390 px, no sideways
    scrolling, and axe finds nothing serious there either."""
    ppa_id = fresh_ppa()
    page = open_as("usager", f"#/ppa/{ppa_id}/moi", wait=False, width=390, height=844)
    expect(page.get_by_role("heading", level=1)).to_have_text("Mon projet")
    wait_saved(page)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    expect(page.get_by_role("button", name="Je suis d'accord avec mon projet")).to_be_visible()
    assert axe_violations(page) == []
