"""``GET /api/ppas/{id}/draft/pdf``: the current draft as a PDF without saving a version
(issue 17, point 9): its live content, watermarked, readable by draft readers only, audited."""

from __future__ import annotations

import contextlib
import dataclasses
import io
from collections.abc import Iterator
from typing import Any

from pypdf import PdfReader

from editor.schema import PPAContent
from tests.conftest import LiveServer
from tests.server.versions.conftest import Edit
from tests.server.versions.helpers import AUDITOR, COORD, ESMS, new_ppa


def _text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    return "\n".join(page.extract_text() or "" for page in reader.pages)


@contextlib.contextmanager
def room_kept(live_server: LiveServer) -> Iterator[None]:
    """Keep rooms loaded while the test runs: the session-end checkpoint of a room its last
    client left lands after the unload delay, possibly between the test's "before" and "after"
    (seen with two workers)."""
    manager = live_server.app.state.collab.manager
    limits = manager.limits
    manager.limits = dataclasses.replace(limits, unload_after=3600.0)
    try:
        yield
    finally:
        manager.limits = limits


def test_the_draft_pdf_holds_the_live_content_marked_draft(
    api_as: Any, demo: dict[str, Any], edit: Edit, live_server: LiveServer
) -> None:
    with room_kept(live_server):
        _draft_pdf_holds_the_live_content(api_as, demo, edit)


def _draft_pdf_holds_the_live_content(api_as: Any, demo: dict[str, Any], edit: Edit) -> None:
    setup = new_ppa(api_as, demo)
    coord = api_as(COORD)
    response = coord.patch(
        f"/api/persons/{setup.cercle.person_id}",
        json={"structure_id": demo["structures"]["fam"]},
    )
    assert response.status_code == 200, response.text
    versions_before = coord.get(f"/api/ppas/{setup.ppa_id}/versions").json()

    def live_words(content: PPAContent) -> None:
        content.projet_de_vie = "Vivre au bord de la mer avec mon chat."

    edit(setup.ppa_id, live_words)  # live, not saved as a version
    response = coord.get(f"/api/ppas/{setup.ppa_id}/draft/pdf")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    disposition = response.headers["content-disposition"]
    assert disposition.startswith("attachment;")
    assert disposition.endswith('-brouillon.pdf"')
    assert response.content.startswith(b"%PDF-")
    text = _text(response.content)
    assert "Vivre au bord de la mer avec mon chat." in text
    assert "BROUILLON" in text
    assert "Brouillon — non validé" in text
    # No version saved for it.
    assert coord.get(f"/api/ppas/{setup.ppa_id}/versions").json() == versions_before
    # The person reads her draft too; an auditor and a structure's software do not.
    assert api_as("usager").get(f"/api/ppas/{setup.ppa_id}/draft/pdf").status_code == 200
    assert api_as(AUDITOR).get(f"/api/ppas/{setup.ppa_id}/draft/pdf").status_code == 403
    assert api_as(ESMS).get(f"/api/ppas/{setup.ppa_id}/draft/pdf").status_code in (403, 404)
    assert api_as("anonymous").get(f"/api/ppas/{setup.ppa_id}/draft/pdf").status_code == 401
    # Audited, by action.
    trail = api_as(AUDITOR).get(f"/api/persons/{setup.cercle.person_id}/audit").json()
    drafts = [
        e for e in trail if e["action"] == "ppa.export:pdf:draft" and e["object_id"] == setup.ppa_id
    ]
    assert len([e for e in drafts if e.get("outcome") != "denied"]) == 2, drafts
