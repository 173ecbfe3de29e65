"""Structured diff: items by id, field kinds, word-level text, code labels, authorship, summary."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from editor.schema import Action, Besoin, Jour, Moyen, PPAContent, StatutAction
from tests.factories import small_ppa
from versions.diff import (
    AuthoredChange,
    ChangeKind,
    TextSegment,
    diff_contents,
    word_diff,
)

LABELS = {"2.3.4.1": "Transports", "2.3.1.1": "Cuisine", "1.3.1": "Mobilité"}


def labeler(code: str) -> str | None:
    return LABELS.get(code)


def at(day: int) -> datetime:
    return datetime(2025, 2, day, 10, 0, tzinfo=UTC)


def test_identical_contents_have_an_empty_diff() -> None:
    a = small_ppa()
    diff = diff_contents(a, a.model_copy(deep=True), labeler=labeler)
    assert diff.empty
    assert diff.summary_fr() == "Aucune modification"


def test_reordering_items_is_not_a_change() -> None:
    a = small_ppa()
    b = a.model_copy(deep=True)
    b.actions.reverse()
    b.objectifs.reverse()
    assert diff_contents(a, b, labeler=labeler).empty


def test_items_added_removed_changed_with_field_kinds() -> None:
    a = small_ppa()
    b = a.model_copy(deep=True)
    action = b.actions[0]
    assert action.planning is not None
    action.planning.lieu = "Gare routière"
    action.planning.jours = [Jour.LUNDI, Jour.JEUDI]
    action.prestations = ["2.3.4.1", "2.3.1.1"]
    action.statut = StatutAction.ESSAI
    action.date_debut = date(2025, 3, 1)
    action.objectif_ids = ["o1", "o2"]
    b.actions.append(Action(id="a3", titre="Piscine", objectif_ids=["o1"]))
    b.moyens.append(Moyen(id="m1", description="Carte de bus"))
    del b.actions[1]
    b.besoins[0].code = "1.2.1.1"
    b.bilan.prochaine_revision = date(2025, 12, 1)
    diff = diff_contents(a, b, labeler=labeler)

    by_id = {item.item_id: item for item in diff.items}
    a1 = by_id["a1"]
    assert a1.kind is ChangeKind.CHANGED
    fields = {f.field: f for f in a1.fields}
    assert set(fields) == {
        "planning.lieu",
        "planning.jours",
        "prestations",
        "statut",
        "date_debut",
        "objectif_ids",
    }
    assert fields["planning.lieu"].kind == "text"
    assert fields["planning.lieu"].path == "actions/a1/planning/lieu"
    assert (fields["planning.jours"].kind, fields["planning.jours"].new) == ("value", ["MO", "TH"])
    prestations = fields["prestations"]
    assert prestations.kind == "codes"
    assert prestations.old_labels == ("2.3.4.1 - Transports",)
    assert prestations.new_labels == ("2.3.4.1 - Transports", "2.3.1.1 - Cuisine")
    assert (fields["statut"].old, fields["statut"].new) == ("en_preparation", "essai")
    assert (fields["date_debut"].kind, fields["date_debut"].new) == ("date", "2025-03-01")
    links = fields["objectif_ids"]
    assert links.kind == "links"
    assert links.new_labels == ("Prendre le bus seule", "Préparer ses repas")

    assert by_id["a3"].kind is ChangeKind.ADDED
    assert {f.field for f in by_id["a3"].fields} >= {"titre", "objectif_ids"}
    assert "description" not in {f.field for f in by_id["a3"].fields}  # empty: not listed
    assert by_id["a2"].kind is ChangeKind.REMOVED
    assert by_id["a2"].title == "Atelier cuisine"
    assert by_id["m1"].kind is ChangeKind.ADDED
    code = by_id["b1"].fields[0]
    assert (code.kind, code.old, code.new) == ("code", "1.3.1", "1.2.1.1")
    assert code.old_labels == ("1.3.1 - Mobilité",)
    assert code.new_labels == ("1.2.1.1",)  # unknown to the labeler: the code alone
    bilan = diff.in_section("bilan")[0]
    assert (bilan.item_id, bilan.fields[0].path) == (None, "bilan/prochaine_revision")

    assert diff.summary_fr() == (
        "1 action modifiée (« Trajets accompagnés »), 1 action ajoutée (« Piscine »), "
        "1 action supprimée (« Atelier cuisine »), 1 besoin modifié (« Se déplacer »), "
        "1 moyen ajouté (« Carte de bus »), bilan modifié"
    )
    assert a1.describe_fr() == (
        "Action « Trajets accompagnés » modifiée "
        "(objectifs servis, prestations, date de début, jours, lieu, statut)"
    )


def test_word_level_text_diff() -> None:
    segments = word_diff(
        "Accompagnement sur le trajet de la ligne 12.",
        "Accompagnement sur le trajet de la ligne 14, le lundi.",
    )
    assert segments == (
        TextSegment("equal", "Accompagnement sur le trajet de la ligne "),
        TextSegment("delete", "12"),
        TextSegment("insert", "14, le lundi"),
        TextSegment("equal", "."),
    )
    assert word_diff("", "Bonjour") == (TextSegment("insert", "Bonjour"),)
    assert word_diff("même", "même") == (TextSegment("equal", "même"),)
    a = small_ppa()
    b = a.model_copy(deep=True)
    b.projet_de_vie = "Vivre en appartement avec un accompagnement renforcé."
    change = diff_contents(a, b, labeler=labeler).items[0]
    assert change.section == "projet_de_vie"
    assert change.describe_fr() == "Projet de vie modifié"
    assert [s.op for s in change.fields[0].segments] == ["equal", "delete", "insert", "equal"]
    assert change.fields[0].segments[1].text == "léger"


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60), st.text(max_size=60))
def test_word_diff_rebuilds_both_texts(old: str, new: str) -> None:
    segments = word_diff(old, new)
    assert "".join(s.text for s in segments if s.op != "insert") == old
    assert "".join(s.text for s in segments if s.op != "delete") == new
    assert all(s.text for s in segments)
    assert all(x.op != y.op for x, y in itertools.pairwise(segments))


def test_authorship_is_attached_to_fields_and_items() -> None:
    a = small_ppa()
    b = a.model_copy(deep=True)
    assert b.actions[0].planning is not None
    b.actions[0].planning.lieu = "Gare"
    b.actions[0].planning.jours = [Jour.LUNDI, Jour.MARDI]
    b.actions[0].description = "Nouveau trajet."
    b.actions.append(Action(id="a3", titre="Piscine"))
    b.projet.titre = "PPA 2025-2026"
    authorship = [
        AuthoredChange("actions/a1/planning", "alice", at(1)),
        AuthoredChange("actions/a1/planning/lieu", "alice", at(4)),
        AuthoredChange("actions/a1/description", "carol", at(3)),
        AuthoredChange("actions/a3", "bob", at(2)),
        AuthoredChange("projet/titre", "dan", at(5)),
        AuthoredChange("objectifs/o1/titre", "eve", at(6)),  # edited then reverted: no change
        AuthoredChange("actions/a1/titre", "eve", at(6)),  # idem, on an item that did change
        AuthoredChange("actions/a1/planning/jours/1", "fred", at(8)),  # deeper than a field
    ]
    diff = diff_contents(a, b, authorship, labeler=labeler)
    by_id = {item.item_id: item for item in diff.items}
    a1 = by_id["a1"]
    fields = {f.field: f for f in a1.fields}
    (lieu_author,) = fields["planning.lieu"].authors
    assert (lieu_author.author, lieu_author.first_at, lieu_author.last_at) == (
        "alice",
        at(1),
        at(4),
    )
    assert [x.author for x in fields["description"].authors] == ["carol"]
    assert [x.author for x in fields["planning.jours"].authors] == ["alice", "fred"]
    assert "titre" not in fields
    assert [x.author for x in a1.authors] == ["alice", "carol", "fred"]  # by first edit; no eve
    assert [x.author for x in by_id["a3"].authors] == ["bob"]
    assert all(f.authors[0].author == "bob" for f in by_id["a3"].fields)
    projet = diff.in_section("projet")[0]
    assert [x.author for x in projet.fields[0].authors] == ["dan"]
    assert "o1" not in by_id

    # A lookup callable works the same way (the server can query its update log lazily).
    asked: list[str] = []

    def lookup(path: str) -> list[AuthoredChange]:
        asked.append(path)
        return [c for c in authorship if c.path_prefix.startswith(path.split("/")[0])]

    same = diff_contents(a, b, lookup, labeler=labeler)
    assert same == diff
    assert "actions/a1/planning/lieu" in asked


def test_whole_document_author_and_besoin_title_from_label() -> None:
    a = PPAContent(besoins=[Besoin(id="b1", code="1.3.1")])
    b = PPAContent()
    diff = diff_contents(a, b, [AuthoredChange("", "restorer", at(7))], labeler=labeler)
    (item,) = diff.items
    assert (item.kind, item.title) == (ChangeKind.REMOVED, "Mobilité")
    assert [x.author for x in item.authors] == ["restorer"]
    assert diff.summary_fr() == "1 besoin supprimé (« Mobilité »)"


def test_summary_groups_and_truncates_titles() -> None:
    a = PPAContent()
    b = PPAContent(actions=[Action(id=f"x{i}", titre=f"Action {i}") for i in range(5)])
    assert diff_contents(a, b, labeler=labeler).summary_fr(max_titles=2) == (
        "5 actions ajoutées (« Action 0 », « Action 1 », …)"
    )
