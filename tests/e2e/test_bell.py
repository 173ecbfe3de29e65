"""The bell: its unread count follows a new notice live (no reload), the panel lists it with
its link (a new iteration: the diff with the previous version, opened by a click), "Tout marquer
comme lu" clears it; the settings page saves a choice, and verifies a mobile number for SMS."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import expect
from pydantic import SecretStr

from server.notifications.settings import NotificationSettings
from tests.conftest import Api, LiveServer
from tests.e2e.conftest import PageFactory, axe_violations
from tests.server.exports_api.support import wait_for
from tests.server.notifications.support import Gateway

pytestmark = pytest.mark.browser


def test_bell_updates_live_and_settings_save(
    open_as: PageFactory, fresh_ppa: Callable[..., str], api_as: Callable[[str], Api]
) -> None:
    ppa_id = fresh_ppa()
    coord = api_as("coordinatrice")
    before = coord.post(f"/api/ppas/{ppa_id}/versions", json={"label": "Avant la réunion"})
    assert before.status_code == 201, before.text
    nurse = api_as("infirmier")
    assert nurse.post("/api/me/notifications/read", json={"all": True}).status_code == 200
    page = open_as("infirmier", "#/")
    count = page.get_by_test_id("bell-count")
    expect(count).to_be_hidden()

    response = coord.post(f"/api/ppas/{ppa_id}/versions", json={"label": "Après la réunion"})
    assert response.status_code == 201, response.text
    first, second = before.json()["number"], response.json()["number"]
    expect(count).to_have_text("1")  # no reload: the stream told the page
    expect(page.get_by_test_id("bell")).to_contain_text("1 non lue")

    page.get_by_test_id("bell").click()
    link = page.locator("#bell-panel a", has_text="Nouvelle itération du PPA").first
    # a new iteration leads to what it changed: the diff with the previous version
    expect(link).to_have_attribute("href", f"#/ppa/{ppa_id}/diff/{first}/{second}")
    assert axe_violations(page) == []  # the panel open, an unread notice in it
    link.click()
    diff = page.get_by_role("region", name="Différences")
    expect(diff.get_by_role("heading")).to_have_text(f"Différences v{first} → v{second}")
    expect(page.locator("#history-panel")).to_be_visible()
    page.get_by_test_id("bell").click()
    page.get_by_role("button", name="Tout marquer comme lu").click()
    expect(count).to_be_hidden()

    chosen_before = _custom(nurse)
    page.get_by_role("link", name="Réglages").click()
    expect(page.locator("h1")).to_have_text("Mes notifications")
    box = page.get_by_label("Dans l'application : Le PPA a été validé")
    expect(box).to_be_checked()
    box.uncheck()
    page.get_by_role("button", name="Enregistrer").click()
    # email is chosen by default for validations: an address is asked for first
    expect(page.get_by_test_id("settings-error")).to_contain_text("adresse électronique")
    assert axe_violations(page) == []  # the settings page, its error shown
    page.get_by_label("Adresse électronique").fill("infirmier@example.org")
    page.get_by_role("button", name="Enregistrer").click()
    expect(page.get_by_test_id("settings-error")).to_be_empty()
    expect(page.get_by_label("Dans l'application : Le PPA a été validé")).not_to_be_checked()
    prefs = nurse.get("/api/me/notification-preferences").json()["natures"]
    validated = next(p for p in prefs if p["nature"] == "ppa.validated")
    assert "app" not in validated["channels"]
    # only what was changed is a choice: the other natures keep following the role's defaults
    assert _custom(nurse) == chosen_before | {"ppa.validated"}
    page.get_by_role("button", name="Revenir aux réglages par défaut").click()
    expect(page.get_by_label("Dans l'application : Le PPA a été validé")).to_be_checked()
    expect(page.get_by_role("button", name="Revenir aux réglages par défaut")).to_be_hidden()
    assert _custom(nurse) == set()
    reset = nurse.put("/api/me/notification-preferences", json={"email": None})
    assert reset.status_code == 200


def _custom(api: Api) -> set[str]:
    """The natures ``api``'s user chose (the others follow the defaults of their role)."""
    prefs = api.get("/api/me/notification-preferences").json()["natures"]
    return {p["nature"] for p in prefs if p["custom"]}


def test_mobile_number_verified_from_the_settings_page(
    open_as: PageFactory, api_as: Callable[[str], Api], live_server: LiveServer
) -> None:
    """The settings page takes a French number as typed, sends the code (a real HTTP SMS gateway
    on loopback), verifies it, and only then lets the user choose SMS."""
    gateway = Gateway()
    gateway.thread.start()
    state = live_server.app.state
    saved = getattr(state, "notification_settings", None)
    state.notification_settings = NotificationSettings(
        sms_url=gateway.url, sms_token=SecretStr("jeton-sms"), smtp_host="smtp.invalid"
    )
    ergo = api_as("ergotherapeute")
    try:
        page = open_as("ergotherapeute", "#/notifications")
        sms_box = page.get_by_label("SMS : Le PPA a été validé")
        expect(sms_box).to_be_disabled()
        expect(page.get_by_test_id("mobile-state")).to_contain_text("Aucun numéro")
        # email available: no notice about it, and no "null" written in its place
        expect(page.locator(".notification-settings")).not_to_contain_text("null")
        page.get_by_label("Numéro de mobile").fill("06 12 34 56 78")
        page.get_by_role("button", name="Recevoir un code par SMS").click()
        expect(page.get_by_test_id("mobile-state")).to_contain_text("+33612345678 à vérifier")
        ((_auth, sent),) = wait_for(lambda: list(gateway.received))
        assert sent["to"] == "+33612345678"
        match = re.search(r"\b(\d{6})\b", sent["text"])
        assert match is not None
        code = page.get_by_label("Code reçu par SMS (6 chiffres)")
        code.fill("000000" if match.group(1) != "000000" else "111111")
        page.get_by_role("button", name="Vérifier le numéro").click()
        expect(page.get_by_test_id("mobile-error")).to_contain_text("code incorrect")
        expect(sms_box).to_be_disabled()
        code.fill(match.group(1))
        page.get_by_role("button", name="Vérifier le numéro").click()
        expect(page.get_by_test_id("mobile-state")).to_contain_text("Numéro vérifié : +33612345678")
        expect(sms_box).to_be_enabled()
        sms_box.check()
        page.get_by_label("Adresse électronique").fill("ergotherapeute@example.org")
        with page.expect_response(
            lambda r: (
                r.url.endswith("/api/me/notification-preferences") and r.request.method == "PUT"
            )
        ) as saving:
            page.get_by_role("button", name="Enregistrer").click()
        assert saving.value.status == 200
        expect(page.get_by_test_id("settings-error")).to_be_empty()
        prefs = ergo.get("/api/me/notification-preferences").json()
        assert prefs["mobile_verified"] is True
        validated = next(p for p in prefs["natures"] if p["nature"] == "ppa.validated")
        assert "sms" in validated["channels"]
    finally:
        state.notification_settings = saved
        gateway.server.shutdown()
        gateway.server.server_close()
        ergo.delete("/api/me/mobile")
        every = [
            p["nature"] for p in ergo.get("/api/me/notification-preferences").json()["natures"]
        ]
        ergo.put("/api/me/notification-preferences", json={"email": None, "reset": every})
