"""Live co-editing in two real browsers: character-level merge, presence, offline and reconnect."""

from __future__ import annotations

import contextlib
import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import anyio
import pytest
from playwright.sync_api import Page, expect

from editor.collab.ports import StoredUpdate
from tests.conftest import Api, LiveServer
from tests.e2e.conftest import (
    ARTIFACTS,
    OFFLINE,
    SAVED,
    PageFactory,
    axe_violations,
    content_of,
    save_state,
    text_control,
    wait_saved,
)

pytestmark = pytest.mark.browser

SAVING = "Enregistrement…"
"""editor/web/src/collab/session.js, SAVE_LABELS.saving"""


class HeldStore:
    """The live server's durable store, held back for one PPA: its appends wait until
    :meth:`release` (test-only: wraps the running server's store instance, undone on exit)."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.reached = threading.Event()

    def release(self) -> None:
        self.gate.set()


@contextlib.contextmanager
def held_store(live_server: LiveServer, ppa_id: str) -> Iterator[HeldStore]:
    store = live_server.app.state.collab.store
    original = store.append_many
    held = HeldStore()

    async def append_many(batches: Sequence[tuple[str, Sequence[StoredUpdate]]]) -> list[int]:
        if any(doc_id == ppa_id for doc_id, _ in batches) and not held.gate.is_set():
            held.reached.set()
            await anyio.to_thread.run_sync(held.gate.wait)
        seqs: list[int] = await original(batches)
        return seqs

    setattr(store, "append_many", append_many)  # noqa: B010 (an instance attribute shadows it)
    try:
        yield held
    finally:
        held.release()
        delattr(store, "append_many")


def wait_until(condition: Callable[[], bool], what: str) -> None:
    """Wait for a condition of the server's state (not a timing assertion: the limit only
    keeps a broken run from hanging)."""
    deadline = time.monotonic() + 30
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"never happened: {what}")
        time.sleep(0.02)


def record_save_states(page: Page) -> None:
    """From now on, every text the save state shows is kept in ``window.savedStates``."""
    page.evaluate(
        """() => {
            const el = document.querySelector('.save-state')
            window.savedStates = [el.textContent]
            new MutationObserver(() => window.savedStates.push(el.textContent))
                .observe(el, {childList: true, characterData: true, subtree: true})
        }"""
    )


def save_states(page: Page) -> list[str]:
    states: list[str] = page.evaluate("() => window.savedStates.slice()")
    return states


def test_two_professionals_typing_in_the_same_description_merge(
    open_as: PageFactory, fresh_ppa: Callable[..., str], api_as: Callable[[str], Api]
) -> None:
    ppa_id = fresh_ppa()
    api = api_as("coordinatrice")
    objectif = content_of(api, ppa_id)["objectifs"][0]
    original = objectif["description"]
    key = f"objectifs/{objectif['id']}/description"
    claire = open_as("coordinatrice", f"#/ppa/{ppa_id}")
    karim = open_as("infirmier", f"#/ppa/{ppa_id}")
    wait_saved(claire)
    wait_saved(karim)

    text_control(claire, key).click()
    claire.keyboard.press("Control+End")
    text_control(karim, key).click()
    karim.keyboard.press("Control+Home")
    at_end, at_start = " Claire ajoute ceci.", "Karim écrit là. "
    # Keystrokes alternate between the two browsers: each one types before it has received
    # the other's last characters, so the edits are concurrent.
    for i in range(max(len(at_end), len(at_start))):
        if i < len(at_end):
            claire.keyboard.type(at_end[i])
        if i < len(at_start):
            karim.keyboard.type(at_start[i])

    merged = at_start + original + at_end
    expect(text_control(claire, key)).to_have_value(merged)
    expect(text_control(karim, key)).to_have_value(merged)
    wait_saved(claire)
    wait_saved(karim)
    assert content_of(api, ppa_id)["objectifs"][0]["description"] == merged


def test_presence_shows_who_is_where_with_their_caret(
    open_as: PageFactory, fresh_ppa: Callable[..., str], api_as: Callable[[str], Api]
) -> None:
    ppa_id = fresh_ppa()
    objectif = content_of(api_as("coordinatrice"), ppa_id)["objectifs"][1]
    titre = f"objectifs/{objectif['id']}/titre"
    strategie = f"objectifs/{objectif['id']}/strategie"
    claire = open_as("coordinatrice", f"#/ppa/{ppa_id}", width=1400, height=1000)
    sophie = open_as("psychologue", f"#/ppa/{ppa_id}", width=1400, height=1000)

    expect(claire.locator(".presence")).to_contain_text("Sophie Lefèvre")
    expect(sophie.locator(".presence")).to_contain_text("Claire Durand")

    text_control(sophie, strategie).click()
    sophie.keyboard.press("Control+End")
    sophie.keyboard.type(" Séances filmées.")
    sophie.keyboard.press("Shift+ArrowLeft")
    for _ in range(7):
        sophie.keyboard.press("Shift+ArrowLeft")
    text_control(claire, titre).click()

    field = claire.locator(f'[data-field="{strategie}"]')
    expect(field).to_have_class(re.compile(r"\bhas-remote\b"))
    expect(field.locator(".remote-tag")).to_have_text("Sophie Lefèvre")
    expect(field.locator(".remote-caret")).to_have_count(1)
    expect(field.locator(".remote-selection")).to_have_text("filmées.")
    expect(claire.locator(".presence")).to_contain_text("Sophie Lefèvre — Objectif 2")
    expect(sophie.locator(f'[data-field="{titre}"] .remote-tag')).to_have_text("Claire Durand")

    assert axe_violations(claire) == []  # the presence outlines, tags and carets included

    ARTIFACTS.mkdir(exist_ok=True)
    field.scroll_into_view_if_needed()
    claire.evaluate("window.scrollBy(0, -260)")
    claire.screenshot(path=str(ARTIFACTS / "editor-two-users-claire.png"))
    sophie.locator(f'[data-field="{titre}"]').scroll_into_view_if_needed()
    sophie.evaluate("window.scrollBy(0, -200)")
    sophie.screenshot(path=str(ARTIFACTS / "editor-two-users-sophie.png"))

    sophie.context.close()
    expect(claire.locator(".presence")).not_to_contain_text("Sophie Lefèvre")
    expect(field.locator(".remote-tag")).to_have_count(0)


def test_offline_edits_merge_on_reconnect(
    open_as: PageFactory, fresh_ppa: Callable[..., str], api_as: Callable[[str], Api]
) -> None:
    ppa_id = fresh_ppa()
    api = api_as("coordinatrice")
    objectif = content_of(api, ppa_id)["objectifs"][1]
    original = objectif["strategie"]
    key = f"objectifs/{objectif['id']}/strategie"
    claire = open_as("coordinatrice", f"#/ppa/{ppa_id}")
    julien = open_as("ergotherapeute", f"#/ppa/{ppa_id}")
    wait_saved(claire)

    claire.context.set_offline(True)
    expect(save_state(claire)).to_have_text(OFFLINE)
    text_control(claire, key).click()
    claire.keyboard.press("Control+End")
    claire.keyboard.type(" (écrit hors ligne)")
    text_control(julien, key).click()
    julien.keyboard.press("Control+Home")
    julien.keyboard.type("[en ligne] ")
    wait_saved(julien)
    expect(save_state(claire)).to_have_text(OFFLINE)
    expect(text_control(claire, key)).to_have_value(original + " (écrit hors ligne)")

    claire.context.set_offline(False)
    expect(save_state(claire)).to_have_text(SAVED)
    merged = "[en ligne] " + original + " (écrit hors ligne)"
    expect(text_control(claire, key)).to_have_value(merged)
    expect(text_control(julien, key)).to_have_value(merged)
    assert content_of(api, ppa_id)["objectifs"][1]["strategie"] == merged


def test_offline_edits_survive_closing_the_tab_and_merge_with_a_colleagues(
    open_as: PageFactory, fresh_ppa: Callable[..., str], api_as: Callable[[str], Api]
) -> None:
    ppa_id = fresh_ppa()
    api = api_as("coordinatrice")
    original = content_of(api, ppa_id)["projet_de_vie"]
    claire = open_as("coordinatrice", f"#/ppa/{ppa_id}")
    wait_saved(claire)
    context = claire.context

    context.set_offline(True)
    expect(save_state(claire)).to_have_text(OFFLINE)
    text_control(claire, "projet_de_vie").click()
    claire.keyboard.press("Control+End")
    claire.keyboard.type(" Et avoir un chat.")
    # the local copy (IndexedDB) holds the edit before the tab goes away
    assert claire.evaluate("() => window.ppaCollab.session.whenStoredLocally()") is True
    claire.close()
    assert content_of(api, ppa_id)["projet_de_vie"] == original

    # while the tab is closed, a colleague edits the same field
    karim = open_as("infirmier", f"#/ppa/{ppa_id}")
    text_control(karim, "projet_de_vie").click()
    karim.keyboard.press("Control+Home")
    karim.keyboard.type("Karim : ")
    wait_saved(karim)
    assert content_of(api, ppa_id)["projet_de_vie"] == "Karim : " + original

    context.set_offline(False)
    reopened = context.new_page()
    # The session is the browser's (its cookie), not the tab's: no login again.
    reopened.goto(claire.url)
    merged = "Karim : " + original + " Et avoir un chat."
    expect(text_control(reopened, "projet_de_vie")).to_have_value(merged)
    wait_saved(reopened)
    expect(text_control(karim, "projet_de_vie")).to_have_value(merged)
    assert content_of(api, ppa_id)["projet_de_vie"] == merged


def test_undo_takes_back_only_ones_own_typing(
    open_as: PageFactory, fresh_ppa: Callable[..., str], api_as: Callable[[str], Api]
) -> None:
    ppa_id = fresh_ppa()
    api = api_as("coordinatrice")
    original = content_of(api, ppa_id)["projet_de_vie"]
    claire = open_as("coordinatrice", f"#/ppa/{ppa_id}")
    karim = open_as("infirmier", f"#/ppa/{ppa_id}")
    text_control(claire, "projet_de_vie").click()
    claire.keyboard.press("Control+End")
    claire.keyboard.type(" Claire.")
    wait_saved(claire)
    text_control(karim, "projet_de_vie").click()
    karim.keyboard.press("Control+Home")
    karim.keyboard.type("Karim. ")
    expect(text_control(claire, "projet_de_vie")).to_have_value(f"Karim. {original} Claire.")

    claire.keyboard.press("Control+z")
    expect(text_control(claire, "projet_de_vie")).to_have_value(f"Karim. {original}")
    expect(text_control(karim, "projet_de_vie")).to_have_value(f"Karim. {original}")
    claire.keyboard.press("Control+Shift+z")
    expect(text_control(karim, "projet_de_vie")).to_have_value(f"Karim. {original} Claire.")
    wait_saved(claire)
    assert content_of(api, ppa_id)["projet_de_vie"] == f"Karim. {original} Claire."


def test_saved_only_once_the_server_stored_the_edit(
    open_as: PageFactory,
    fresh_ppa: Callable[..., str],
    api_as: Callable[[str], Api],
    live_server: LiveServer,
) -> None:
    ppa_id = fresh_ppa()
    api = api_as("coordinatrice")
    original = content_of(api, ppa_id)["projet_de_vie"]
    claire = open_as("coordinatrice", f"#/ppa/{ppa_id}")
    wait_saved(claire)
    record_save_states(claire)

    with held_store(live_server, ppa_id) as held:
        text_control(claire, "projet_de_vie").click()
        claire.keyboard.press("Control+End")
        claire.keyboard.type(" Écrit pendant que le serveur attend.")
        expect(save_state(claire)).to_have_text(SAVING)
        # the edit reached the store, which holds it; the page asked whether it is stored
        # (its barrier), and the server holds that answer too
        assert held.reached.wait(30), "the edit never reached the store"
        # (one barrier in flight at a time: the first one, sent after the first keystroke)
        claire.wait_for_function(
            "() => window.ppaCollab.session.pendingStep1.some((s) => typeof s === 'number')"
        )
        room: Any = live_server.app.state.collab.manager.room(ppa_id)
        wait_until(lambda: bool(room._deferred), "the server received the page's barrier")
        expect(save_state(claire)).to_have_text(SAVING)
        while_held = save_states(claire)
        assert SAVING in while_held
        assert SAVED not in while_held[while_held.index(SAVING) :], while_held

        held.release()
        wait_saved(claire)

    assert content_of(api, ppa_id)["projet_de_vie"] == (
        original + " Écrit pendant que le serveur attend."
    )
