"""The avenant's scope, live (rule 4): over the real collaboration WebSocket, a write beyond an
avenant's scope is refused with the notice ``avenant_scope`` and its French reason, and not
stored; an objective's follow-up goes through; the same write in a draft goes through."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from editor.schema import PPAContent, StatutObjectif
from exports.local_time import PARIS
from tests.conftest import LiveServer
from tests.server.versions.helpers import COORD, new_ppa, validate
from tests.server.versions.live import LiveEditor
from versions.lifecycle import add_months


def _write(
    live_server: LiveServer, api_as: Any, ppa_id: str, mutate: Callable[[PPAContent], Any]
) -> list[str]:
    """Send one edit as the coordinator; the codes of the notices received (``[]``: stored)."""
    token = api_as(COORD).token
    assert token is not None

    async def run() -> list[str]:
        async with LiveEditor(live_server.ws_url, ppa_id, token) as editor:
            await editor.send_edit(mutate)
            await editor.pump_until(lambda: bool(editor.denied) or editor.stored())
            return [f"{n.code}: {n.message}" for n in editor.denied]

    return asyncio.run(run())


def _retitle(content: PPAContent) -> None:
    content.objectifs[0].titre = "Un autre objectif"


def test_a_write_beyond_the_avenant_is_refused_live(
    api_as: Any, demo: dict[str, Any], live_server: LiveServer
) -> None:
    setup = new_ppa(api_as, demo)
    coord = api_as(COORD)
    assert _write(live_server, api_as, setup.ppa_id, _retitle) == []  # a draft: anything goes
    assert validate(coord, setup.ppa_id).status_code == 201
    assert coord.post(f"/api/ppas/{setup.ppa_id}/avenant").status_code == 200

    def follow_up(content: PPAContent) -> None:
        content.objectifs[0].statut = StatutObjectif.TERMINE
        content.objectifs[0].avis_usager = "C'est fait."

    assert _write(live_server, api_as, setup.ppa_id, follow_up) == []
    [notice] = _write(
        live_server, api_as, setup.ppa_id, lambda c: setattr(c.besoins[0], "code", "1.1.1")
    )
    assert notice.startswith("avenant_scope: Avenant en cours : modification refusée")
    assert "Le besoin « " in notice
    assert "créez une révision" in notice
    objectif = coord.get(f"/api/ppas/{setup.ppa_id}").json()["content"]["objectifs"][0]
    assert (objectif["statut"], objectif["avis_usager"]) == ("termine", "C'est fait.")
    besoin = coord.get(f"/api/ppas/{setup.ppa_id}").json()["content"]["besoins"][0]
    assert besoin["code"] == setup.content.besoins[0].code  # not stored


def test_the_yearly_review_is_not_stretched_live(
    api_as: Any, demo: dict[str, Any], live_server: LiveServer
) -> None:
    setup = new_ppa(api_as, demo)
    coord = api_as(COORD)
    assert validate(coord, setup.ppa_id).status_code == 201
    full_day = datetime.now(PARIS).date()  # validated just now
    assert coord.post(f"/api/ppas/{setup.ppa_id}/avenant").status_code == 200
    limit = add_months(full_day, 12)
    late = limit + timedelta(days=1)
    [notice] = _write(
        live_server, api_as, setup.ppa_id, lambda c: setattr(c.bilan, "prochaine_revision", late)
    )
    assert "au-delà de 12 mois après la dernière validation complète" in notice
    assert (
        _write(
            live_server,
            api_as,
            setup.ppa_id,
            lambda c: setattr(c.bilan, "prochaine_revision", limit),
        )
        == []
    )
