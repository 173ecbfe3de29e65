"""The natures test_emission.py does not reach, each from its real route or hook: a member's role
changed, a member removed, a revision started, and a new iteration at the end of an editing
session (told to the cercle, not to the session's authors: they know), with the bell notice's
audit trace."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from tests.conftest import DatabaseInfo, LiveServer
from tests.server.exports_api.support import COORD, new_validated
from tests.server.helpers import build_cercle
from tests.server.notifications.test_emission import natures, notices_about
from tests.server.versions.conftest import session_ended
from tests.server.versions.live import edit_over_websocket


def test_role_changed_and_member_removed_told(api_as: Any, demo: dict[str, Any]) -> None:
    cercle = build_cercle(api_as, demo)
    coord = api_as(COORD)
    changed = coord.patch(
        f"/api/persons/{cercle.person_id}/cercle/{cercle.members['ergotherapeute']}",
        json={"role": "reader"},
    )
    assert changed.status_code == 200, changed.text
    same = coord.patch(  # not a change: nobody is told
        f"/api/persons/{cercle.person_id}/cercle/{cercle.members['ergotherapeute']}",
        json={"role": "reader"},
    )
    assert same.status_code == 200, same.text
    removed = coord.delete(
        f"/api/persons/{cercle.person_id}/cercle/{cercle.members['assistante-sociale']}"
    )
    assert removed.status_code == 204, removed.text

    nurse = natures(api_as("infirmier"), cercle.person_id)
    assert nurse.count("cercle.role_changed") == 1
    assert nurse.count("cercle.member_removed") == 1
    changed_notice = next(
        n
        for n in notices_about(api_as("infirmier"), cercle.person_id)
        if n["nature"] == "cercle.role_changed"
    )
    assert changed_notice["label"] == "Le rôle d'un membre du cercle a changé"
    assert changed_notice["initials"] == "J. D."
    # the member whose role changed is told too; the removed one is told nothing (and no
    # longer sees anything about the person)
    assert "cercle.role_changed" in natures(api_as("ergotherapeute"), cercle.person_id)
    assert notices_about(api_as("assistante-sociale"), cercle.person_id) == []
    # the person: the removal in plain French, not the role change (not a nature for them)
    person = {n["nature"]: n["label"] for n in notices_about(api_as("usager"), cercle.person_id)}
    assert person["cercle.member_removed"] == "Une personne ne fait plus partie de votre cercle."
    assert "cercle.role_changed" not in person
    # the actor is never told
    assert "cercle.role_changed" not in natures(coord, cercle.person_id)
    assert "cercle.member_removed" not in natures(coord, cercle.person_id)


def test_revision_started_told(api_as: Any, demo: dict[str, Any]) -> None:
    v = new_validated(api_as, demo)
    response = api_as(COORD).post(f"/api/ppas/{v.ppa_id}/revisions")
    assert response.status_code == 201, response.text
    new_ppa = response.json()["ppa_id"]
    (told,) = [
        n
        for n in notices_about(api_as("infirmier"), v.person_id)
        if n["nature"] == "ppa.revision_started"
    ]
    assert told["ppa_id"] == new_ppa
    assert told["link"] == f"#/ppa/{new_ppa}"
    (person,) = [
        n
        for n in notices_about(api_as("usager"), v.person_id)
        if n["nature"] == "ppa.revision_started"
    ]
    assert person["label"] == "Nous préparons votre nouveau projet avec vous."
    assert "ppa.revision_started" not in natures(api_as(COORD), v.person_id)


def test_session_checkpoint_told_but_not_to_its_authors(
    api_as: Any, demo: dict[str, Any], live_server: LiveServer, database: DatabaseInfo
) -> None:
    cercle = build_cercle(api_as, demo)
    token = api_as("infirmier").token
    assert token is not None
    with session_ended(live_server, cercle.ppa_id):
        edit_over_websocket(
            live_server.ws_url,
            cercle.ppa_id,
            token,
            lambda c: setattr(c, "projet_de_vie", "Vivre dans mon appartement."),
        )
    (told,) = [
        n
        for n in notices_about(api_as("ergotherapeute"), cercle.person_id)
        if n["nature"] == "ppa.iteration"
    ]
    assert told["ppa_id"] == cercle.ppa_id
    assert told["actor_name"] is None  # the service's checkpoint, on the session's behalf
    assert "ppa.iteration" in natures(api_as(COORD), cercle.person_id)
    # the session's author knows; readers and the person are not told of draft iterations
    assert "ppa.iteration" not in natures(api_as("infirmier"), cercle.person_id)
    assert "ppa.iteration" not in natures(api_as("assistante-sociale"), cercle.person_id)
    assert "ppa.iteration" not in natures(api_as("usager"), cercle.person_id)

    # each bell notice is traced when stored: the recipient, nature, channel, object
    ergo_id = api_as("ergotherapeute").get("/api/auth/me").json()["id"]
    engine = sa.create_engine(database.sync_url)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT actor_type, object_type, object_id FROM audit_events "
                "WHERE action = 'notify.app.ppa.iteration' AND actor_id = :u AND person_id = :p"
            ),
            {"u": ergo_id, "p": cercle.person_id},
        ).all()
    engine.dispose()
    assert [tuple(r) for r in rows] == [
        ("notification", "version", f"{cercle.ppa_id}/{told['version']}")
    ]
