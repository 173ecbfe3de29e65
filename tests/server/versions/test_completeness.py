"""Completeness before validation over REST (docs/domain-rules.md, rules 1 and 8): the problems
carry a severity; the blocking ones refuse the validation with 409 and the list, those to check
do not; the deprecated codes of a PPA received from another structure are accepted like ours."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from editor.schema import OrigineAttente, PPAContent
from exports.local_time import PARIS
from server.models import Version
from server.versions_api.endpoints import _summary as version_summary
from tests.conftest import DatabaseInfo, LiveServer
from tests.factories import recent_start, valid_ppa
from tests.server.helpers import build_cercle
from tests.server.versions.conftest import Edit, clock_shifted, counts
from tests.server.versions.helpers import COORD, new_ppa, validate

EMPTY_DRAFT = [
    ("projet.date_debut", "missing_field"),
    ("projet.date_fin", "missing_field"),
    ("projet.presence_personne", "participation_not_recorded"),  # à vérifier (rule 2)
    ("projet.referent_id", "missing_field"),  # à vérifier (rule 7)
    ("projet.date_reunion", "missing_field"),  # à vérifier (rule 7)
    ("projet_de_vie", "missing_field"),
    ("attentes", "no_attente"),
    ("besoins", "no_besoin"),
    ("bilan.prochaine_revision", "missing_field"),
]
"""An empty draft's problems (its title is the PPA's: the creation sets it)."""


def _create(api_as: Any, demo: dict[str, Any], content: PPAContent | None) -> str:
    cercle = build_cercle(api_as, demo)
    body: dict[str, Any] = {"title": "PPA complétude"}
    if content is not None:
        body["content"] = content.model_dump(mode="json")
    response = api_as(COORD).post(f"/api/persons/{cercle.person_id}/ppas", json=body)
    assert response.status_code == 201, response.text
    ppa_id: str = response.json()["id"]
    return ppa_id


def test_an_empty_draft_is_refused_with_409_and_the_blocking_problems(
    api_as: Any, demo: dict[str, Any], database: DatabaseInfo
) -> None:
    coord = api_as(COORD)
    ppa_id = _create(api_as, demo, None)
    problems = coord.get(f"/api/ppas/{ppa_id}/problems").json()
    assert [(p["path"], p["code"]) for p in problems] == EMPTY_DRAFT
    blocking = [p for p in problems if p["severity"] == "bloquant"]
    assert len(blocking) == len(EMPTY_DRAFT) - 3
    assert coord.get(f"/api/ppas/{ppa_id}").json()["problems"] == problems

    before = counts(database, ppa_id)
    response = validate(coord, ppa_id)
    assert response.status_code == 409, response.text
    payload = response.json()
    assert payload["error"] == "ValidationRefused"
    assert payload["detail"].startswith("Le PPA ne peut pas être validé")
    assert "Aucun besoin n'est identifié" in payload["detail"]
    assert payload["problems"] == blocking
    ppa = coord.get(f"/api/ppas/{ppa_id}").json()
    assert (ppa["status"], ppa["locked"]) == ("draft", False)
    assert counts(database, ppa_id) == before


def test_a_problem_to_check_does_not_block_the_validation(
    api_as: Any, demo: dict[str, Any]
) -> None:
    content = valid_ppa(fresh_ids=True, start=recent_start())
    content.attentes = [a for a in content.attentes if a.origine is not OrigineAttente.PERSONNE]
    ppa_id = _create(api_as, demo, content)
    coord = api_as(COORD)
    [problem] = coord.get(f"/api/ppas/{ppa_id}/problems").json()
    assert (problem["path"], problem["code"], problem["severity"]) == (
        "attentes",
        "no_attente_of_person",
        "a_verifier",
    )
    response = validate(coord, ppa_id)
    assert response.status_code == 201, response.text


def test_the_next_review_is_checked_against_the_day_of_validation(
    api_as: Any, demo: dict[str, Any], live_server: LiveServer
) -> None:
    today = datetime.now(PARIS).date()
    content = valid_ppa(fresh_ids=True, start=recent_start())
    content.bilan.date_evaluation = None
    content.bilan.prochaine_revision = today - timedelta(days=1)
    ppa_id = _create(api_as, demo, content)
    coord = api_as(COORD)
    response = validate(coord, ppa_id)
    assert response.status_code == 409, response.text
    assert [(p["path"], p["code"]) for p in response.json()["problems"]] == [
        ("bilan.prochaine_revision", "review_not_after_validation")
    ]
    # validated 300 days ago, the same review date was in the future: accepted then
    with clock_shifted(live_server, days=300):
        assert validate(coord, ppa_id).status_code == 201
    # once validated, the day's checks are left out (that the review is past is the timeline's)
    assert coord.get(f"/api/ppas/{ppa_id}/problems").json() == []


def _with_deprecated_codes(content: PPAContent) -> PPAContent:
    content.besoins[2].code = "1.3.1.1"  # duplicate of 1.3.1 (deprecated 2023)
    content.actions[0].prestations = ["2.4.1"]  # duplicate of 2.4
    return content


def test_deprecated_codes_of_a_received_ppa_are_accepted_like_ours(
    api_as: Any, demo: dict[str, Any], edit: Edit
) -> None:
    coord = api_as(COORD)
    # use case 1: the last PPA, received from the structure that accompanied the person before
    received = _create(
        api_as, demo, _with_deprecated_codes(valid_ppa(fresh_ids=True, start=recent_start()))
    )
    assert coord.get(f"/api/ppas/{received}/problems").json() == []
    # like a revision of our own previous PPA holding them
    ppa = coord.get(f"/api/ppas/{received}").json()
    ours = coord.post(
        f"/api/persons/{ppa['person_id']}/ppas", json={"previous_ppa_id": received}
    ).json()
    assert [p["code"] for p in ours["problems"]] == ["missing_field"]  # the new bilan's review
    # but typed anew in a PPA that never had them: refused
    setup = new_ppa(api_as, demo)
    edit(setup.ppa_id, _with_deprecated_codes)
    codes = [p["code"] for p in coord.get(f"/api/ppas/{setup.ppa_id}/problems").json()]
    assert codes == ["deprecated_code", "deprecated_code"]
    # validating the received PPA
    assert validate(coord, received).status_code == 201


def test_a_version_says_which_rules_it_predates(api_as: Any, demo: dict[str, Any]) -> None:
    """A version validated now records the rules' edition and predates none of them; a draft's
    versions are checked by nothing (issue 19: old versions show which rules they predate)."""
    setup = new_ppa(api_as, demo)
    coord = api_as(COORD)
    response = validate(coord, setup.ppa_id)
    assert response.status_code == 201, response.text
    number = response.json()["number"]
    versions = coord.get(f"/api/ppas/{setup.ppa_id}/versions").json()
    by_number = {v["number"]: v for v in versions}
    assert (by_number[number]["rules_edition"], by_number[number]["predates_rules"]) == (1, [])
    drafts = [v for v in versions if v["kind"] not in ("validated", "avenant")]
    assert drafts, versions
    assert all((v["rules_edition"], v["predates_rules"]) == (None, []) for v in drafts)
    read = coord.get(f"/api/ppas/{setup.ppa_id}/versions/{number}").json()
    assert (read["rules_edition"], read["predates_rules"]) == (1, [])


def test_a_version_stored_before_the_edition_predates_every_rule() -> None:
    """A validated version as the migration leaves it (no edition; the table is append-only, so
    the row is built here rather than updated) reads as predating rules 1-9."""
    old = Version(
        ppa_id="p",
        number=3,
        kind="validated",
        label="Validation",
        summary="",
        created_by="u",
        authors=[],
        created_at=datetime(2025, 12, 1, 10, tzinfo=PARIS),
        content_hash="0" * 64,
        prev_chain_hash="0" * 64,
        chain_hash="1" * 64,
        leaf_index=7,
        rules_edition=None,
    )
    summary = version_summary(old, {})
    assert (summary.rules_edition, summary.predates_rules) == (None, list(range(1, 10)))
