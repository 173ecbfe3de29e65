"""The editor decides on a notice's code, never on its text: notices whose French message was
reworded, injected into the page's live connection, still get the same reaction (a shown
message, the rights notice, a reopened copy, read-only, locked)."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, WebSocketRoute, expect

from editor.collab.lib0 import write_var_string
from editor.collab.protocol import MessageType, Notice, NoticeCode, encode_notice
from server.collab.notices import PpaNoticeCode
from tests.e2e.conftest import PageFactory, save_state, wait_saved

pytestmark = pytest.mark.browser

EDIT_CONTROLS = ".ppa-form textarea, .ppa-form input, .ppa-form select"
LIVE = re.compile(r"/ws/ppa/")


def routed(page: Page) -> list[WebSocketRoute]:
    """Route the page's live connections through the test (each connection, in order), reload
    it, and wait until it is connected and saved."""
    routes: list[WebSocketRoute] = []

    def route(ws: WebSocketRoute) -> None:
        ws.connect_to_server()
        routes.append(ws)

    page.route_web_socket(LIVE, route)
    page.reload()
    expect(page.locator(".ppa-form")).to_have_attribute("aria-busy", "false")
    wait_saved(page)
    assert routes
    return routes


def tell(routes: list[WebSocketRoute], notice: Notice | str) -> None:
    """Send a notice (or a bare reason, as a server older than the codes) to the page."""
    if isinstance(notice, Notice):
        routes[-1].send(encode_notice(notice))
    else:
        routes[-1].send(bytes([MessageType.AUTH, 0]) + write_var_string(notice))


def test_reworded_notices_get_the_same_reaction(
    open_as: PageFactory, fresh_ppa: Callable[..., str]
) -> None:
    ppa_id = fresh_ppa()
    page = open_as("coordinatrice", f"#/ppa/{ppa_id}")
    routes = routed(page)
    toast = page.locator(".toast")

    repaired = "Votre saisie a été ajustée au format du document (texte reformulé)."
    tell(routes, Notice(NoticeCode.LAYOUT_REPAIRED, repaired))
    expect(toast).to_have_text(repaired)
    expect(toast).to_have_attribute("data-code", "layout_repaired")
    expect(save_state(page)).to_have_text("Enregistré")
    expect(page.locator(EDIT_CONTROLS).first).to_be_visible()

    later = "Un message d'un serveur plus récent."
    tell(routes, Notice("code_a_venir", later))
    expect(toast).to_have_text(later)
    expect(save_state(page)).to_have_text("Enregistré")

    more = "Des droits supplémentaires vous attendent (texte reformulé)."
    tell(routes, Notice(PpaNoticeCode.RIGHTS_CHANGED, more))
    rights = page.locator(".notice--rights")
    expect(rights).to_contain_text(more)
    expect(rights.get_by_role("button", name="Se reconnecter")).to_be_visible()
    expect(save_state(page)).to_have_text("Enregistré")

    connections = len(routes)
    refused = "Cette écriture sort de vos champs (texte reformulé)."
    tell(routes, Notice(PpaNoticeCode.OWN_FIELDS_ONLY, refused))
    expect(page.get_by_role("alert").filter(has_text="rechargé")).to_have_text(
        f"{refused} Le document a été rechargé."
    )
    expect(page.locator(".ppa-form")).to_have_attribute("aria-busy", "false")
    wait_saved(page)
    assert len(routes) > connections, "reopened on a new connection"

    fewer = "Vos droits ont été réduits (texte reformulé)."
    tell(routes, Notice(PpaNoticeCode.RIGHTS_REDUCED, fewer))
    expect(page.locator(".banner")).to_contain_text(fewer)
    expect(save_state(page)).to_have_text("Lecture seule")
    expect(page.locator(EDIT_CONTROLS)).to_have_count(0)


def test_locked_by_code_and_a_bare_reason_is_read_only(
    open_as: PageFactory, fresh_ppa: Callable[..., str]
) -> None:
    ppa_id = fresh_ppa()
    page = open_as("coordinatrice", f"#/ppa/{ppa_id}")
    routes = routed(page)

    bare = "Un ancien serveur : cette phrase n'a pas de code."
    tell(routes, bare)
    expect(page.locator(".banner")).to_contain_text(bare)
    expect(save_state(page)).to_have_text("Lecture seule")
    expect(page.locator(".badge--locked")).to_have_count(0)

    tell(routes, Notice(NoticeCode.LOCKED, "Validation terminée (texte reformulé)."))
    expect(page.locator(".badge--locked")).to_have_text("Verrouillé")
    expect(page.locator(".banner--locked")).to_contain_text("Document verrouillé.")
