"""The person and their aidant write only their own fields (server/collab/policy.py): their
projet de vie, their attentes and their opinion (avis) on each objective and action. The UI
offers nothing else, and a write outside those fields is refused by the server."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import expect

from tests.conftest import Api
from tests.e2e.conftest import PageFactory, axe_violations, content_of, text_control, wait_saved

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("username", ["usager", "aidant"])
def test_person_and_aidant_edit_only_their_own_fields(
    open_as: PageFactory,
    fresh_ppa: Callable[..., str],
    api_as: Callable[[str], Api],
    username: str,
) -> None:
    ppa_id = fresh_ppa()
    api = api_as("coordinatrice")
    before = content_of(api, ppa_id)
    own = [a for a in before["attentes"] if a["origine"] in ("personne", "entourage")]
    pro = [a for a in before["attentes"] if a["origine"] == "professionnel"]
    objectif = before["objectifs"][0]
    page = open_as(username, f"#/ppa/{ppa_id}")

    expect(page.locator(".banner--info")).to_contain_text("vous pouvez écrire", ignore_case=True)
    editable = page.locator(".ppa-form [data-field]:has(textarea, input, select)")
    keys = editable.evaluate_all("els => els.map(e => e.dataset.field)")
    expected = {f"attentes/{a['id']}/{k}" for a in own for k in ("origine", "texte")}
    expected |= {
        f"objectifs/{o['id']}/{k}"
        for o in before["objectifs"]
        for k in ("avis_usager", "accord_usager")
    }
    expected |= {f"actions/{a['id']}/avis_usager" for a in before["actions"]}
    expected.add("projet_de_vie")  # her own words (issue 17, point 8)
    assert set(keys) == expected
    for key in ("projet/titre", f"attentes/{pro[0]['id']}/texte"):
        expect(page.locator(f'[data-field="{key}"] .ro-value')).to_be_visible()

    avis = text_control(page, f"objectifs/{objectif['id']}/avis_usager")
    avis.click()
    page.keyboard.press("Control+End")
    page.keyboard.type(" Je veux aussi un agenda.")
    page.get_by_role("button", name="Ajouter une attente").click()
    expect(page.locator("#attentes article").last.locator("textarea")).to_be_focused()
    page.keyboard.type("Voir ma sœur plus souvent.")
    wait_saved(page)
    after = content_of(api, ppa_id)
    assert after["objectifs"][0]["avis_usager"] == objectif["avis_usager"] + (
        " Je veux aussi un agenda."
    )
    added = after["attentes"][-1]
    assert added["texte"] == "Voir ma sœur plus souvent."
    assert added["origine"] == ("personne" if username == "usager" else "entourage")

    # a write outside their fields, forced from page JS, is refused: nothing stored, and the
    # editor reopens on the server's copy with the reason
    page.evaluate(
        """() => {
            const doc = window.ppaCollab.session.doc
            doc.getMap('projet').set('date_fin', '2099-12-31')
        }"""
    )
    expect(page.get_by_role("alert").filter(has_text="propres champs")).to_be_visible()
    expect(page.get_by_role("alert").filter(has_text="Le document a été rechargé")).to_be_visible()
    expect(page.locator('[data-field="projet/date_fin"] .ro-value')).not_to_contain_text("2099")
    assert content_of(api, ppa_id)["projet"]["date_fin"] == before["projet"]["date_fin"]
    assert axe_violations(page) == []  # her own fields, the refusal's alerts
    # and they can go on writing their own fields
    avis = text_control(page, f"objectifs/{objectif['id']}/avis_usager")
    avis.click()
    page.keyboard.press("Control+End")
    page.keyboard.type("!")
    wait_saved(page)
    assert content_of(api, ppa_id)["objectifs"][0]["avis_usager"].endswith("agenda.!")
