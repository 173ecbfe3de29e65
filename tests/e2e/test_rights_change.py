"""A change of the cercle reaches an open editor at once: a contributor made reader sees the
read-only notice and loses the editing controls; made contributor again, the editor offers to
reconnect, and reconnecting gives the controls back."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import expect

from server.collab.rights import RIGHTS_CHANGED_NOTICE, RIGHTS_REDUCED_NOTICE
from tests.conftest import Api
from tests.e2e.conftest import PageFactory, content_of, save_state, text_control, wait_saved
from tests.server.helpers import person_body

pytestmark = pytest.mark.browser

EDIT_CONTROLS = ".ppa-form textarea, .ppa-form input, .ppa-form select"


def test_downgrade_shows_read_only_and_upgrade_offers_to_reconnect(
    open_as: PageFactory, api_as: Callable[[str], Api], demo: dict[str, Any]
) -> None:
    coord = api_as("coordinatrice")
    person = coord.post("/api/persons", json=person_body())
    assert person.status_code == 201, person.text
    person_id = person.json()["id"]
    nurse_id = api_as("infirmier").get("/api/auth/me").json()["id"]
    added = coord.post(
        f"/api/persons/{person_id}/cercle",
        json={"kind": "professional", "role": "contributor", "user_id": nurse_id},
    )
    assert added.status_code == 201, added.text
    member = f"/api/persons/{person_id}/cercle/{added.json()['id']}"
    created = coord.post(f"/api/persons/{person_id}/ppas", json={"title": "PPA droits"})
    assert created.status_code == 201, created.text
    ppa_id = created.json()["id"]

    page = open_as("infirmier", f"#/ppa/{ppa_id}")
    text_control(page, "projet_de_vie").click()
    page.keyboard.type("Avant.")
    wait_saved(page)

    assert coord.patch(member, json={"role": "reader"}).status_code == 200
    expect(page.locator(".banner")).to_contain_text(RIGHTS_REDUCED_NOTICE.message)
    expect(save_state(page)).to_have_text("Lecture seule")
    expect(page.locator(EDIT_CONTROLS)).to_have_count(0)
    expect(page.locator('[data-field="projet_de_vie"] .ro-value')).to_contain_text("Avant.")

    assert coord.patch(member, json={"role": "contributor"}).status_code == 200
    notice = page.locator(".notice--rights")
    expect(notice).to_contain_text(RIGHTS_CHANGED_NOTICE.message)
    notice.get_by_role("button", name="Se reconnecter").click()
    expect(page.locator(".ppa-form")).to_have_attribute("aria-busy", "false")
    text_control(page, "projet_de_vie").click()
    page.keyboard.press("Control+End")
    page.keyboard.type(" Après.")
    wait_saved(page)
    assert content_of(coord, ppa_id)["projet_de_vie"] == "Avant. Après."
