"""Replaying the update log on a version's Yjs state names the paths each update touched."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from editor.crdt import content_to_doc, encode_state, write_content
from editor.schema import Action, Jour, PPAContent
from server.versions_api.authorship import LoggedUpdate, changes_from_updates
from tests.factories import small_ppa
from versions.diff import diff_contents

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def _log(
    steps: list[tuple[str, Callable[[PPAContent], Any]]],
) -> tuple[bytes, list[LoggedUpdate], PPAContent, PPAContent]:
    base = small_ppa()
    doc = content_to_doc(base)
    state = encode_state(doc)
    current = base.model_copy(deep=True)
    updates = []
    for minute, (author, change) in enumerate(steps):
        before = doc.get_state()
        change(current)
        write_content(doc, current)
        updates.append(LoggedUpdate(doc.get_update(before), author, T0 + timedelta(minutes=minute)))
    return state, updates, base, current


def test_each_update_names_the_paths_it_touched() -> None:
    def move(c: PPAContent) -> None:
        assert c.actions[0].planning is not None
        c.actions[0].planning.jours = [Jour.MARDI]

    state, updates, _, _ = _log(
        [
            ("alice", lambda c: setattr(c.actions[0], "titre", "Atelier cuisine")),
            ("bob", move),
            ("bob", lambda c: c.actions[0].prestations.append("2.3.2.2")),
            ("carol", lambda c: c.actions.append(Action(id="a3", titre="Piscine"))),
            ("dave", lambda c: c.actions.pop(1)),
            ("erin", lambda c: setattr(c, "projet_de_vie", "Vivre seule.")),
            ("erin", lambda c: setattr(c.projet, "titre", "PPA")),
        ]
    )
    found = [(c.path_prefix, c.author, c.at) for c in changes_from_updates(state, updates)]
    assert found == [
        ("actions/a1/titre", "alice", T0),
        ("actions/a1/planning/jours", "bob", T0 + timedelta(minutes=1)),
        ("actions/a1/prestations", "bob", T0 + timedelta(minutes=2)),
        ("actions/a3", "carol", T0 + timedelta(minutes=3)),
        ("actions/a2", "dave", T0 + timedelta(minutes=4)),
        ("projet_de_vie", "erin", T0 + timedelta(minutes=5)),
        ("projet/titre", "erin", T0 + timedelta(minutes=6)),
    ]


def test_updates_already_in_the_base_name_nobody() -> None:
    state, updates, _, _ = _log([("alice", lambda c: setattr(c.objectifs[0], "titre", "Autre"))])
    later = content_to_doc(small_ppa())
    later.apply_update(state)
    for update in updates:
        later.apply_update(update.update)
    assert changes_from_updates(encode_state(later), updates) == []


def test_authors_reach_the_diff_fields_and_items() -> None:
    state, updates, base, current = _log(
        [
            ("alice", lambda c: setattr(c.objectifs[0], "titre", "Cuisiner seule")),
            ("bob", lambda c: setattr(c.actions[1], "titre", "Courses au marché")),
            (
                "alice",
                lambda c: setattr(c.actions[1], "titre", "Atelier cuisine"),
            ),  # back: no change
        ]
    )
    diff = diff_contents(base, current, authorship=changes_from_updates(state, updates))
    by_path = {item.path: item for item in diff.items}
    assert set(by_path) == {"objectifs/o1"}
    assert [a.author for a in by_path["objectifs/o1"].authors] == ["alice"]
