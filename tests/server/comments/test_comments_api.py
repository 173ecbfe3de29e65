"""Comments and suggestions over HTTP: who may do what, mentions, audit, history, exports,
accepting a suggestion as authored edits, the avenant's scope and the live stream."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.conftest import Api, LiveServer
from tests.server.exports_api.support import COORD, Validated, new_validated
from tests.server.helpers import Cercle, build_cercle

CONTRIB = "infirmier"
READER = "assistante-sociale"
PERSON = "usager"
AUDITOR = "auditeur"
OPPOSED = "ergotherapeute"


@pytest.fixture(scope="module")
def cercle(api_as: Callable[[str], Api], demo: dict[str, Any]) -> Cercle:
    return build_cercle(api_as, demo, opposed=(OPPOSED,))


@pytest.fixture(scope="module")
def validated(api_as: Callable[[str], Api], demo: dict[str, Any]) -> Validated:
    return new_validated(api_as, demo)


def user_id(api_as: Callable[[str], Api], username: str) -> str:
    uid: str = api_as(username).get("/api/auth/me").json()["id"]
    return uid


def post_thread(api: Api, ppa_id: str, anchor: str, body: str, **extra: Any) -> dict[str, Any]:
    made = api.post(f"/api/ppas/{ppa_id}/comments", json={"anchor": anchor, "text": body, **extra})
    assert made.status_code == 201, made.text
    thread: dict[str, Any] = made.json()
    return thread


def test_thread_reply_resolve_reopen(cercle: Cercle, api_as: Callable[[str], Api]) -> None:
    reader = api_as(READER)
    thread = post_thread(reader, cercle.ppa_id, "objectifs/o-42/titre", "Le titre est-il clair ?")
    assert thread["anchor"] == "objectifs/o-42/titre"
    assert [e["kind"] for e in thread["entries"]] == ["comment"]
    assert thread["entries"][0]["author_name"]
    url = f"/api/ppas/{cercle.ppa_id}/comments/{thread['id']}"
    answered = api_as(PERSON).post(f"{url}/replies", json={"text": "Oui pour moi."})
    assert answered.status_code == 201, answered.text
    assert [e["kind"] for e in answered.json()["entries"]] == ["comment", "reply"]
    # the author resolves their own thread; a second resolve is a conflict
    assert reader.post(f"{url}/resolve").json()["resolved"] is True
    again = reader.post(f"{url}/resolve")
    assert again.status_code == 409
    assert again.json()["detail"] == "Ce fil est déjà résolu."
    # someone else's thread: only members who edit resolve or reopen it
    refused = api_as(PERSON).post(f"{url}/reopen")
    assert refused.status_code == 403, refused.text
    assert "auteur du fil" in refused.json()["detail"]
    reopened = api_as(CONTRIB).post(f"{url}/reopen")
    assert reopened.status_code == 200
    assert reopened.json()["resolved"] is False
    listed = reader.get(f"/api/ppas/{cercle.ppa_id}/comments").json()
    mine = next(t for t in listed["threads"] if t["id"] == thread["id"])
    assert [e["kind"] for e in mine["entries"]] == ["comment", "reply", "resolve", "reopen"]


def test_who_sees_comments(cercle: Cercle, api_as: Callable[[str], Api]) -> None:
    secret = f"Visible du cercle {uuid.uuid4().hex[:8]}"
    post_thread(api_as(COORD), cercle.ppa_id, "projet_de_vie", secret)
    for username in (CONTRIB, READER, PERSON, "aidant", AUDITOR):
        seen = api_as(username).get(f"/api/ppas/{cercle.ppa_id}/comments")
        assert seen.status_code == 200, (username, seen.text)
        assert secret in seen.text
    # the opposed member: refused, as everywhere else for an opposed member (not shared: 404)
    opposed = api_as(OPPOSED).get(f"/api/ppas/{cercle.ppa_id}/comments")
    assert opposed.status_code == 404
    assert secret not in opposed.text
    assert (
        api_as(OPPOSED)
        .post(f"/api/ppas/{cercle.ppa_id}/comments", json={"anchor": "ppa", "text": "x"})
        .status_code
        == 404
    )
    # the structure's software sees none; the auditor reads but does not write
    assert api_as("esms").get(f"/api/ppas/{cercle.ppa_id}/comments").status_code == 403
    auditor = api_as(AUDITOR).post(
        f"/api/ppas/{cercle.ppa_id}/comments", json={"anchor": "ppa", "text": "x"}
    )
    assert auditor.status_code == 403, auditor.text


def test_mention_notifies_the_mentioned_only(cercle: Cercle, api_as: Callable[[str], Api]) -> None:
    reader_id = user_id(api_as, READER)

    def mentions(username: str) -> list[dict[str, Any]]:
        told = api_as(username).get("/api/me/notifications?limit=100").json()["items"]
        return [n for n in told if n["nature"] == "mention" and n["ppa_id"] == cercle.ppa_id]

    before = len(mentions(READER))
    thread = post_thread(
        api_as(COORD),
        cercle.ppa_id,
        "projet/titre",
        "@Assistante, pouvez-vous relire ?",
        mentions=[reader_id],
    )
    assert thread["entries"][0]["mentions"] == [reader_id]
    told = mentions(READER)
    assert len(told) == before + 1, told
    assert told[0]["label"] == "Quelqu'un m'a mentionné dans un commentaire"
    assert told[0]["link"].endswith(cercle.ppa_id)
    assert mentions(CONTRIB) == []
    assert mentions(COORD) == []


def test_mention_outside_the_cercle_is_refused(
    cercle: Cercle, api_as: Callable[[str], Api]
) -> None:
    for who in (user_id(api_as, OPPOSED), user_id(api_as, "admin"), "pas-un-id"):
        refused = api_as(COORD).post(
            f"/api/ppas/{cercle.ppa_id}/comments",
            json={"anchor": "ppa", "text": "Bonjour", "mentions": [who]},
        )
        assert refused.status_code == 409, refused.text
        assert "peuvent être mentionnés" in refused.json()["detail"]


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"anchor": "inconnu/x", "text": "x"}, "anchor"),
        ({"anchor": "objectifs", "text": "x"}, "anchor"),
        ({"anchor": "projet/nope", "text": "x"}, "anchor"),
        ({"anchor": "ppa", "text": ""}, "text"),
        ({"anchor": "ppa", "text": "a\x00b"}, "text"),
        ({"anchor": "ppa", "text": "x", "extra": 1}, "extra"),
    ],
)
def test_bad_comment_input(
    cercle: Cercle, api_as: Callable[[str], Api], body: dict[str, Any], path: str
) -> None:
    refused = api_as(COORD).post(f"/api/ppas/{cercle.ppa_id}/comments", json=body)
    assert refused.status_code == 422, refused.text
    payload = refused.json()
    assert payload["detail"]
    assert any(p["path"].startswith(path) for p in payload["problems"])


def test_audited(cercle: Cercle, api_as: Callable[[str], Api]) -> None:
    thread = post_thread(api_as(READER), cercle.ppa_id, "ppa", "Tracé")
    api_as(READER).get(f"/api/ppas/{cercle.ppa_id}/comments")
    api_as(OPPOSED).get(f"/api/ppas/{cercle.ppa_id}/comments")
    trail = api_as(AUDITOR).get(f"/api/persons/{cercle.person_id}/audit?limit=5000").json()
    actions = {(e["action"], e["object_type"], e["object_id"], e["outcome"]) for e in trail}
    assert ("ppa.comment.create", "comment", thread["id"], "ok") in actions
    assert ("ppa.comments.read", "ppa", cercle.ppa_id, "ok") in actions
    assert ("ppa.comments.read", "ppa", cercle.ppa_id, "denied") in actions
    assert "Tracé" not in json.dumps(trail)


def test_kept_with_history_never_exported(
    validated: Validated, api_as: Callable[[str], Api]
) -> None:
    coord = api_as(COORD)
    objective = validated.content.objectifs[0].id
    marker = f"Commentaire-{uuid.uuid4().hex[:10]}"
    # written after the validated version: it is not in that version's view, and still readable
    thread = post_thread(coord, validated.ppa_id, f"objectifs/{objective}", marker)
    assert thread["entries"][0]["version_number"] == validated.validated
    url = f"/api/ppas/{validated.ppa_id}/comments"
    now = coord.get(url).json()
    assert [t["entries"][0]["text"] for t in now["threads"]] == [marker]
    then = coord.get(f"{url}?version={validated.draft}").json()
    assert then["threads"] == []
    assert then["as_of"]
    assert coord.get(f"{url}?version=999").status_code == 404
    # the PPA's documents never hold a comment
    base = f"/api/ppas/{validated.ppa_id}/versions/{validated.validated}"
    assert marker not in coord.get(base).text
    for fmt in ("fhir", "cda", "json", "docx"):
        exported = coord.get(f"{base}/exports/{fmt}")
        if exported.status_code == 404:
            continue
        assert exported.status_code == 200, (fmt, exported.text)
        assert marker.encode() not in exported.content
    assert marker not in coord.get(f"/api/ppas/{validated.ppa_id}").text


def _suggest(api: Api, ppa_id: str, path: str, text: str) -> httpx.Response:
    return api.post(f"/api/ppas/{ppa_id}/suggestions", json={"anchor": path, "text": text})


def test_suggestion_accepted_names_suggester_and_acceptor(
    api_as: Callable[[str], Api], demo: dict[str, Any]
) -> None:
    v = new_validated(api_as, demo)
    coord = api_as(COORD)
    opened = coord.post(f"/api/ppas/{v.ppa_id}/avenant")
    assert opened.status_code in (200, 201), opened.text
    action = v.content.actions[0]
    path = f"actions/{action.id}/description"
    # an objective's substance is beyond an avenant: refused before it is even proposed
    objective = v.content.objectifs[0].id
    beyond = _suggest(api_as(READER), v.ppa_id, f"objectifs/{objective}/titre", "Autre titre")
    assert beyond.status_code == 409
    assert "avenant" in beyond.json()["detail"]
    made = _suggest(api_as(READER), v.ppa_id, path, "Atelier cuisine le mardi, avec Lina")
    assert made.status_code == 201, made.text
    suggestion = made.json()
    assert suggestion["base"] == action.description
    assert suggestion["status"] == "pending"
    # readers and the person do not decide
    assert (
        api_as(PERSON).post(f"/api/ppas/{v.ppa_id}/suggestions/{suggestion['id']}/accept")
    ).status_code == 403
    before = coord.get(f"/api/ppas/{v.ppa_id}/versions").json()
    accepted = coord.post(f"/api/ppas/{v.ppa_id}/suggestions/{suggestion['id']}/accept")
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["status"] == "accepted"
    assert accepted.json()["decided_by_name"]
    content = coord.get(f"/api/ppas/{v.ppa_id}").json()["content"]
    assert next(a for a in content["actions"] if a["id"] == action.id)["description"] == (
        "Atelier cuisine le mardi, avec Lina"
    )
    versions = coord.get(f"/api/ppas/{v.ppa_id}/versions").json()
    newest = max(x["number"] for x in versions)
    assert newest > max(x["number"] for x in before)
    diff = coord.get(f"/api/ppas/{v.ppa_id}/diff?from={v.validated}&to={newest}").json()
    field = next(
        f for item in diff["items"] for f in item["fields"] if f["path"].endswith("description")
    )
    assert {a["author"] for a in field["authors"]} == {
        user_id(api_as, READER),
        user_id(api_as, COORD),
    }
    again = coord.post(f"/api/ppas/{v.ppa_id}/suggestions/{suggestion['id']}/reject")
    assert again.status_code == 409
    assert "déjà été acceptée" in again.json()["detail"]


def test_suggestion_conflicts_and_rejection(cercle: Cercle, api_as: Callable[[str], Api]) -> None:
    coord = api_as(COORD)
    path = "projet/modalite_communication"
    made = _suggest(api_as(PERSON), cercle.ppa_id, path, "Lu avec moi, en FALC")
    assert made.status_code == 201, made.text
    # a colleague changed the field since: accepting would overwrite them
    patched = coord.patch(
        f"/api/ppas/{cercle.ppa_id}/content",
        json={"projet": {"modalite_communication": "Remis en main propre"}},
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert patched.status_code == 200, patched.text
    clash = coord.post(f"/api/ppas/{cercle.ppa_id}/suggestions/{made.json()['id']}/accept")
    assert clash.status_code == 409
    assert "modifié depuis" in clash.json()["detail"]
    rejected = api_as(CONTRIB).post(
        f"/api/ppas/{cercle.ppa_id}/suggestions/{made.json()['id']}/reject"
    )
    assert rejected.status_code == 200
    assert rejected.json()["status"] == "rejected"
    content = coord.get(f"/api/ppas/{cercle.ppa_id}").json()["content"]
    assert content["projet"]["modalite_communication"] == "Remis en main propre"
    same = _suggest(api_as(PERSON), cercle.ppa_id, path, "Remis en main propre")
    assert same.status_code == 409
    assert "identique" in same.json()["detail"]
    not_text = _suggest(api_as(PERSON), cercle.ppa_id, "projet/date_debut", "2026-01-01")
    assert not_text.status_code == 422
    assert not_text.json()["problems"][0]["path"] == "anchor"
    gone = _suggest(api_as(PERSON), cercle.ppa_id, "objectifs/absent/titre", "x")
    assert gone.status_code == 409
    assert "n'existe plus" in gone.json()["detail"]


def test_locked_ppa_takes_comments_not_suggestions(
    validated: Validated, api_as: Callable[[str], Api]
) -> None:
    path = f"actions/{validated.content.actions[0].id}/description"
    locked = _suggest(api_as(READER), validated.ppa_id, path, "Autre chose")
    assert locked.status_code == 409, locked.text
    assert locked.json()["error"] == "Locked"
    assert "avenant" in locked.json()["detail"]
    post_thread(api_as(READER), validated.ppa_id, path, "À revoir au prochain avenant")


def test_stream_tells_a_change(
    cercle: Cercle, api_as: Callable[[str], Api], live_server: LiveServer
) -> None:
    """A real socket: the stream's first event, then one after a comment is posted."""
    token = api_as(READER).token
    events: list[str] = []
    first, second = threading.Event(), threading.Event()

    def listen() -> None:
        with httpx.stream(
            "GET",
            f"{live_server.url}/api/ppas/{cercle.ppa_id}/comments/stream",
            headers={"Authorization": f"Bearer {token}"},
            timeout=60,
        ) as response:
            assert response.status_code == 200
            for line in response.iter_lines():
                if line.startswith("event: "):
                    events.append(line[7:])
                    (second if first.is_set() else first).set()
                    if second.is_set():
                        return

    thread = threading.Thread(target=listen, daemon=True)
    thread.start()
    assert first.wait(60), "no first event"
    post_thread(api_as(COORD), cercle.ppa_id, "ppa", "En direct")
    assert second.wait(60), "no event after the comment"
    thread.join(60)
    assert events == ["changed", "changed"]
    refused = httpx.get(
        f"{live_server.url}/api/ppas/{cercle.ppa_id}/comments/stream",
        headers={"Authorization": f"Bearer {api_as(OPPOSED).token}"},
        timeout=30,
    )
    assert refused.status_code == 404


def test_the_aidant_comments_and_suggests_on_her_behalf(
    cercle: Cercle, api_as: Callable[[str], Api]
) -> None:
    """What the aidant writes, she writes for the person (issue 17, point 8): her name reads
    "<aidant> pour <person>" on her threads and suggestions, as in the versions."""
    aidant = api_as("aidant")
    name = aidant.get("/api/auth/me").json()["display_name"]
    person = api_as(COORD).get(f"/api/persons/{cercle.person_id}").json()
    family = person.get("used_name") or person["birth_family_name"]
    on_behalf = f"{name} pour {person['first_names'].split()[0]} {family}"
    path = "projet/modalite_communication"
    thread = post_thread(aidant, cercle.ppa_id, path, "Elle préfère qu'on lui lise.")
    assert thread["entries"][0]["author_name"] == on_behalf
    made = _suggest(aidant, cercle.ppa_id, path, "Lu avec elle, en FALC, par sa sœur")
    assert made.status_code == 201, made.text
    assert made.json()["author_name"] == on_behalf
    listed = api_as(COORD).get(f"/api/ppas/{cercle.ppa_id}/comments").json()
    [mine] = [t for t in listed["threads"] if t["id"] == thread["id"]]
    assert mine["entries"][0]["author_name"] == on_behalf
    [suggestion] = [s for s in listed["suggestions"] if s["id"] == made.json()["id"]]
    assert suggestion["author_name"] == on_behalf
    rejected = api_as(COORD).post(
        f"/api/ppas/{cercle.ppa_id}/suggestions/{suggestion['id']}/reject"
    )
    assert rejected.status_code == 200, rejected.text
    assert rejected.json()["author_name"] == on_behalf
    # a professional's name stays hers alone
    assert (
        rejected.json()["decided_by_name"]
        == api_as(COORD).get("/api/auth/me").json()["display_name"]
    )
