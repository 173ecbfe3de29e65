"""The comments and suggestions routes of the role x route matrix
(``tests/server/test_role_matrix.py``): who reads, writes, resolves, decides.

Rows that act on a thread or a suggestion make a fresh one first (as the coordinator, or the
reader for a suggestion), so that every principal meets the same state.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from tests.server.helpers import Cercle

COORD = "coordinatrice"
CONTRIB = "infirmier"
READER = "assistante-sociale"
PERSON = "usager"
AIDANT = "aidant"
AUDITOR = "auditeur"
DRAFT_READERS = {COORD, CONTRIB, READER, PERSON, AIDANT}
EDITORS = {COORD, CONTRIB}

Request = tuple[str, str, dict[str, Any] | None]
Builder = Callable[[Cercle, Any], Request]
FIELD = "projet/participants_reunion_autres"
"""A text field no other row of the matrix writes (suggestions compare it to their base)."""


def _thread(c: Cercle, api_as: Any, *, resolved: bool = False) -> str:
    coord = api_as(COORD)
    made = coord.post(
        f"/api/ppas/{c.ppa_id}/comments", json={"anchor": "projet/titre", "text": "À revoir"}
    )
    assert made.status_code == 201, made.text
    thread_id: str = made.json()["id"]
    if resolved:
        done = coord.post(f"/api/ppas/{c.ppa_id}/comments/{thread_id}/resolve")
        assert done.status_code == 200, done.text
    return thread_id


def _suggestion(c: Cercle, api_as: Any) -> str:
    made = api_as(READER).post(
        f"/api/ppas/{c.ppa_id}/suggestions",
        json={"anchor": FIELD, "text": f"Proposé {uuid.uuid4().hex[:6]}"},
    )
    assert made.status_code == 201, made.text
    suggestion_id: str = made.json()["id"]
    return suggestion_id


COMMENT_ROUTES: dict[str, tuple[Builder, set[str], int]] = {
    "GET comments": (
        lambda c, _: ("GET", f"/api/ppas/{c.ppa_id}/comments", None),
        DRAFT_READERS | {AUDITOR},
        200,
    ),
    "POST comment": (
        lambda c, _: (
            "POST",
            f"/api/ppas/{c.ppa_id}/comments",
            {"anchor": "projet_de_vie", "text": "Une question"},
        ),
        DRAFT_READERS,
        201,
    ),
    "POST comment reply": (
        lambda c, api_as: (
            "POST",
            f"/api/ppas/{c.ppa_id}/comments/{_thread(c, api_as)}/replies",
            {"text": "Réponse"},
        ),
        DRAFT_READERS,
        201,
    ),
    "POST comment resolve (someone else's thread)": (
        lambda c, api_as: (
            "POST",
            f"/api/ppas/{c.ppa_id}/comments/{_thread(c, api_as)}/resolve",
            None,
        ),
        EDITORS,
        200,
    ),
    "POST comment reopen (someone else's thread)": (
        lambda c, api_as: (
            "POST",
            f"/api/ppas/{c.ppa_id}/comments/{_thread(c, api_as, resolved=True)}/reopen",
            None,
        ),
        EDITORS,
        200,
    ),
    "POST suggestion": (
        lambda c, _: (
            "POST",
            f"/api/ppas/{c.ppa_id}/suggestions",
            {"anchor": FIELD, "text": f"Autre {uuid.uuid4().hex[:6]}"},
        ),
        DRAFT_READERS,
        201,
    ),
    "POST suggestion accept": (
        lambda c, api_as: (
            "POST",
            f"/api/ppas/{c.ppa_id}/suggestions/{_suggestion(c, api_as)}/accept",
            None,
        ),
        EDITORS,
        200,
    ),
    "POST suggestion reject": (
        lambda c, api_as: (
            "POST",
            f"/api/ppas/{c.ppa_id}/suggestions/{_suggestion(c, api_as)}/reject",
            None,
        ),
        EDITORS,
        200,
    ),
}
