"""The Transmissions block of a validated version: a coordinator transmits it (DMP) and sees the
transmission's status, picks a professional of the cercle for MSSanté and reads why it is refused;
a reader sees the statuses but no button."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

from server.transmissions.settings import TransmissionSettings
from tests.conftest import Api, LiveServer
from tests.e2e.conftest import PageFactory
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

    reader = open_as("assistante-sociale", f"#/ppa/{ppa_id}")
    reader_panel = open_history(reader)
    reader_panel.get_by_text(f"Transmissions v{number}").click()
    theirs = reader_panel.locator(".transmissions-menu").filter(has_text=f"Transmissions v{number}")
    expect(theirs.locator(".transmission")).to_contain_text("En attente d'envoi")
    expect(theirs.get_by_role("button", name="Transmettre")).to_have_count(0)
