"""The demo tells the truth of the domain (rule 9): who is in the RPPS, which SERAFIN-PH codes
fit, who writes, what a FAM resident is funded by, a planned bilan, and a draft that is the
revision of last year's PPA, the person's PPA in force (flagged when échu)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest

from tests.server.notifications.support import ModuleServer, module_server
from versions.timeline import first_ppa_deadline

COORD = "coordinatrice"

WRITING_ROLES = {"coordinator", "contributor"}


def _draft(api_as: Any, demo: dict[str, Any]) -> dict[str, Any]:
    response = api_as(COORD).get(f"/api/ppas/{demo['ppa_id']}")
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


def test_the_coordinator_is_not_in_the_rpps(api_as: Any, demo: dict[str, Any]) -> None:
    pros = {p["id"]: p for p in api_as("admin").get("/api/professionals").json()}
    coordinatrice = pros[demo["professionals"]["coordinatrice"]]
    assert coordinatrice["profession"].startswith("Éducatrice spécialisée")
    assert coordinatrice["rpps"] is None  # identified by 3 + FINESS / local id in the exports
    assert pros[demo["professionals"]["infirmier"]]["rpps"] is not None


def test_codes_fit_and_the_budget_referent_writes(api_as: Any, demo: dict[str, Any]) -> None:
    content = _draft(api_as, demo)["content"]
    besoins = {b["id"]: b for b in content["besoins"]}
    objectifs = {o["id"]: o for o in content["objectifs"]}

    def besoin_codes(action: dict[str, Any]) -> set[str]:
        return {
            besoins[b]["code"] for o in action["objectif_ids"] for b in objectifs[o]["besoin_ids"]
        }

    actions = {a["titre"]: a for a in content["actions"]}
    etp = actions["Éducation thérapeutique : autosurveillance"]
    assert "2.1.1.2" in etp["prestations"]  # soins infirmiers, not 2.1.1.1 (soins médicaux)
    assert "2.1.1.1" not in etp["prestations"]
    cooking = actions["Atelier cuisine en appartement d'entraînement"]
    assert besoin_codes(cooking) == {"1.3.2.2"}  # activités domestiques
    budget = actions["Gestion du budget courses"]
    assert besoin_codes(budget) == {"1.3.5"}  # ressources et autosuffisance économique
    cercle = api_as(COORD).get(f"/api/persons/{demo['person_id']}/cercle").json()
    roles = {m["professional_id"]: m["role"] for m in cercle if m["professional_id"]}
    assert roles[budget["referent_id"]] in WRITING_ROLES


def test_no_pch_for_a_fam_resident_and_a_planned_bilan(api_as: Any, demo: dict[str, Any]) -> None:
    content = _draft(api_as, demo)["content"]
    assert not any("PCH" in m["description"] for m in content["moyens"])
    assert content["bilan"]["date_evaluation"] is None  # planned in June, not done
    assert "prévu" in content["bilan"]["notes_preparation"]


@pytest.fixture(scope="module")
def own_demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleServer]:
    """A demo of its own: the session's demo person gets PPAs validated by other tests."""
    with module_server(tmp_path_factory.mktemp("demo-truth")) as ms:
        yield ms


def test_the_draft_revises_last_years_ppa_in_force(own_demo: ModuleServer) -> None:
    api_as, demo = own_demo.api_as, own_demo.demo
    draft = _draft(api_as, demo)
    history = demo["validated_ppa_id"]
    assert draft["previous_ppa_id"] == history
    coord = api_as(COORD)
    person = coord.get(f"/api/persons/{demo['person_id']}").json()
    assert person["admission_date"] == "2025-06-16"
    timeline = coord.get(f"/api/persons/{demo['person_id']}/timeline").json()
    assert timeline["first_ppa"]["status"] == "valide"
    assert "hors délai" not in timeline["first_ppa"]["message"]
    assert timeline["first_ppa"]["deadline"] == first_ppa_deadline(date(2025, 6, 16)).isoformat()
    assert timeline["in_force"]["ppa_id"] == history
    assert demo["ppa_id"] in timeline["draft_ppa_ids"]
    # in force until its end; once past it, the gap is flagged
    assert timeline["gap"] is timeline["in_force"]["echu"]
