"""Subscribable agenda feeds: create, fetch without any header like a calendar app, revoke."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from icalendar import Calendar
from structlog.testing import capture_logs

from exports._agenda import schedulable
from tests.conftest import Api
from tests.server.exports_api.support import (
    COORD,
    ESMS,
    Validated,
    add_avenant,
    new_validated,
)


@pytest.fixture(scope="module")
def ppa(api_as: Callable[[str], Api], demo: dict[str, Any]) -> Validated:
    return new_validated(api_as, demo)


def subscribe(api: Api, **body: Any) -> dict[str, Any]:
    response = api.post("/api/agenda-feeds", json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def fetch(url: str, **headers: str) -> httpx.Response:
    """What a calendar application does: a plain GET, no credentials but the URL."""
    return httpx.get(url, headers=headers, timeout=30)


def uids(data: bytes) -> dict[str, Any]:
    return {str(e["UID"]): e for e in Calendar.from_ical(data).walk("VEVENT")}


def test_person_feed_serves_the_validated_agenda_and_revocation_ends_it(
    ppa: Validated, api_as: Callable[[str], Api], live_server: Any
) -> None:
    created = subscribe(
        api_as("usager"), kind="person", person_id=ppa.person_id, label="Mon téléphone"
    )
    assert created["url"].startswith(live_server.url + "/api/agenda/cal_")
    assert created["url"].endswith(".ics")
    assert created["webcal_url"] == "webcal://" + created["url"].split("://", 1)[1]
    response = fetch(created["url"])
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/calendar")
    events = uids(response.content)
    expected = {f"{a.id}@ppa-collab" for a in ppa.content.actions if schedulable(a)}
    assert set(events) == expected
    # The same as the version's own .ics export.
    export = api_as(COORD).get(f"/api/ppas/{ppa.ppa_id}/versions/{ppa.validated}/exports/ics")
    assert response.content == export.content

    etag = response.headers["etag"]
    assert fetch(created["url"], **{"If-None-Match": etag}).status_code == 304

    listed = api_as("usager").get("/api/agenda-feeds").json()
    assert created["id"] in {f["id"] for f in listed}
    assert "url" not in listed[0]
    # Only the owner revokes it.
    assert api_as(COORD).delete(f"/api/agenda-feeds/{created['id']}").status_code == 404
    assert api_as("usager").delete(f"/api/agenda-feeds/{created['id']}").status_code == 204
    gone = fetch(created["url"])
    assert gone.status_code == 404
    assert gone.json()["error"] == "NotFound"


def test_feed_follows_the_avenant(
    api_as: Callable[[str], Api], demo: dict[str, Any], settings: Any
) -> None:
    fresh = new_validated(api_as, demo)
    feed = subscribe(api_as(COORD), kind="person", person_id=fresh.person_id)
    before = uids(fetch(feed["url"]).content)
    add_avenant(api_as, settings, fresh)
    after = uids(fetch(feed["url"]).content)
    removed = f"{fresh.removed_action_id}@ppa-collab"
    moved = f"{fresh.moved_action_id}@ppa-collab"
    assert set(after) == set(before)
    assert str(after[removed]["STATUS"]) == "CANCELLED"
    assert int(after[moved]["SEQUENCE"]) == int(before[moved]["SEQUENCE"]) + 1


def test_professional_feed_holds_only_their_actions_across_persons(
    ppa: Validated, api_as: Callable[[str], Api], demo: dict[str, Any]
) -> None:
    other = new_validated(api_as, demo)
    nurse_id = demo["professionals"]["infirmier"]
    feed = subscribe(api_as("infirmier"), kind="professional")
    assert feed["professional_id"] == nurse_id
    assert feed["person_id"] is None
    events = uids(fetch(feed["url"]).content)
    mine = {
        f"{a.id}@ppa-collab"
        for v in (ppa, other)
        for a in v.content.actions
        if schedulable(a) and (a.referent_id == nurse_id or nurse_id in a.intervenant_ids)
    }
    assert mine
    assert mine <= set(events)
    all_ids = {a.id for v in (ppa, other) for a in v.content.actions}
    for uid, event in events.items():
        action_id = uid.split("@")[0]
        if action_id in all_ids:
            assert uid in mine, event


def test_drafts_never_reach_a_feed(api_as: Callable[[str], Api], demo: dict[str, Any]) -> None:
    from tests.server.helpers import build_cercle

    cercle = build_cercle(api_as, demo)  # its PPA is a draft
    feed = subscribe(api_as(COORD), kind="person", person_id=cercle.person_id)
    response = fetch(feed["url"])
    assert response.status_code == 200
    assert uids(response.content) == {}


def test_who_may_subscribe(ppa: Validated, api_as: Callable[[str], Api]) -> None:
    body = {"kind": "person", "person_id": ppa.person_id}
    for who in (COORD, "infirmier", "assistante-sociale", "usager", "aidant", ESMS, "auditeur"):
        assert api_as(who).post("/api/agenda-feeds", json=body).status_code == 201, who
    assert api_as("admin").post("/api/agenda-feeds", json=body).status_code == 404
    assert api_as("anonymous").post("/api/agenda-feeds", json=body).status_code == 401
    own = api_as("usager").post("/api/agenda-feeds", json={"kind": "professional"})
    assert own.status_code == 403
    missing = api_as(COORD).post("/api/agenda-feeds", json={"kind": "person"})
    assert missing.status_code in (404, 422)


def test_feed_stops_when_the_owner_loses_access(
    api_as: Callable[[str], Api], demo: dict[str, Any]
) -> None:
    fresh = new_validated(api_as, demo)
    feed = subscribe(api_as("assistante-sociale"), kind="person", person_id=fresh.person_id)
    assert fetch(feed["url"]).status_code == 200
    opposed = api_as("usager").put(
        f"/api/persons/{fresh.person_id}/cercle/{fresh.cercle.members['assistante-sociale']}"
        "/opposition",
        json={"opposed": True},
    )
    assert opposed.status_code == 200, opposed.text
    after = fetch(feed["url"])
    assert after.status_code == 200
    assert uids(after.content) == {}


def test_bad_tokens_are_404_and_tokens_never_logged(
    ppa: Validated, api_as: Callable[[str], Api], live_server: Any
) -> None:
    feed = subscribe(api_as(COORD), kind="person", person_id=ppa.person_id)
    token = feed["url"].rsplit("/", 1)[1].removesuffix(".ics")
    tampered = token[:-1] + ("A" if token[-1] != "A" else "B")
    base = live_server.url + "/api/agenda/"
    with capture_logs() as logs:
        assert fetch(base + tampered + ".ics").status_code == 404
        assert fetch(base + "cal_nothing.ics").status_code == 404
        assert fetch(base + token + ".ics").status_code == 200
    text = " ".join(str(entry) for entry in logs)
    assert token not in text
    assert tampered not in text
    assert "/api/agenda/<token>" in text


def test_feed_reads_are_traced(ppa: Validated, api_as: Callable[[str], Api]) -> None:
    feed = subscribe(api_as("aidant"), kind="person", person_id=ppa.person_id)
    assert fetch(feed["url"]).status_code == 200
    trail = api_as("auditeur").get(f"/api/persons/{ppa.person_id}/audit").json()
    reads = [e for e in trail if e["action"] == "agenda.feed.read" and e["object_id"] == ppa.ppa_id]
    assert reads
    assert reads[-1]["actor_type"] == "user"


def test_a_ppa_that_cannot_be_exported_does_not_break_the_feed(
    api_as: Callable[[str], Api], demo: dict[str, Any]
) -> None:
    broken = new_validated(api_as, demo, structure=None)  # no FINESS: not exportable
    fine = new_validated(api_as, demo)
    feed = subscribe(api_as("infirmier"), kind="professional")
    response = fetch(feed["url"])
    assert response.status_code == 200, response.text
    events = {uid.split("@")[0] for uid in uids(response.content)}
    assert {a.id for a in fine.content.actions} & events
    assert not {a.id for a in broken.content.actions} & events
