"""The Transmissions block of a validated version: a coordinator transmits it (DMP) and sees the
transmission's status, picks a professional of the cercle for MSSanté and reads why it is refused;
a reader sees the statuses but no button. Validating an avenant unfolds its block, offering the
fiche de liaison to the MDPH (MSSanté + DMP in one click); a structure of the directory is a
recipient."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from server.people.identifiers import luhn_key
from server.transmissions.settings import TransmissionSettings
from tests.conftest import Api, LiveServer
from tests.e2e.conftest import PageFactory, axe_violations
from tests.e2e.test_versions import open_history, validate_by_api

pytestmark = pytest.mark.browser


@pytest.fixture
def configured(live_server: LiveServer, tmp_path: Path) -> Iterator[None]:
    """The API accepts DMP transmissions (a configured endpoint); this server's worker was
    started unconfigured, so nothing leaves and the row stays ``en_attente``."""
    state = live_server.app.state
    before = getattr(state, "transmission_settings", None)
    state.transmission_settings = TransmissionSettings(
        dmp_fhir_url="https://127.0.0.1:9/fhir",
        mss_smtp_host="127.0.0.1",
        mss_smtp_port=9,
        mss_from="fam@test.mssante.fr",
        mss_cert=tmp_path / "none.pem",
        mss_key=tmp_path / "none.key",
    )
    yield
    state.transmission_settings = before


def test_a_coordinator_transmits_a_validated_version_and_sees_its_status(
    configured: None,
    open_as: PageFactory,
    fresh_ppa: Callable[..., str],
    api_as: Callable[[str], Api],
) -> None:
    ppa_id = fresh_ppa("PPA à transmettre")
    number = validate_by_api(api_as("coordinatrice"), ppa_id)["number"]
    page = open_as("coordinatrice", f"#/ppa/{ppa_id}")
    panel = open_history(page)
    panel.get_by_text(f"Transmissions v{number}").click()
    block = panel.locator(".transmissions-menu").filter(has_text=f"Transmissions v{number}")
    expect(block.get_by_text("Aucune transmission.")).to_be_visible()
    expect(block.get_by_role("button", name="Envoyer la fiche de liaison à la MDPH")).to_have_count(
        0
    )
    block.get_by_label("Canal").select_option("dmp")
    block.get_by_role("button", name="Transmettre").click()
    row = block.locator(".transmission")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("DMP · PPA")
    expect(row).to_contain_text("En attente d'envoi")
    # MSSanté to a professional of the cercle picked in the list: the demo's have no MSSanté
    # address, and the service says so.
    block.get_by_label("Canal").select_option("mssante")
    block.locator(".transmit__members input[type=checkbox]").first.check()
    block.get_by_role("button", name="Transmettre").click()
    expect(panel.get_by_text("n'a pas d'adresse MSSanté enregistrée")).to_be_visible()
    expect(row).to_have_count(1)
    assert axe_violations(page) == []  # a row, the recipient list and the refusal shown

    reader = open_as("assistante-sociale", f"#/ppa/{ppa_id}")
    reader_panel = open_history(reader)
    reader_panel.get_by_text(f"Transmissions v{number}").click()
    theirs = reader_panel.locator(".transmissions-menu").filter(has_text=f"Transmissions v{number}")
    expect(theirs.locator(".transmission")).to_contain_text("En attente d'envoi")
    expect(theirs.get_by_role("button", name="Transmettre")).to_have_count(0)
    assert axe_violations(reader) == []


def _mdph_of(api: Api, person_id: str) -> dict[str, Any]:
    """The MDPH of the département of the person's structure, with an MSSanté address."""
    person = api.get(f"/api/persons/{person_id}").json()
    structures = api.get("/api/structures").json()
    home = next(s for s in structures if s["id"] == person["structure_id"])
    dep = home["departement"] or home["finess"][:2]
    found = next((s for s in structures if s["kind"] == "mdph" and s["departement"] == dep), None)
    if found is not None:
        return dict(found)
    payload = f"{dep}{random.randint(0, 9_999_999):07d}"[:8]
    created = api.post(
        "/api/structures",
        json={
            "finess": payload + luhn_key(payload),
            "name": f"MDPH {dep}",
            "kind": "mdph",
            "departement": dep,
            "mss_address": f"mdph{dep}@test.mssante.fr",
        },
    )
    assert created.status_code == 201, created.text
    return dict(created.json())


def test_validating_an_avenant_offers_the_fiche_de_liaison_to_the_mdph(
    configured: None,
    open_as: PageFactory,
    fresh_ppa: Callable[..., str],
    api_as: Callable[[str], Api],
    demo: dict[str, Any],
) -> None:
    """Use case 3 in the browser: the avenant validated, its transmissions unfold with "Envoyer
    la fiche de liaison à la MDPH"; one click: MSSanté to the MDPH and the DMP, two rows; a
    structure of the directory picked as the recipient of the PPA."""
    api = api_as("coordinatrice")
    mdph = _mdph_of(api, demo["person_id"])
    ppa_id = fresh_ppa("PPA à l'avenant pour la MDPH")
    validate_by_api(api, ppa_id)
    assert api.post(f"/api/ppas/{ppa_id}/avenant").status_code in (200, 201)
    page = open_as("coordinatrice", f"#/ppa/{ppa_id}")
    panel = open_history(page)
    panel.get_by_role("button", name="Valider l'avenant").click()
    dialog = page.get_by_role("dialog", name="Valider l'avenant")
    dialog.get_by_role("group", name="Accord de la personne").get_by_role(
        "radio", name="Non sollicité"
    ).check()
    dialog.get_by_label("Motif (refus ou accord non sollicité)").fill("Changement de salle.")
    dialog.get_by_role("button", name="Valider définitivement l'avenant").click()
    expect(dialog).to_have_count(0)
    avenant = panel.locator('.version[data-kind="avenant"]')
    expect(avenant).to_have_count(1)
    number = int(avenant.get_attribute("data-number") or "0")
    block = avenant.locator(".transmissions-menu")
    send = block.get_by_role("button", name="Envoyer la fiche de liaison à la MDPH")
    expect(send).to_be_visible()  # unfolded: offered without looking for it
    send.click()
    rows = block.locator(".transmission")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text(f"MSSanté · Fiche de liaison MDPH → {mdph['name']}")
    expect(rows.nth(1)).to_contain_text("DMP · Fiche de liaison MDPH")
    expect(rows).to_contain_text(["En attente d'envoi", "En attente d'envoi"])

    block.get_by_label("Canal").select_option("mssante")
    block.get_by_label("Structure de l'annuaire").select_option(mdph["id"])
    block.get_by_role("button", name="Transmettre").click()
    expect(rows).to_have_count(3)
    expect(rows.nth(2)).to_contain_text(f"MSSanté · PPA → {mdph['name']}")
    listed = api.get(f"/api/ppas/{ppa_id}/versions/{number}/transmissions").json()
    assert [(t["channel"], t["document"]) for t in listed] == [
        ("mssante", "mdph"),
        ("dmp", "mdph"),
        ("mssante", "ppa"),
    ]
