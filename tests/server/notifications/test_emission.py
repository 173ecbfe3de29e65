"""Events become notices for the right people: cercle changes, versions, validation, avenant;
never the actor, never an opposed member; the bell's API and the preferences API."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from tests.conftest import Api, DatabaseInfo
from tests.server.exports_api.support import COORD, add_avenant, new_validated
from tests.server.helpers import build_cercle, sql_login

PASSWORD = "mot-de-passe-notifications-42"


def notices_about(api: Api, person_id: str) -> list[dict[str, Any]]:
    response = api.get("/api/me/notifications", params={"limit": 100})
    assert response.status_code == 200, response.text
    return [n for n in response.json()["items"] if n["person_id"] == person_id]


def natures(api: Api, person_id: str, *, reviews: bool = True) -> list[str]:
    """The natures told to ``api``'s user about the person (``reviews=False``: without the
    review reminders, which test_reviews.py runs on days of its choosing)."""
    found = sorted(n["nature"] for n in notices_about(api, person_id))
    return found if reviews else [n for n in found if not n.startswith("ppa.review")]


def test_member_added_told_to_readers_not_actor_not_opposed(
    api_as: Any, demo: dict[str, Any], database: DatabaseInfo
) -> None:
    cercle = build_cercle(api_as, demo, opposed=("ergotherapeute",))
    engine = sa.create_engine(database.sync_url)
    new_id, _username = sql_login(engine, PASSWORD, "Nouvelle Éducatrice")
    engine.dispose()
    coord = api_as(COORD)
    response = coord.post(
        f"/api/persons/{cercle.person_id}/cercle",
        json={"kind": "professional", "role": "reader", "user_id": new_id},
    )
    assert response.status_code == 201, response.text

    told = notices_about(api_as("infirmier"), cercle.person_id)
    added = [n for n in told if n["nature"] == "cercle.member_added"]
    # infirmier was told of each member added after them, the new one included
    assert added, told
    last = added[0]
    assert last["actor_name"]
    assert last["initials"] == "J. D."
    assert last["label"].startswith("Un membre a été ajouté")
    # the person reads plain French
    person_notice = notices_about(api_as("usager"), cercle.person_id)
    assert any(
        n["label"] == "Une nouvelle personne fait partie de votre cercle." for n in person_notice
    )
    # the actor is never told (the coordinator added everyone); the person's opposition is
    # told to the coordinator; an opposed member is never told anything about the person
    assert natures(coord, cercle.person_id) == ["cercle.opposition"]
    assert notices_about(api_as("ergotherapeute"), cercle.person_id) == []
    engine = sa.create_engine(database.sync_url)
    with engine.connect() as conn:
        told_opposed = conn.execute(
            sa.text(
                "SELECT count(*) FROM notices n JOIN users u ON u.id = n.recipient_id "
                "WHERE u.username = 'ergotherapeute' AND n.person_id = :p "
                "AND n.nature = 'cercle.member_added' AND n.object_id = :m"
            ),
            {"p": cercle.person_id, "m": response.json()["id"]},
        ).scalar_one()
    engine.dispose()
    assert told_opposed == 0  # not even stored
    # ESMS software has no bell, nor its live stream; nobody without a login
    assert api_as("esms").get("/api/me/notifications").status_code == 403
    assert api_as("esms").get("/api/me/notifications/stream").status_code == 403
    assert api_as("anonymous").get("/api/me/notifications/stream").status_code == 401


def test_versions_validation_avenant_told(api_as: Any, demo: dict[str, Any], settings: Any) -> None:
    v = new_validated(api_as, demo, opposed=("ergotherapeute",))
    add_avenant(api_as, settings, v)
    assert api_as(COORD).post(f"/api/ppas/{v.ppa_id}/avenant").status_code in (200, 201)
    named = api_as(COORD).post(f"/api/ppas/{v.ppa_id}/versions", json={"label": "En cours"})
    assert named.status_code == 201, named.text
    infirmier = natures(api_as("infirmier"), v.person_id)
    for nature in (
        "ppa.iteration",
        "ppa.validated",
        "ppa.avenant_opened",
        "ppa.avenant_validated",
    ):
        assert nature in infirmier, (nature, infirmier)
    person = notices_about(api_as("usager"), v.person_id)
    labels = {n["nature"]: n["label"] for n in person}
    assert labels["ppa.validated"] == "Votre projet est validé. Vous pouvez le relire."
    assert "ppa.iteration" not in labels  # not a nature the person is told of
    validated = next(
        n for n in notices_about(api_as("infirmier"), v.person_id) if n["nature"] == "ppa.validated"
    )
    assert validated["ppa_id"] == v.ppa_id
    assert validated["version"] == v.validated
    # each notice leads to what it is about: a version event to the version, a new iteration
    # to the diff with the previous version, an avenant opened (no version yet) to the PPA
    assert validated["link"] == f"#/ppa/{v.ppa_id}/version/{v.validated}"
    told = notices_about(api_as("infirmier"), v.person_id)
    iterations = {n["version"]: n["link"] for n in told if n["nature"] == "ppa.iteration"}
    assert iterations[v.draft] == f"#/ppa/{v.ppa_id}/version/{v.draft}"  # the first: no diff
    number = named.json()["number"]
    assert iterations[number] == f"#/ppa/{v.ppa_id}/diff/{number - 1}/{number}"
    avenant = next(n for n in told if n["nature"] == "ppa.avenant_validated")
    assert avenant["link"] == f"#/ppa/{v.ppa_id}/version/{v.avenant}"
    opened = next(n for n in told if n["nature"] == "ppa.avenant_opened")
    assert opened["link"] == f"#/ppa/{v.ppa_id}"
    assert natures(api_as(COORD), v.person_id, reviews=False) == ["cercle.opposition"]
    assert natures(api_as("ergotherapeute"), v.person_id) == []
    # a reader (assistante-sociale) is told of the validation, not of draft iterations
    reader = natures(api_as("assistante-sociale"), v.person_id)
    assert "ppa.validated" in reader
    assert "ppa.iteration" not in reader


def test_bell_pages_and_marks_read(api_as: Any, demo: dict[str, Any]) -> None:
    cercle = build_cercle(api_as, demo)
    nurse = api_as("infirmier")
    first = nurse.get("/api/me/notifications", params={"limit": 2, "offset": 0}).json()
    assert len(first["items"]) == 2
    assert first["total"] >= 3
    assert first["unread"] >= 1
    second = nurse.get("/api/me/notifications", params={"limit": 2, "offset": 2}).json()
    assert {n["id"] for n in first["items"]}.isdisjoint({n["id"] for n in second["items"]})
    mine = [n["id"] for n in notices_about(nurse, cercle.person_id) if not n["read"]]
    assert mine
    before = nurse.get("/api/me/notifications/unread").json()["unread"]
    response = nurse.post("/api/me/notifications/read", json={"ids": mine})
    assert response.status_code == 200, response.text
    assert response.json()["unread"] == before - len(mine)
    assert all(n["read"] for n in notices_about(nurse, cercle.person_id))
    # someone else's notice ids change nothing
    other = api_as("aidant")
    theirs = [n["id"] for n in notices_about(other, cercle.person_id)]
    assert nurse.post("/api/me/notifications/read", json={"ids": theirs}).status_code == 200
    assert not any(n["read"] for n in notices_about(other, cercle.person_id))
    assert nurse.post("/api/me/notifications/read", json={"bogus": 1}).status_code == 422
    assert nurse.get("/api/me/notifications", params={"limit": 0}).status_code == 422


def test_preferences_defaults_and_changes(api_as: Any, demo: dict[str, Any]) -> None:
    coord = api_as(COORD)
    prefs = coord.get("/api/me/notification-preferences").json()
    by_nature = {p["nature"]: p for p in prefs["natures"]}
    assert by_nature["ppa.validated"]["channels"] == ["app", "email"]
    assert by_nature["ppa.validated"]["frequency"] == "daily"
    assert by_nature["cercle.opposition"]["custom"] is False
    assert "esms.delivery_failed" not in by_nature  # admins only
    person = {
        p["nature"]
        for p in api_as("usager").get("/api/me/notification-preferences").json()["natures"]
    }
    assert "cercle.opposition" not in person
    assert "ppa.validated" in person

    aidant = api_as("aidant")
    refused = aidant.put(
        "/api/me/notification-preferences",
        json={
            "natures": [{"nature": "ppa.validated", "channels": ["email"], "frequency": "weekly"}]
        },
    )
    assert refused.status_code == 409
    assert "adresse électronique" in refused.json()["detail"]
    unknown = aidant.put(
        "/api/me/notification-preferences",
        json={"natures": [{"nature": "ppa.inconnue", "channels": [], "frequency": "weekly"}]},
    )
    assert unknown.status_code == 422
    assert "nature inconnue" in unknown.text
    response = aidant.put(
        "/api/me/notification-preferences",
        json={
            "email": "aidant@example.org",
            "natures": [{"nature": "ppa.validated", "channels": ["email"], "frequency": "weekly"}],
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["email"] == "aidant@example.org"
    chosen = {p["nature"]: p for p in body["natures"]}["ppa.validated"]
    assert chosen == {
        "nature": "ppa.validated",
        "label": chosen["label"],
        "channels": ["email"],
        "frequency": "weekly",
        "custom": True,
    }
    back = aidant.put("/api/me/notification-preferences", json={"reset": ["ppa.validated"]})
    assert {p["nature"]: p for p in back.json()["natures"]}["ppa.validated"]["custom"] is False
    sms = aidant.put(
        "/api/me/notification-preferences",
        json={"natures": [{"nature": "ppa.validated", "channels": ["sms"], "frequency": "daily"}]},
    )
    assert sms.status_code == 409
