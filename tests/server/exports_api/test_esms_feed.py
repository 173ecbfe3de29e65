"""The ESMS feed: validated versions the client may read, after a monotonic cursor."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from exports import registry
from tests.conftest import Api, DatabaseInfo, LiveServer
from tests.server.exports_api.support import (
    COORD,
    ESMS,
    Validated,
    add_avenant,
    feed_items,
    feed_position,
    feed_until,
    new_validated,
    wait_for,
)


@pytest.fixture(scope="module")
def ppa(api_as: Callable[[str], Api], demo: dict[str, Any], settings: Any) -> Validated:
    return add_avenant(api_as, settings, new_validated(api_as, demo))


def test_feed_lists_the_validation_and_the_avenant_with_links(
    ppa: Validated, api_as: Callable[[str], Api]
) -> None:
    assert ppa.avenant is not None
    items = feed_until(api_as(ESMS), ppa.ppa_id, ppa.avenant)
    mine = [i for i in items if i["ppa_id"] == ppa.ppa_id]
    assert [(i["version"], i["kind"]) for i in mine] == [
        (ppa.validated, "validated"),
        (ppa.avenant, "avenant"),
    ]
    coord = api_as(COORD)
    for item in mine:
        version = coord.get(f"/api/ppas/{ppa.ppa_id}/versions/{item['version']}").json()
        assert item["hash"] == version["chain_hash"]
        assert item["content_hash"] == version["content_hash"]
        assert item["person_id"] == ppa.person_id
        assert item["validated_at"]
    validated, avenant = mine
    assert set(validated["exports"]) == {n for n in registry.FORMATS if not n.startswith("mdph")}
    assert set(avenant["exports"]) == set(registry.FORMATS)
    # Every link downloads, with the item's hash as ETag.
    for name in ("fhir", "mdph"):
        response = api_as(ESMS).get(avenant["exports"][name])
        assert response.status_code == 200, response.text
        assert response.headers["etag"] == f'"{avenant["hash"]}"'
    positions = [i["position"] for i in items]
    assert positions == sorted(positions)
    assert len(set(positions)) == len(positions)


def test_cursor_only_moves_forward_and_never_repeats(
    ppa: Validated, api_as: Callable[[str], Api], demo: dict[str, Any]
) -> None:
    esms = api_as(ESMS)
    assert ppa.avenant is not None
    feed_until(esms, ppa.ppa_id, ppa.avenant)
    cursor = None
    seen: list[int] = []
    while True:
        page = feed_items(esms, cursor=cursor, limit=1) if cursor else feed_items(esms, limit=1)
        assert len(page["items"]) <= 1
        seen += [i["position"] for i in page["items"]]
        if cursor is not None:
            assert int(page["next_cursor"]) >= int(cursor)
        cursor = page["next_cursor"]
        if not page["has_more"]:
            break
    assert seen == sorted(set(seen))
    end = feed_items(esms, cursor=cursor)
    assert end["items"] == []
    assert end["next_cursor"] == cursor
    newer = new_validated(api_as, demo)

    def published() -> list[dict[str, Any]] | None:
        items: list[dict[str, Any]] = feed_items(esms, cursor=cursor)["items"]
        return items or None

    items = wait_for(published)
    assert [(i["ppa_id"], i["version"]) for i in items] == [(newer.ppa_id, newer.validated)]
    assert items[0]["position"] > int(cursor)


def test_feed_leaves_out_persons_not_shared_or_opposed(
    api_as: Callable[[str], Api],
    demo: dict[str, Any],
    database: DatabaseInfo,
    live_server: LiveServer,
) -> None:
    opposed = new_validated(api_as, demo, opposed=(ESMS,))
    shared = new_validated(api_as, demo)
    # Both are published (the ESMS client cannot see the opposed one: read the table).
    assert feed_position(database, opposed.ppa_id, opposed.validated) > 0
    esms_items = feed_until(api_as(ESMS), shared.ppa_id, shared.validated)
    assert opposed.ppa_id not in {i["ppa_id"] for i in esms_items}
    # Another structure's software, in neither cercle, reads neither.
    created = api_as("admin").post("/api/api-clients", json={"name": "DUI hors cercle"})
    assert created.status_code == 201, created.text
    outsider = Api(live_server.url, created.json()["token"])
    try:
        items = feed_items(outsider)["items"]
    finally:
        outsider.client.close()
    assert not {shared.ppa_id, opposed.ppa_id} & {i["ppa_id"] for i in items}


def test_feed_needs_a_token_and_a_well_formed_cursor(api_as: Callable[[str], Api]) -> None:
    assert api_as("anonymous").get("/api/esms/feed").status_code == 401
    bad = api_as(ESMS).get("/api/esms/feed", params={"cursor": "abc"})
    assert bad.status_code == 422
    assert "Curseur" in bad.json()["detail"]
    assert api_as(ESMS).get("/api/esms/feed", params={"limit": 0}).status_code == 422


def test_feed_reads_are_traced(ppa: Validated, api_as: Callable[[str], Api]) -> None:
    assert ppa.avenant is not None
    feed_until(api_as(ESMS), ppa.ppa_id, ppa.avenant)
    trail = api_as("auditeur").get(f"/api/persons/{ppa.person_id}/audit").json()
    reads = [e for e in trail if e["action"] == "esms.feed" and e["object_id"] == ppa.ppa_id]
    assert reads
    assert reads[-1]["actor_type"] == "api_client"
