"""Read-only modes are obvious (no editing controls, the reason shown) and enforced by the
server (a Yjs write forced from the page is neither stored nor relayed)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.conftest import Api, LiveServer
from tests.e2e.conftest import (
    PageFactory,
    axe_violations,
    content_of,
    save_state,
    text_control,
    wait_saved,
)
from tests.server.versions.helpers import PERSON_ACCORD

pytestmark = pytest.mark.browser

ESMS_REASON = "Système de structure : consultation des versions validées uniquement."
"""editor/web/src/permissions.js, READ_ONLY_REASONS.esms"""
EDIT_CONTROLS = (
    ".ppa-form textarea, .ppa-form input, .ppa-form select, .ppa-form button:not(.section-toggle)"
)
"""Controls that change the document (a section's toggle only folds it)."""


def force_write(page: Page, text: str) -> None:
    """Write into the live document from page JS, as a tampered client would, and wait for the
    server's answer to it (its sync step 2 comes after the write was handled)."""
    page.evaluate(
        """async (text) => {
            const session = window.ppaCollab.session
            session.doc.transact(() => {
                session.doc.getText('projet_de_vie').insert(0, text)
                session.doc.getMap('projet').set('date_fin', '2099-01-01')
            })
            await session.whenFlushed()
        }""",
        text,
    )


def test_reader_sees_no_controls_and_cannot_write(
    open_as: PageFactory, fresh_ppa: Callable[..., str], api_as: Callable[[str], Api]
) -> None:
    ppa_id = fresh_ppa()
    api = api_as("coordinatrice")
    before = content_of(api, ppa_id)
    reader = open_as("assistante-sociale", f"#/ppa/{ppa_id}")
    writer = open_as("coordinatrice", f"#/ppa/{ppa_id}")
    wait_saved(writer)

    expect(reader.locator(".banner")).to_contain_text("lecture seule")
    expect(save_state(reader)).to_have_text("Lecture seule")
    expect(reader.locator(".ppa-form .ro-value").first).to_be_visible()
    expect(reader.locator(EDIT_CONTROLS)).to_have_count(0)
    expect(reader.locator(".ppa-form")).to_contain_text(before["projet_de_vie"])

    force_write(reader, "ÉCRIT PAR LE LECTEUR ")
    assert axe_violations(reader) == []  # read-only form, after a refused write
    after = content_of(api, ppa_id)
    assert after["projet_de_vie"] == before["projet_de_vie"]
    assert after["projet"]["date_fin"] == before["projet"]["date_fin"]

    # the writer's own edit reaches the reader; the reader's forced write never reached anyone
    text_control(writer, "projet_de_vie").click()
    writer.keyboard.press("Control+End")
    writer.keyboard.type(" Fin.")
    wait_saved(writer)
    expect(reader.locator('[data-field="projet_de_vie"] .ro-value')).to_contain_text(" Fin.")
    expect(text_control(writer, "projet_de_vie")).to_have_value(before["projet_de_vie"] + " Fin.")
    assert content_of(api, ppa_id)["projet_de_vie"] == before["projet_de_vie"] + " Fin."


def test_auditor_reads_validated_history_and_downloads_the_audit_bundle(
    open_as: PageFactory, fresh_ppa: Callable[..., str], api_as: Callable[[str], Api]
) -> None:
    fresh_ppa("Brouillon invisible pour l'audit")
    ppa_id = fresh_ppa("PPA audité")
    response = api_as("coordinatrice").post(
        f"/api/ppas/{ppa_id}/validate",
        json={"structure": {"par": "Claire Durand"}, "personne": PERSON_ACCORD},
    )
    assert response.status_code == 201, response.text

    auditor = open_as("auditeur")
    expect(auditor.get_by_role("link", name="PPA audité")).to_be_visible()
    expect(auditor.get_by_role("link", name="Brouillon invisible pour l'audit")).to_have_count(0)
    auditor.get_by_role("link", name="PPA audité").click()
    expect(auditor.locator(".ppa-form")).to_have_attribute("aria-busy", "false")
    expect(auditor.locator(".banner--locked")).to_be_visible()
    expect(auditor.locator(EDIT_CONTROLS)).to_have_count(0)

    auditor.get_by_role("button", name="Historique, validation et exports").click()
    panel = auditor.get_by_role("complementary", name="Historique, validation et exports")
    expect(panel.locator('.version[data-kind="validated"]')).to_have_count(1)
    expect(panel.get_by_role("button", name="Ouvrir un avenant")).to_have_count(0)
    expect(panel.get_by_role("button", name=re.compile("^Restaurer"))).to_have_count(0)
    with auditor.expect_download() as info:
        panel.get_by_role("button", name="Télécharger le dossier d'audit").click()
    download = info.value
    assert (
        download.suggested_filename
        == "Dossier-audit-PPA-Lea-MARTIN-"
        + str(content_of(api_as("coordinatrice"), ppa_id)["projet"]["date_debut"][:4])
        + ".zip"
    )
    assert download.path().read_bytes()[:2] == b"PK"


def test_esms_reads_a_validated_ppa_without_controls(
    browser: Browser,
    live_server: LiveServer,
    demo: dict[str, Any],
    fresh_ppa: Callable[..., str],
    api_as: Callable[[str], Api],
) -> None:
    """An ESMS (a structure's software, API token) has no login form and no browser session:
    the browser sends its token in an ``Authorization`` header (REST and WebSocket), and the
    page's question "who is logged in" is answered with the ESMS (the editor keeps no token)."""
    ppa_id = fresh_ppa("PPA transmis à l'ESMS")
    coordinatrice = api_as("coordinatrice")
    response = coordinatrice.post(
        f"/api/ppas/{ppa_id}/validate",
        json={"structure": {"par": "Claire Durand"}, "personne": PERSON_ACCORD},
    )
    assert response.status_code == 201, response.text
    before = content_of(coordinatrice, ppa_id)
    esms = api_as("esms")
    me = esms.get("/api/auth/me")
    assert me.status_code == 200, me.text
    assert esms.get(f"/api/ppas/{ppa_id}").json()["my_role"] == "esms"

    context = browser.new_context(
        locale="fr-FR",
        timezone_id="Europe/Paris",
        extra_http_headers={"Authorization": f"Bearer {demo['esms']['token']}"},
    )
    session = {"user": me.json(), "method": "api", "csrf_token": "", "expires_at": ""}
    context.route(
        "**/api/auth/session",
        lambda route: route.fulfill(json=session),
    )
    errors: list[str] = []
    page = context.new_page()
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{live_server.url}/#/ppa/{ppa_id}")
    expect(page.locator(".ppa-form")).to_have_attribute("aria-busy", "false")

    expect(page.locator(".badges")).to_contain_text("Système de structure (ESMS)")
    expect(page.locator(".banner")).to_contain_text(ESMS_REASON)
    expect(save_state(page)).to_have_text("Lecture seule")
    expect(page.locator(".ppa-form")).to_contain_text(before["projet_de_vie"])
    expect(page.locator(".ppa-form .ro-value").first).to_be_visible()
    expect(page.locator(EDIT_CONTROLS)).to_have_count(0)
    assert axe_violations(page) == []
    # nor in the history panel: no version to save, nothing to validate, restore or reopen
    page.get_by_role("button", name="Historique, validation et exports").click()
    panel = page.get_by_role("complementary", name="Historique, validation et exports")
    expect(panel.locator('.version[data-kind="validated"]')).to_have_count(1)
    expect(panel.get_by_label("Nom de la version")).to_have_count(0)
    expect(
        panel.get_by_role(
            "button",
            name=re.compile("^(Restaurer|Ouvrir un avenant|Valider|Démarrer une révision)"),
        )
    ).to_have_count(0)

    force_write(page, "ÉCRIT PAR L'ESMS ")
    assert content_of(coordinatrice, ppa_id) == before
    context.close()
    assert errors == []
