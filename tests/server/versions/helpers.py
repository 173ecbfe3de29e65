"""Builders for the versions tests: a person with a complete cercle and a valid PPA."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from editor.schema import PPAContent
from tests.conftest import Api
from tests.factories import recent_start, valid_ppa
from tests.server.helpers import Cercle, build_cercle

COORD = "coordinatrice"
CONTRIB = "infirmier"
CONTRIB2 = "ergotherapeute"
AUDITOR = "auditeur"
ESMS = "esms"

STRUCTURE_ACCORD = {"par": "Claire Durand, directrice du FAM", "date": "2026-11-20"}
PERSON_ACCORD = {"mode": "signe", "par": "Jean Paul Dupont", "date": "2026-11-20"}


@dataclass
class Setup:
    cercle: Cercle
    ppa_id: str
    content: PPAContent


def new_ppa(
    api_as: Any, demo: dict[str, Any], content: PPAContent | None = None, *, problems: int = 0
) -> Setup:
    """A fresh person (every role in the cercle) with a draft PPA holding a valid content (or
    one with that many blocking ``problems`` today; warnings, e.g. a trial of the sample that
    ended when the clock is moved back, do not count)."""
    cercle = build_cercle(api_as, demo)
    content = content or valid_ppa(fresh_ids=True, start=recent_start())
    response = api_as(COORD).post(
        f"/api/persons/{cercle.person_id}/ppas",
        json={"title": "PPA versions", "content": content.model_dump(mode="json")},
    )
    assert response.status_code == 201, response.text
    blocking = [p for p in response.json()["problems"] if p["severity"] == "bloquant"]
    assert len(blocking) == problems, response.text
    return Setup(cercle, response.json()["id"], content)


def validate(api: Api, ppa_id: str, **body: Any) -> Any:
    return api.post(
        f"/api/ppas/{ppa_id}/validate",
        json={"structure": STRUCTURE_ACCORD, "personne": PERSON_ACCORD, **body},
    )


def save(api: Api, ppa_id: str, label: str) -> dict[str, Any]:
    response = api.post(f"/api/ppas/{ppa_id}/versions", json={"label": label})
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()
    return data
