"""The versions routes of the role x route matrix (``tests/server/test_role_matrix.py``).

Routes that change a PPA's lifecycle act on a fresh PPA of the cercle's person, prepared by the
coordinator, so that every principal meets the same state.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.factories import recent_start, valid_ppa
from tests.server.helpers import Cercle, build_cercle
from tests.server.versions.helpers import PERSON_ACCORD, STRUCTURE_ACCORD

COORD = "coordinatrice"
CONTRIB = "infirmier"
READER = "assistante-sociale"
PERSON = "usager"
AIDANT = "aidant"
ESMS = "esms"
AUDITOR = "auditeur"
OUTSIDER = "admin"
OPPOSED = "ergotherapeute"
MEMBERS = {COORD, CONTRIB, READER, PERSON, AIDANT, ESMS, AUDITOR}
HISTORY_READERS = MEMBERS - {ESMS}
AUTHENTICATED = MEMBERS | {OUTSIDER, OPPOSED}

Request = tuple[str, str, dict[str, Any] | None]
Builder = Callable[[Cercle, Any], Request]


_own: dict[str, Cercle] = {}


def _person(c: Cercle, api_as: Any) -> str:
    """Another person with the same cercle (the matrix's person keeps a single draft PPA)."""
    if c.person_id not in _own:
        logins = {"logins": [{"username": u} for u in AUTHENTICATED - {ESMS}]}
        _own[c.person_id] = build_cercle(api_as, logins, opposed=(OPPOSED,))
    return _own[c.person_id].person_id


def _fresh(c: Cercle, api_as: Any) -> str:
    response = api_as(COORD).post(
        f"/api/persons/{_person(c, api_as)}/ppas",
        json={
            "title": "Matrice",
            "content": valid_ppa(fresh_ids=True, start=recent_start()).model_dump(mode="json"),
        },
    )
    assert response.status_code == 201, response.text
    ppa_id: str = response.json()["id"]
    return ppa_id


def _saved(c: Cercle, api_as: Any, count: int = 1) -> tuple[str, int]:
    ppa_id = _fresh(c, api_as)
    for index in range(count):
        response = api_as(COORD).post(
            f"/api/ppas/{ppa_id}/versions", json={"label": f"Version {index + 1}"}
        )
        assert response.status_code == 201, response.text
    return ppa_id, count


def _validated(c: Cercle, api_as: Any) -> str:
    ppa_id = _fresh(c, api_as)
    response = api_as(COORD).post(
        f"/api/ppas/{ppa_id}/validate",
        json={"structure": STRUCTURE_ACCORD, "personne": PERSON_ACCORD},
    )
    assert response.status_code == 201, response.text
    return ppa_id


def _with_avenant(c: Cercle, api_as: Any) -> str:
    ppa_id = _validated(c, api_as)
    assert api_as(COORD).post(f"/api/ppas/{ppa_id}/avenant").status_code == 200
    return ppa_id


def _diff(c: Cercle, api_as: Any) -> Request:
    ppa_id, _ = _saved(c, api_as, 2)
    return ("GET", f"/api/ppas/{ppa_id}/diff?from=1&to=2", None)


VERSION_ROUTES: dict[str, tuple[Builder, set[str], int]] = {
    "GET versions": (lambda c, _: ("GET", f"/api/ppas/{c.ppa_id}/versions", None), MEMBERS, 200),
    "POST versions (named)": (
        lambda c, _: ("POST", f"/api/ppas/{c.ppa_id}/versions", {"label": "Nommée"}),
        {COORD, CONTRIB},
        201,
    ),
    "GET version (draft)": (
        lambda c, api_as: ("GET", f"/api/ppas/{_saved(c, api_as)[0]}/versions/1", None),
        HISTORY_READERS,
        200,
    ),
    "GET version (validated)": (
        lambda c, api_as: ("GET", f"/api/ppas/{_validated(c, api_as)}/versions/2", None),
        MEMBERS,
        200,
    ),
    "GET diff": (_diff, HISTORY_READERS, 200),
    "POST validate": (
        lambda c, api_as: (
            "POST",
            f"/api/ppas/{_fresh(c, api_as)}/validate",
            {"structure": STRUCTURE_ACCORD, "personne": PERSON_ACCORD},
        ),
        {COORD},
        201,
    ),
    "POST avenant": (
        lambda c, api_as: ("POST", f"/api/ppas/{_validated(c, api_as)}/avenant", None),
        {COORD},
        200,
    ),
    "GET avenant pending": (
        lambda c, api_as: ("GET", f"/api/ppas/{_with_avenant(c, api_as)}/avenant/pending", None),
        {COORD},
        200,
    ),
    "POST avenant abandon": (
        lambda c, api_as: ("POST", f"/api/ppas/{_with_avenant(c, api_as)}/avenant/abandon", None),
        {COORD},
        200,
    ),
    "GET restore preview": (
        lambda c, api_as: (
            "GET",
            f"/api/ppas/{_saved(c, api_as)[0]}/versions/1/restore/preview",
            None,
        ),
        {COORD, CONTRIB},
        200,
    ),
    "POST restore": (
        lambda c, api_as: ("POST", f"/api/ppas/{_saved(c, api_as)[0]}/versions/1/restore", None),
        {COORD, CONTRIB},
        201,
    ),
    "POST revisions": (
        lambda c, api_as: ("POST", f"/api/ppas/{_validated(c, api_as)}/revisions", None),
        {COORD, CONTRIB},
        201,
    ),
    "GET history": (lambda c, _: ("GET", f"/api/ppas/{c.ppa_id}/history", None), {AUDITOR}, 200),
    "GET audit-bundle": (
        lambda c, api_as: ("GET", f"/api/ppas/{_saved(c, api_as)[0]}/audit-bundle", None),
        {AUDITOR},
        200,
    ),
    "GET review-due": (lambda c, _: ("GET", "/api/ppas/review-due", None), AUTHENTICATED, 200),
    "GET log key": (lambda c, _: ("GET", "/api/log/key", None), AUTHENTICATED, 200),
}
