"""Automatic checkpoints: at the end of every editing session (the room unloads), never twice for
the same content, never on a locked PPA; and the demo's seeded history."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.datastructures import State

from server.db import Database
from server.ppas.documents import StoredDocumentSource
from server.versions_api.service import checkpoint
from tests.conftest import LiveServer, login, make_settings
from tests.server.versions.conftest import session_ended
from tests.server.versions.helpers import AUDITOR, CONTRIB, COORD, ESMS, new_ppa, validate
from tests.server.versions.live import edit_over_websocket
from versions.bundle import verify_bundle


@pytest.fixture(scope="module")
def quick_unload(settings: Any, database: Any) -> Iterator[LiveServer]:
    """The app on the same database, unloading idle rooms after 0.2 s (ends sessions fast)."""
    server = LiveServer(make_settings(database, settings.data_dir, collab_unload_after_seconds=0.2))
    server.start()
    yield server
    server.stop()


def _versions(api_as: Any, ppa_id: str) -> list[dict[str, Any]]:
    response = api_as(COORD).get(f"/api/ppas/{ppa_id}/versions")
    assert response.status_code == 200, response.text
    versions: list[dict[str, Any]] = response.json()
    return versions


def _wait_for_versions(api_as: Any, ppa_id: str, count: int) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 20
    versions = _versions(api_as, ppa_id)
    while len(versions) < count:
        assert time.monotonic() < deadline, versions
        time.sleep(0.05)
        versions = _versions(api_as, ppa_id)
    return versions


def test_end_of_editing_session_leaves_a_checkpoint(
    api_as: Any, demo: dict[str, Any], quick_unload: LiveServer
) -> None:
    setup = new_ppa(api_as, demo)
    passwords = {login_["username"]: login_["password"] for login_ in demo["logins"]}
    token = login(quick_unload.url, CONTRIB, passwords[CONTRIB])
    edit_over_websocket(
        quick_unload.ws_url, setup.ppa_id, token, lambda c: setattr(c, "projet_de_vie", "Un.")
    )
    (first,) = _wait_for_versions(api_as, setup.ppa_id, 1)
    assert first["kind"] == "checkpoint"
    assert first["label"] == "Fin de session d'édition"
    assert first["created_by"] == "system:checkpoint"
    me = api_as(CONTRIB).get("/api/auth/me").json()["id"]
    assert first["authors"] == [me]
    content = api_as(COORD).get(f"/api/ppas/{setup.ppa_id}/versions/1").json()["content"]
    assert content["projet_de_vie"] == "Un."

    # A session that changes nothing leaves no checkpoint; the next change does. Each session
    # is waited for until its room is unloaded and its session-end hook has run.
    with session_ended(quick_unload, setup.ppa_id):
        edit_over_websocket(quick_unload.ws_url, setup.ppa_id, token, lambda c: None)
    assert len(_versions(api_as, setup.ppa_id)) == 1
    with session_ended(quick_unload, setup.ppa_id):
        edit_over_websocket(
            quick_unload.ws_url,
            setup.ppa_id,
            token,
            lambda c: setattr(c, "projet_de_vie", "Deux."),
        )
    versions = _versions(api_as, setup.ppa_id)
    assert [v["kind"] for v in versions] == ["checkpoint", "checkpoint"]


def _checkpoint(settings: Any, ppa_id: str) -> int | None:
    """Call the service hook as the collaboration engine does, in a runtime of its own."""

    async def run() -> int | None:
        state = State()
        state.settings = settings
        state.db = Database(settings.resolved_database_url())
        state.documents = StoredDocumentSource()
        try:
            return await checkpoint(state, ppa_id, "Essai")
        finally:
            await state.db.dispose()

    return asyncio.run(run())


def test_checkpoint_skips_unchanged_and_locked_ppas(
    api_as: Any, demo: dict[str, Any], settings: Any
) -> None:
    setup = new_ppa(api_as, demo)
    assert _checkpoint(settings, setup.ppa_id) == 1
    assert _checkpoint(settings, setup.ppa_id) is None
    assert validate(api_as(COORD), setup.ppa_id).status_code == 201
    assert _checkpoint(settings, setup.ppa_id) is None
    labels = [v["label"] for v in _versions(api_as, setup.ppa_id)]
    assert labels == ["Essai", "v1 - version validée"]


def test_demo_seeds_a_validated_ppa_with_history(api_as: Any, demo: dict[str, Any]) -> None:
    assert demo["validated_ppa_id"] != demo["ppa_id"]
    draft = api_as(COORD).get(f"/api/ppas/{demo['ppa_id']}").json()
    assert (draft["status"], draft["locked"]) == ("draft", False)
    history = demo["history"]
    assert history["status"] == "avenant_draft"
    assert demo["avenant_in_progress"] is True
    validated = demo["validated_version"]
    before = [n for n in demo["checkpoint_versions"] if n < validated]
    assert len(before) >= 2
    versions = _versions(api_as, demo["validated_ppa_id"])
    assert [v["number"] for v in versions] == [v["number"] for v in history["versions"]]
    kinds = {v["number"]: v["kind"] for v in versions}
    assert kinds[validated] == "validated"
    assert all(kinds[n] == "checkpoint" for n in before)
    one = api_as(COORD).get(f"/api/ppas/{demo['validated_ppa_id']}/versions/{validated}").json()
    assert [a["type"] for a in one["accords"]] == ["structure", "personne"]
    assert one["next_review"] is not None
    diff = (
        api_as(COORD)
        .get(f"/api/ppas/{demo['validated_ppa_id']}/diff", params={"from": 1, "to": validated})
        .json()
    )
    assert diff["authorship"] == "update_log"
    names = {a["name"] for item in diff["items"] for a in item["authors"]}
    assert {"Sophie Lefèvre", "Julien Moreau", "Claire Durand"} <= names
    avenant = (
        api_as(COORD)
        .get(
            f"/api/ppas/{demo['validated_ppa_id']}/diff",
            params={"from": validated, "to": validated + 1},
        )
        .json()
    )
    assert [(i["section"], i["kind"]) for i in avenant["items"]] == [("actions", "changed")]
    assert [a["name"] for a in avenant["items"][0]["authors"]] == ["Julien Moreau"]
    esms = api_as(ESMS).get(f"/api/ppas/{demo['validated_ppa_id']}/versions").json()
    assert [v["number"] for v in esms] == [validated]
    bundle = api_as(AUDITOR).get(f"/api/ppas/{demo['validated_ppa_id']}/audit-bundle")
    assert bundle.status_code == 200
    assert verify_bundle(bundle.content).ok
