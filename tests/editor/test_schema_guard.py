from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import example, given, note, settings
from hypothesis import strategies as st
from pycrdt import Array, Doc, Map, Text

from editor.crdt import (
    LayoutError,
    check_layout,
    check_update,
    content_to_doc,
    doc_from_state,
    doc_to_content,
    doc_to_content_repaired,
    encode_state,
)
from editor.layout_guard import LayoutGuard
from editor.schema import StatutObjectif
from tests.crdt_ops import Op, apply_op, operations
from tests.factories import valid_ppa

Breaker = Callable[[Doc[Any]], None]


def _objectif(doc: Doc[Any], index: int = 0) -> Map[Any]:
    item = doc.get("objectifs", type=Array)[index]
    assert isinstance(item, Map)
    return item


def _action(doc: Doc[Any]) -> Map[Any]:
    item = doc.get("actions", type=Array)[0]
    assert isinstance(item, Map)
    return item


def _planning(doc: Doc[Any]) -> Map[Any]:
    planning = _action(doc)["planning"]
    assert isinstance(planning, Map)
    return planning


def _formatted_text_root(doc: Doc[Any]) -> None:
    text = Text("abc")
    other: Doc[Any] = Doc()
    other["objectifs"] = text
    text.format(0, 2, {"bold": True})
    doc.apply_update(other.get_update())


def _embed(doc: Doc[Any]) -> None:
    titre = _objectif(doc)["titre"]
    titre.insert_embed(0, {"image": "x"})


def _format(doc: Doc[Any]) -> None:
    _objectif(doc)["titre"].format(0, 3, {"bold": True})


CASES: list[tuple[str, Breaker, set[tuple[str, str]]]] = [
    (
        "unknown root",
        lambda d: d.__setitem__("intrus", Map({"a": 1})),
        {("intrus", "unknown_root")},
    ),
    (
        "map entries on array root",
        lambda d: d.get("objectifs", type=Map).__setitem__("x", 1),
        {("objectifs", "wrong_type")},
    ),
    (
        "array entries on map root",
        lambda d: d.get("projet", type=Array).append("x"),
        {("projet", "wrong_type")},
    ),
    (
        "text on map root",
        lambda d: d.get("bilan", type=Text).insert(0, "x"),
        {("bilan", "wrong_type")},
    ),
    (
        "map entries on text root",
        lambda d: d.get("projet_de_vie", type=Map).__setitem__("x", "y"),
        {("projet_de_vie", "wrong_type")},
    ),
    (
        "item not a map",
        lambda d: d.get("besoins", type=Array).append("b-3"),
        {("besoins[5]", "wrong_type")},
    ),
    (
        "item without id",
        lambda d: d.get("moyens", type=Array).append(Map({"type": "humain"})),
        {("moyens[3]", "missing_id")},
    ),
    ("empty id", lambda d: _objectif(d).__setitem__("id", ""), {("objectifs[0].id", "bad_id")}),
    (
        "long id",
        lambda d: _objectif(d).__setitem__("id", "x" * 65),
        {("objectifs[0].id", "bad_id")},
    ),
    (
        "numeric id",
        lambda d: _objectif(d).__setitem__("id", 3),
        {("objectifs[0].id", "wrong_type")},
    ),
    (
        "duplicate id",
        lambda d: _objectif(d, 1).__setitem__("id", "o-sante"),
        {("objectifs[1]", "duplicate_id")},
    ),
    (
        "unknown key",
        lambda d: _objectif(d).__setitem__("couleur", "rouge"),
        {("objectifs[0].couleur", "unknown_key")},
    ),
    (
        "unknown key in singleton",
        lambda d: d.get("projet", type=Map).__setitem__("x", Text()),
        {("projet.x", "unknown_key")},
    ),
    (
        "string instead of Text",
        lambda d: _objectif(d).__setitem__("titre", "plain"),
        {("objectifs[0].titre", "wrong_type")},
    ),
    (
        "Text instead of enum string",
        lambda d: _objectif(d).__setitem__("statut", Text("actif")),
        {("objectifs[0].statut", "wrong_type")},
    ),
    (
        "null Text",
        lambda d: d.get("projet", type=Map).__setitem__("titre", None),
        {("projet.titre", "wrong_type")},
    ),
    (
        "boolean integer",
        lambda d: _planning(d).__setitem__("intervalle", True),
        {("actions[0].planning.intervalle", "wrong_type")},
    ),
    (
        "non integral",
        lambda d: _planning(d).__setitem__("duree_minutes", 1.5),
        {("actions[0].planning.duree_minutes", "bad_value")},
    ),
    (
        "out of range",
        lambda d: _planning(d).__setitem__("intervalle", 60),
        {("actions[0].planning.intervalle", "bad_value")},
    ),
    (
        "bad enum",
        lambda d: _objectif(d).__setitem__("statut", "fini"),
        {("objectifs[0].statut", "bad_value")},
    ),
    (
        "bad day",
        lambda d: _planning(d)["jours"].append("XX"),
        {("actions[0].planning.jours", "bad_value")},
    ),
    (
        "bad time",
        lambda d: _planning(d).__setitem__("heure_debut", "25:00"),
        {("actions[0].planning.heure_debut", "bad_value")},
    ),
    (
        "bad date format",
        lambda d: _objectif(d).__setitem__("date_debut", "06/01/2025"),
        {("objectifs[0].date_debut", "bad_date")},
    ),
    (
        "impossible date",
        lambda d: d.get("bilan", type=Map).__setitem__("date_evaluation", "2025-02-30"),
        {("bilan.date_evaluation", "bad_date")},
    ),
    (
        "date as number",
        lambda d: _action(d).__setitem__("date_fin", 20250101),
        {("actions[0].date_fin", "wrong_type")},
    ),
    (
        "non-string in id list",
        lambda d: _objectif(d)["besoin_ids"].append(7),
        {("objectifs[0].besoin_ids[1]", "wrong_type")},
    ),
    (
        "map in id list",
        lambda d: _action(d)["prestations"].append(Map()),
        {("actions[0].prestations[1]", "wrong_type")},
    ),
    (
        "string instead of list",
        lambda d: _action(d).__setitem__("prestations", "2.3.2.1"),
        {("actions[0].prestations", "wrong_type")},
    ),
    (
        "planning not a map",
        lambda d: _action(d).__setitem__("planning", "mardi"),
        {("actions[0].planning", "wrong_type")},
    ),
    (
        "unknown key in planning",
        lambda d: _planning(d).__setitem__("fuseau", "UTC"),
        {("actions[0].planning.fuseau", "unknown_key")},
    ),
    ("embed in Text", _embed, {("objectifs[0].titre", "rich_text")}),
    ("formatting in Text", _format, {("objectifs[0].titre", "rich_text")}),
    (
        "formatted text on array root",
        _formatted_text_root,
        {("objectifs", "wrong_type")},
    ),
]


@pytest.mark.parametrize(("name", "breaker", "expected"), CASES, ids=[c[0] for c in CASES])
def test_guard_detects(name: str, breaker: Breaker, expected: set[tuple[str, str]]) -> None:
    doc = content_to_doc(valid_ppa())
    breaker(doc)
    problems = check_layout(doc)
    assert {(p.path, p.code) for p in problems} == expected, name
    assert all(p.message for p in problems)
    with pytest.raises(LayoutError) as caught:
        doc_to_content(doc)
    assert caught.value.problems == tuple(problems)
    repaired, reported = doc_to_content_repaired(doc)
    assert reported == problems
    assert repaired.model_dump(mode="json")  # a valid content, whatever the breakage


def test_well_formed_doc_passes() -> None:
    assert check_layout(content_to_doc(valid_ppa())) == []
    assert check_layout(Doc()) == []


def test_all_problems_reported_at_once() -> None:
    doc = content_to_doc(valid_ppa())
    chosen = {"unknown root", "item not a map", "item without id", "long id", "bad time"}
    expected: set[tuple[str, str]] = set()
    for name, breaker, codes in CASES:
        if name in chosen:
            breaker(doc)
            expected |= codes
    assert len(expected) == 5
    assert {(p.path, p.code) for p in check_layout(doc)} == expected


def test_repair_drops_broken_entries_and_resets_values() -> None:
    doc = content_to_doc(valid_ppa())
    doc.get("besoins", type=Array).append("nope")
    doc.get("moyens", type=Array).append(Map({"type": "humain"}))
    _objectif(doc, 1).__setitem__("id", "o-sante")
    _objectif(doc).__setitem__("statut", "fini")
    _objectif(doc).__setitem__("titre", "plain")
    _objectif(doc)["besoin_ids"].append(7)
    repaired, problems = doc_to_content_repaired(doc)
    assert len(problems) == 6
    assert [b.id for b in repaired.besoins] == [
        "b-sante",
        "b-logement",
        "b-social",
        "b-mobilite",
        "b-budget",
    ]
    assert [m.id for m in repaired.moyens] == ["mo-1", "mo-2", "mo-3"]
    assert [o.id for o in repaired.objectifs] == ["o-sante", "o-social", "o-mobilite", "o-budget"]
    first = repaired.objectifs[0]
    assert first.statut is StatutObjectif.EN_PREPARATION
    assert first.titre == ""
    assert first.besoin_ids == ["b-sante"]


def test_check_update_leaves_doc_untouched() -> None:
    server = content_to_doc(valid_ppa())
    browser = doc_from_state(encode_state(server))
    before = server.get_state()
    _objectif(browser).__setitem__("statut", "fini")
    update = browser.get_update(before)
    problems = check_update(server, update)
    assert [(p.path, p.code) for p in problems] == [("objectifs[0].statut", "bad_value")]
    assert server.get_state() == before
    good = doc_from_state(encode_state(server))
    _objectif(good).__setitem__("statut", "termine")
    assert check_update(server, good.get_update(before)) == []


def test_layout_error_message_lists_paths() -> None:
    doc = content_to_doc(valid_ppa())
    for name in ("a", "b", "c", "d", "e", "f"):
        doc[name] = Map({"x": 1})
    with pytest.raises(LayoutError, match=r"a: unknown_root.*\(\+1\)"):
        doc_to_content(doc)


# --------------------------------------------------------------------------- one rule


def _random_doc(ops: list[Op]) -> Doc[Any]:
    doc = content_to_doc(valid_ppa())
    for op in ops:
        apply_op(doc, op)
    return doc


def _unplaceable(doc: Doc[Any], root: str) -> bool:
    text = doc.get(root, type=Text)
    shown = sum(len(c.encode()) if isinstance(c, str) else 1 for c, _attrs in text.diff())
    return len(text) != shown and any(isinstance(c, str) for c, _attrs in text.diff())


def _repaired(doc: Doc[Any]) -> Doc[Any]:
    update = LayoutGuard().repair(doc)
    if update is not None:
        doc.apply_update(update)
    return doc


EMPTIED_UNKNOWN_ROOT: list[Op] = [("root", "pirate", "Map", "x"), ("root", "pirate", "clear", 0)]


@settings(max_examples=300, deadline=None)
@given(ops=st.lists(operations, min_size=1, max_size=8))
@example(ops=EMPTIED_UNKNOWN_ROOT)
def test_guard_and_readers_apply_one_rule(ops: list[Op]) -> None:
    doc = _random_doc(ops)
    problems = check_layout(doc)
    content, ignored = doc_to_content_repaired(doc)
    assert ignored == problems
    assert (LayoutGuard().check(doc) == []) == (ignored == [])
    if not ignored:
        assert doc_to_content(doc) == content
    else:
        with pytest.raises(LayoutError):
            doc_to_content(doc)


def test_an_emptied_unknown_root_is_no_problem() -> None:
    doc = _random_doc(EMPTIED_UNKNOWN_ROOT)
    assert "pirate" in list(doc.keys())
    assert check_layout(doc) == []
    assert doc_to_content(doc) == valid_ppa()


@settings(max_examples=300, deadline=None)
@given(ops=st.lists(operations, min_size=1, max_size=8))
@example(ops=[("set", 4, "id", 3)])
@example(ops=[("root", "projet", "Array", None), ("root", "projet", "Text", "é")])
def test_repair_removes_what_the_rule_refuses(ops: list[Op]) -> None:
    doc = _random_doc(ops)
    state = doc.get_update()
    note(repr(ops))
    _repaired(doc)
    left = check_layout(doc)
    # The one thing left: a root whose Text view counts plain values it cannot place (written
    # through an Array view) among characters: no deletion there is known to be safe.
    assert all(len(p.at) == 1 and _unplaceable(doc, str(p.at[0])) for p in left), left
    if not left:
        doc_to_content(doc)
        assert LayoutGuard().repair(doc) is None
    original = doc_from_state(state)
    before = original.get_update()
    LayoutGuard().repair(original)
    assert original.get_update() == before


@settings(max_examples=200, deadline=None)
@given(ops=st.lists(operations, min_size=1, max_size=6), last=operations)
def test_check_update_judges_the_result_of_a_write(ops: list[Op], last: Op) -> None:
    doc = _repaired(_random_doc(ops))
    writer = doc_from_state(encode_state(doc))
    before = writer.get_state()
    apply_op(writer, last)
    update = writer.get_update(before)
    state = doc.get_update()
    refused = LayoutGuard().check_update(doc, update)
    assert doc.get_update() == state
    illegal = [v for v in refused if v.endswith(":illegal_character")]
    if illegal:
        assert refused == illegal  # judged on its strings first
    else:
        already = LayoutGuard().check(doc)
        assert refused == [v for v in LayoutGuard().check(writer) if v not in already]
