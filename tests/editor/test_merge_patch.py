"""JSON Merge Patch on the PPA content, items by id (editor.merge_patch)."""

from __future__ import annotations

import pytest

from editor.merge_patch import PatchError, apply_patch, conflicts, merge
from editor.schema import PPAContent
from tests.factories import valid_ppa


def _content() -> dict[str, object]:
    return valid_ppa().model_dump(mode="json")


def test_rfc7396_examples() -> None:
    assert merge({"a": "b"}, {"a": "c"}) == {"a": "c"}
    assert merge({"a": "b"}, {"b": "c"}) == {"a": "b", "b": "c"}
    assert merge({"a": "b"}, {"a": None}) == {}
    assert merge({"a": ["b"]}, {"a": "c"}) == {"a": "c"}
    assert merge({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}) == {"a": {"b": "d"}}
    assert merge(["a", "b"], ["c", "d"]) == ["c", "d"]


def test_items_by_id_update_delete_create() -> None:
    base = _content()
    actions = base["actions"]
    assert isinstance(actions, list)
    first, last = actions[0]["id"], actions[-1]["id"]
    out = apply_patch(
        base,
        {
            "actions": {
                first: {"titre": "Nouveau titre", "planning": {"lieu": "Salle 2"}},
                last: None,
            },
            "objectifs": {"o-neuf": {"titre": "Venu du DUI"}},
            "projet": {"titre": "PPA 2027"},
        },
    )
    content = PPAContent.model_validate(out)
    changed = content.actions[0]
    assert changed.titre == "Nouveau titre"
    assert changed.description == actions[0]["description"]
    assert changed.planning is not None
    assert changed.planning.lieu == "Salle 2"
    assert changed.planning.heure_debut == actions[0]["planning"]["heure_debut"]
    assert last not in [a.id for a in content.actions]
    assert content.objectifs[-1].id == "o-neuf"
    assert content.objectifs[-1].titre == "Venu du DUI"
    assert content.projet.titre == "PPA 2027"


@pytest.mark.parametrize(
    ("patch", "path"),
    [
        ([], "requête"),
        ({"actions": [{"id": "x"}]}, "actions"),
        ({"nope": 1}, "nope"),
        ({"actions": {"a-x": "texte"}}, "actions.a-x"),
        ({"projet": "x"}, "projet"),
    ],
)
def test_patches_that_do_not_fit_are_refused(patch: object, path: str) -> None:
    with pytest.raises(PatchError) as refused:
        apply_patch(_content(), patch)
    assert [p for p, _ in refused.value.problems] == [path]


def test_conflicts_only_on_the_fields_the_patch_changes() -> None:
    base = _content()
    actions = base["actions"]
    assert isinstance(actions, list)
    a, b = actions[0]["id"], actions[1]["id"]
    current = apply_patch(base, {"actions": {a: {"titre": "par une collègue"}}})
    same_field = apply_patch(current, {"actions": {a: {"titre": "par le DUI"}}})
    other_field = apply_patch(current, {"actions": {a: {"description": "par le DUI"}}})
    other_item = apply_patch(current, {"actions": {b: {"titre": "par le DUI"}}})
    assert conflicts(base, current, same_field) == [("actions", a, "titre")]
    assert conflicts(base, current, other_field) == []
    assert conflicts(base, current, other_item) == []
    assert apply_patch(current, {"actions": {"absent": None}}) == current
    deleted = apply_patch(current, {"actions": {a: None}})
    assert ("actions", a, "titre") in conflicts(base, current, deleted)
