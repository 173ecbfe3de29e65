"""A structure's software (DUI) as a co-editor: the write grant in the cercle (kind
structure_system, role contributor), PATCH /api/ppas/{id}/content (JSON Merge Patch by item id),
If-Match / ETag, the checkpoint it authors, audit and revocation."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from server.models import AuditEvent, Version
from tests.conftest import Api, DatabaseInfo, LiveServer
from tests.factories import valid_ppa
from tests.server.helpers import Cercle, build_cercle

MERGE = {"Content-Type": "application/merge-patch+json"}


class Dui:
    def __init__(self, api: Api, client_id: str, member_id: str | None) -> None:
        self.api, self.client_id, self.member_id = api, client_id, member_id


_opened: list[Api] = []


def _client(live_server: LiveServer, api_as: Any, name: str) -> tuple[Api, str]:
    """A new API client (a structure's DUI), through the app in process."""
    created = api_as("admin").post("/api/api-clients", json={"name": name})
    assert created.status_code == 201, created.text
    api = Api(live_server, created.json()["token"])
    _opened.append(api)
    return api, created.json()["id"]


@pytest.fixture(autouse=True)
def _close_clients() -> Any:
    yield
    while _opened:
        _opened.pop().client.close()


@pytest.fixture
def cercle(api_as: Any, demo: dict[str, Any]) -> Cercle:
    c = build_cercle(api_as, demo)
    content = valid_ppa(members=demo["professionals"], fresh_ids=True)
    created = api_as("coordinatrice").post(
        f"/api/persons/{c.person_id}/ppas",
        json={"title": "PPA DUI", "content": content.model_dump(mode="json")},
    )
    assert created.status_code == 201, created.text
    return Cercle(c.person_id, created.json()["id"], c.members)


def _grant(api_as: Any, cercle: Cercle, client_id: str, role: str) -> str:
    response = api_as("coordinatrice").post(
        f"/api/persons/{cercle.person_id}/cercle",
        json={"kind": "structure_system", "role": role, "api_client_id": client_id},
    )
    assert response.status_code == 201, response.text
    member_id: str = response.json()["id"]
    return member_id


def _rows(database: DatabaseInfo, query: Any) -> list[Any]:
    engine = sa.create_engine(database.sync_url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(query).all())
    finally:
        engine.dispose()


def test_granted_dui_patches_by_item_id_and_authors_a_checkpoint(
    live_server: LiveServer, api_as: Any, cercle: Cercle, database: DatabaseInfo
) -> None:
    api, client_id = _client(live_server, api_as, "DUI du FAM")
    _grant(api_as, cercle, client_id, "contributor")
    read = api.get(f"/api/ppas/{cercle.ppa_id}")
    assert read.status_code == 200, read.text
    etag = read.headers["etag"]
    content = read.json()["content"]
    action = content["actions"][0]
    gone = content["actions"][-1]["id"]
    new_goal = "obj-dui-1"
    patch = {
        "actions": {
            action["id"]: {"description": "Préparé avec le DUI. " + action["description"]},
            gone: None,
        },
        "objectifs": {new_goal: {"titre": "Objectif venu du DUI", "domaine": "Santé"}},
    }
    done = api.patch(f"/api/ppas/{cercle.ppa_id}/content", json=patch, headers={"If-Match": etag})
    assert done.status_code == 200, done.text
    assert done.headers["etag"] != etag
    after = done.json()["content"]
    assert after["actions"][0]["description"].startswith("Préparé avec le DUI. ")
    assert after["actions"][0]["titre"] == action["titre"]  # untouched fields kept
    assert gone not in [a["id"] for a in after["actions"]]
    assert after["objectifs"][-1]["id"] == new_goal
    assert api_as("coordinatrice").get(f"/api/ppas/{cercle.ppa_id}").json()["content"] == after

    versions = _rows(
        database,
        sa.select(Version.kind, Version.created_by).where(Version.ppa_id == cercle.ppa_id),
    )
    assert ("checkpoint", client_id) in versions
    traces = _rows(
        database,
        sa.select(AuditEvent.actor_id, AuditEvent.outcome).where(
            AuditEvent.object_id == cercle.ppa_id, AuditEvent.action == "ppa.content.patch"
        ),
    )
    assert traces == [(client_id, "ok")]


def test_if_match_gives_412_only_for_a_field_changed_since(
    live_server: LiveServer, api_as: Any, cercle: Cercle
) -> None:
    api, client_id = _client(live_server, api_as, "DUI concurrent")
    _grant(api_as, cercle, client_id, "contributor")
    read = api.get(f"/api/ppas/{cercle.ppa_id}")
    stale = read.headers["etag"]
    first, second = read.json()["content"]["actions"][:2]
    coord = api_as("coordinatrice")
    url = f"/api/ppas/{cercle.ppa_id}/content"
    assert coord.patch(url, json={"actions": {first["id"]: {"titre": "Changé"}}}).status_code == 200
    clash = api.patch(
        url, json={"actions": {first["id"]: {"titre": "Autre"}}}, headers={"If-Match": stale}
    )
    assert clash.status_code == 412, clash.text
    assert clash.json()["fields"] == [f"actions.{first['id']}.titre"]
    assert "Relisez" in clash.json()["detail"]
    other = api.patch(
        url, json={"actions": {second["id"]: {"titre": "Libre"}}}, headers={"If-Match": stale}
    )
    assert other.status_code == 200, other.text
    unknown = api.patch(
        url,
        json={"projet_de_vie": "x"},
        headers={"If-Match": '"0000"'},
    )
    assert unknown.status_code == 412


def test_if_match_star_and_lists_follow_http(api_as: Any, cercle: Cercle) -> None:
    """RFC 9110: ``*`` matches any current state, a list matches when one of its tags does, a
    weak tag never matches (strong comparison)."""
    coord = api_as("coordinatrice")
    url = f"/api/ppas/{cercle.ppa_id}/content"
    star = coord.patch(url, json={"projet_de_vie": "Étoile"}, headers={"If-Match": "*"})
    assert star.status_code == 200, star.text
    current = star.headers["etag"]
    listed = coord.patch(
        url, json={"projet_de_vie": "Liste"}, headers={"If-Match": f'"0000", {current}'}
    )
    assert listed.status_code == 200, listed.text
    weak = coord.patch(
        url, json={"projet_de_vie": "Faible"}, headers={"If-Match": "W/" + listed.headers["etag"]}
    )
    assert weak.status_code == 412, weak.text
    assert coord.get(f"/api/ppas/{cercle.ppa_id}").json()["content"]["projet_de_vie"] == "Liste"


def test_without_the_grant_a_dui_is_refused_and_traced(
    live_server: LiveServer, api_as: Any, cercle: Cercle, database: DatabaseInfo
) -> None:
    api, client_id = _client(live_server, api_as, "DUI lecteur")
    member = _grant(api_as, cercle, client_id, "esms")
    url = f"/api/ppas/{cercle.ppa_id}/content"
    refused = api.patch(url, json={"projet_de_vie": "Écrit sans droit"})
    assert refused.status_code == 403, refused.text
    # granted: writes; revoked: refused at once
    coord = api_as("coordinatrice")
    changed = coord.patch(
        f"/api/persons/{cercle.person_id}/cercle/{member}", json={"role": "contributor"}
    )
    assert changed.status_code == 200, changed.text
    assert api.patch(url, json={"projet_de_vie": "Écrit avec droit"}).status_code == 200
    assert coord.delete(f"/api/persons/{cercle.person_id}/cercle/{member}").status_code == 204
    gone = api.patch(url, json={"projet_de_vie": "Écrit après retrait"})
    assert gone.status_code == 404, gone.text
    assert coord.get(f"/api/ppas/{cercle.ppa_id}").json()["content"]["projet_de_vie"] == (
        "Écrit avec droit"
    )
    traces = _rows(
        database,
        sa.select(AuditEvent.outcome).where(
            AuditEvent.object_id == cercle.ppa_id,
            AuditEvent.action == "ppa.content.patch",
            AuditEvent.actor_id == client_id,
        ),
    )
    assert sorted(t[0] for t in traces) == ["denied", "denied", "ok"]


@pytest.mark.parametrize(
    ("patch", "where"),
    [
        ({"actions": []}, "actions"),
        ({"inconnu": 1}, "inconnu"),
        ({"actions": {"a-x": {"id": "a-y"}}}, "actions.a-x.id"),
        ({"objectifs": {"o-1": {"statut": "n'existe pas"}}}, "objectifs"),
    ],
)
def test_bad_patches_are_refused_whole_with_french_reasons(
    api_as: Any, cercle: Cercle, patch: dict[str, Any], where: str
) -> None:
    coord = api_as("coordinatrice")
    before = coord.get(f"/api/ppas/{cercle.ppa_id}").json()["content"]
    body = {"projet_de_vie": "ne doit pas être écrit", **patch}
    refused = coord.patch(f"/api/ppas/{cercle.ppa_id}/content", json=body)
    assert refused.status_code == 422, refused.text
    assert any(p["path"].startswith(where) for p in refused.json()["problems"]), refused.text
    assert coord.get(f"/api/ppas/{cercle.ppa_id}").json()["content"] == before
