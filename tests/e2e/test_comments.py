"""Comments, mentions and suggestions in two real browsers (two users, two contexts): one
writes, the other sees it live (Server-Sent Events), answers, resolves; a mention becomes a
notice for the mentioned user; a reader suggests a new text and the coordinator accepts it in
place. axe-core finds no serious or critical violation in these states."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import Api
from tests.e2e.conftest import PageFactory, axe_violations, content_of, text_control
from tests.e2e.test_versions import validate_by_api

pytestmark = pytest.mark.browser

READER = "assistante-sociale"
COORD = "coordinatrice"


def open_panel(page: Page) -> Any:
    page.get_by_test_id("comments-button").click()
    panel = page.locator("#comments-panel")
    expect(panel).to_be_visible()
    expect(panel.get_by_role("heading", name="Commentaires et suggestions")).to_be_focused()
    return panel


def mentions_of(api: Api, ppa_id: str) -> list[dict[str, Any]]:
    items = api.get("/api/me/notifications?limit=100").json()["items"]
    return [n for n in items if n["nature"] == "mention" and n["ppa_id"] == ppa_id]


def test_comment_mention_reply_resolve_live(
    open_as: PageFactory, fresh_ppa: Callable[..., str], api_as: Callable[[str], Api]
) -> None:
    ppa_id = fresh_ppa("PPA commenté")
    objective = content_of(api_as(COORD), ppa_id)["objectifs"][0]
    anchor = f"objectifs/{objective['id']}/titre"
    coord_name = api_as(COORD).get("/api/auth/me").json()["display_name"]
    coord = open_as(COORD, f"#/ppa/{ppa_id}")
    reader = open_as(READER, f"#/ppa/{ppa_id}")

    # the reader clicks the objective's title (read-only for her), then comments on it
    reader_panel = open_panel(reader)
    reader.locator(f'[data-field="{anchor}"]').click()
    expect(reader_panel.get_by_test_id("comment-target")).to_have_value(anchor)
    box = reader_panel.get_by_label("Nouveau commentaire")
    box.fill("Bonjour @" + coord_name[:4])
    box.dispatch_event("input")
    reader_panel.get_by_role("button", name=f"Mentionner {coord_name}").click()
    box.press("End")
    box.type("pouvez-vous préciser ce titre ?")
    assert axe_violations(reader) == []
    reader_panel.get_by_role("button", name="Commenter").click()
    thread = reader_panel.locator("article.thread")
    expect(thread).to_have_count(1)
    expect(thread).to_contain_text("pouvez-vous préciser ce titre ?")
    expect(thread.locator("h3")).to_contain_text(objective["titre"])

    # the coordinator sees it live, without reloading: the count, then the thread
    expect(coord.get_by_test_id("comments-count")).to_have_text(" (1)")
    # the field says it is discussed (also in the other user's form)
    field = coord.locator(f'[data-field="{anchor}"]')
    expect(field).to_have_attribute("data-comments-label", "1 commentaire")
    coord_panel = open_panel(coord)
    coord_thread = coord_panel.locator("article.thread")
    expect(coord_thread).to_contain_text(f"@{coord_name} pouvez-vous préciser ce titre ?")
    # ... and was told: a notice of nature "mention" for this PPA
    told = mentions_of(api_as(COORD), ppa_id)
    assert len(told) == 1
    assert told[0]["label"] == "Quelqu'un m'a mentionné dans un commentaire"
    assert mentions_of(api_as("infirmier"), ppa_id) == []

    coord_thread.get_by_label("Répondre").fill("Oui : « Préparer ses repas » suffit.")
    coord_thread.get_by_role("button", name="Répondre").click()
    expect(reader.locator("#comments-panel article.thread")).to_contain_text("Préparer ses repas")
    coord_thread.get_by_role("button", name="Voir dans le PPA").click()
    expect(
        coord.locator(f'[data-field="{anchor}"] input, [data-field="{anchor}"] textarea').first
    ).to_be_focused()
    coord_panel.locator("article.thread").get_by_role("button", name="Résoudre").click()
    resolved = reader.locator("#comments-panel details.threads--resolved")
    expect(resolved.locator("summary")).to_have_text("Fils résolus (1)")
    expect(reader.get_by_test_id("comments-count")).to_have_text("")
    expect(field).not_to_have_attribute("data-comments", "1")
    assert axe_violations(coord) == []
    # the reader may reopen her own thread
    resolved.locator("summary").click()
    resolved.get_by_role("button", name="Rouvrir").click()
    expect(coord.get_by_test_id("comments-count")).to_have_text(" (1)")
    assert axe_violations(reader) == []


def test_reader_suggests_coordinator_accepts(
    open_as: PageFactory, fresh_ppa: Callable[..., str], api_as: Callable[[str], Api]
) -> None:
    ppa_id = fresh_ppa("PPA suggéré")
    action = content_of(api_as(COORD), ppa_id)["actions"][0]
    anchor = f"actions/{action['id']}/description"
    coord = open_as(COORD, f"#/ppa/{ppa_id}")
    reader = open_as(READER, f"#/ppa/{ppa_id}")
    proposed = "Atelier cuisine le mardi soir, avec l'éducatrice."

    panel = open_panel(reader)
    panel.get_by_test_id("comment-target").select_option(anchor)
    panel.get_by_text("Proposer une modification de ce champ").click()
    text = panel.get_by_label("Texte proposé pour ce champ")
    expect(text).to_have_value(action["description"])
    text.fill(proposed)
    panel.get_by_label("Pourquoi (facultatif)").fill("Le jour a changé.")
    panel.get_by_role("button", name="Proposer").click()
    suggestion = panel.locator("article.suggestion")
    expect(suggestion).to_contain_text("En attente")
    # a reader does not decide
    expect(suggestion.get_by_role("button", name="Accepter")).to_have_count(0)
    assert axe_violations(reader) == []

    coord_panel = open_panel(coord)
    pending = coord_panel.locator("article.suggestion")
    expect(pending).to_contain_text(proposed)
    expect(pending).to_contain_text("Le jour a changé.")
    assert axe_violations(coord) == []
    pending.get_by_role("button", name="Accepter").click()
    # applied in place: the coordinator's field, the reader's view and the stored content
    field = coord.locator(f'[data-field="{anchor}"]').locator("textarea, input").first
    expect(field).to_have_value(proposed)
    expect(reader.locator(f'[data-field="{anchor}"]')).to_contain_text(proposed)
    expect(reader.locator("#comments-panel article.suggestion").first).to_contain_text("Acceptée")
    described = next(
        a for a in content_of(api_as(COORD), ppa_id)["actions"] if a["id"] == action["id"]
    )
    assert described["description"] == proposed
    # the checkpoint the acceptance recorded shows the comments as they were then, read-only
    as_of = coord_panel.get_by_test_id("comments-as-of")
    coord.get_by_test_id("comments-button").click()  # closed, then opened: versions read again
    coord.get_by_test_id("comments-button").click()
    expect(as_of.locator("option")).not_to_have_count(1)
    newest = as_of.locator("option").nth(1).get_attribute("value")
    assert newest
    as_of.select_option(newest)
    expect(coord_panel.get_by_role("status").first).to_contain_text(f"à la version {newest}")
    expect(coord_panel.get_by_label("Nouveau commentaire")).to_be_hidden()
    expect(coord_panel.locator("article.suggestion").first).to_contain_text("Acceptée")
    expect(coord_panel.get_by_role("button", name="Accepter")).to_have_count(0)
    assert axe_violations(coord) == []


def test_the_aidant_suggests_during_an_avenant_and_the_coordinator_accepts(
    open_as: PageFactory, fresh_ppa: Callable[..., str], api_as: Callable[[str], Api]
) -> None:
    """Point 7's other case: a change proposed during a validated PPA's avenant review, by the
    person's side (her aidant, shown writing for her), decided by the coordinator in place."""
    ppa_id = fresh_ppa("PPA en avenant suggéré")
    api = api_as(COORD)
    validate_by_api(api, ppa_id)
    assert api.post(f"/api/ppas/{ppa_id}/avenant").status_code == 200
    action = content_of(api, ppa_id)["actions"][0]
    anchor = f"actions/{action['id']}/description"
    aidant = open_as("aidant", f"#/ppa/{ppa_id}")
    coord = open_as(COORD, f"#/ppa/{ppa_id}")
    proposed = "Atelier cuisine le jeudi, Léa préfère ce jour-là."

    panel = open_panel(aidant)
    panel.get_by_test_id("comment-target").select_option(anchor)
    panel.get_by_text("Proposer une modification de ce champ").click()
    panel.get_by_label("Texte proposé pour ce champ").fill(proposed)
    panel.get_by_role("button", name="Proposer").click()
    mine = panel.locator("article.suggestion")
    expect(mine).to_contain_text("En attente")
    expect(mine).to_contain_text("Emma Martin (sœur) pour Léa")
    expect(mine.get_by_role("button", name="Accepter")).to_have_count(0)
    assert axe_violations(aidant) == []

    coord_panel = open_panel(coord)
    pending = coord_panel.locator("article.suggestion")
    expect(pending).to_contain_text(proposed)
    expect(pending).to_contain_text("Emma Martin (sœur) pour Léa")
    pending.get_by_role("button", name="Accepter").click()
    expect(text_control(coord, anchor)).to_have_value(proposed)
    expect(aidant.locator("#comments-panel article.suggestion").first).to_contain_text("Acceptée")
    described = next(a for a in content_of(api, ppa_id)["actions"] if a["id"] == action["id"])
    assert described["description"] == proposed
    assert api.get(f"/api/ppas/{ppa_id}").json()["status"] == "avenant_draft"
    assert axe_violations(coord) == []
