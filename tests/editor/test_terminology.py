from __future__ import annotations

import pytest

from editor.terminology import (
    CODE_SYSTEM_URL,
    CODE_SYSTEM_VERSION,
    JDV_BESOINS_OID,
    Kind,
    TreeNode,
    normalize,
    terminology,
)

DEPRECATED = {"1.2.1", "1.3.1.1", "1.3.5.1", "2.4.1", "3.2.2.1", "3.2.3.1"}


def test_counts_per_kind() -> None:
    t = terminology()
    assert len(t) == 107
    assert len(t.by_kind(Kind.BESOIN)) == 35
    assert len(t.by_kind(Kind.PRESTATION_DIRECTE)) == 37
    assert len(t.by_kind(Kind.PRESTATION_INDIRECTE)) == 35


def test_deprecated_codes() -> None:
    t = terminology()
    assert {c.code for c in t.concepts if c.deprecated} == DEPRECATED
    assert all(t.is_deprecated(code) for code in DEPRECATED)
    assert not t.is_deprecated("1.3.2.1")


def test_constants() -> None:
    assert CODE_SYSTEM_URL == "https://smt.esante.gouv.fr/terminologie-SERAFINPH"
    assert CODE_SYSTEM_VERSION == "2023.1.0"
    vs = terminology().valuesets["JDV-J285-Besoins-SERAFIN"]
    assert vs.oid == JDV_BESOINS_OID == "1.2.250.1.213.3.3.254"
    assert len(vs.codes) == 35
    assert {c.code for c in terminology().by_kind(Kind.BESOIN)} == vs.codes


def test_get_and_kinds() -> None:
    t = terminology()
    concept = t.get("1.3.2.1")
    assert concept is not None
    assert concept.label == "Besoins pour vivre dans un logement"
    assert concept.kind is Kind.BESOIN
    assert concept.parent == "1.3.2"
    assert concept.depth == 4
    assert t.get("9.9") is None
    assert t.is_besoin("1.1")
    assert not t.is_prestation("1.1")
    assert t.is_prestation("2.3.2.1")
    assert t.is_prestation("3.1")
    assert not t.is_besoin("nope")
    # The CodeSystem re-parents 1.2.1.x under 1.2 (1.2.1 is deprecated).
    assert t["1.2.1.1"].parent == "1.2"
    assert "1.2.1.1" in t["1.2"].children
    with pytest.raises(KeyError):
        t["0.0"]


def test_typographic_apostrophe_kept_in_label() -> None:
    concept = terminology()["1.2"]
    assert concept.label == "Besoins en matière d’autonomie"
    assert concept.jdv_display == "Besoins en matière d'autonomie"


def test_search_logement_finds_besoin_and_prestation() -> None:
    codes = [c.code for c in terminology().search("logement")]
    assert "1.3.2.1" in codes
    assert "2.3.2.1" in codes
    assert codes == sorted(codes, key=lambda c: [int(x) for x in c.split(".")])


def test_search_is_accent_and_case_insensitive() -> None:
    t = terminology()
    plain = {c.code for c in t.search("securite")}
    accented = {c.code for c in t.search("SÉCURITÉ")}
    assert plain == accented
    assert "1.2.1.4" in plain
    assert all("sécurité" in c.label.lower() for c in t.search("securite"))


def test_search_multi_word_is_and() -> None:
    t = terminology()
    both = {c.code for c in t.search("vivre logement")}
    assert both
    assert both <= {c.code for c in t.search("vivre")}
    assert both <= {c.code for c in t.search("logement")}
    assert "2.3.2" not in both  # "Accompagnements au logement": no "vivre"


def test_search_by_code_prefix_returns_descendants() -> None:
    codes = [c.code for c in terminology().search("1.3.2")]
    assert codes[0] == "1.3.2"
    assert set(codes) == {"1.3.2", "1.3.2.1", "1.3.2.2"}
    assert [c.code for c in terminology().search("1.1.1")] == ["1.1.1"]  # not 1.1.10


def test_search_kind_limit_and_deprecated() -> None:
    t = terminology()
    assert {c.code for c in t.search("logement", kind=Kind.BESOIN)} == {"1.3.2", "1.3.2.1"}
    assert {c.code for c in t.search("logement", kind="prestation_directe")} == {
        "2.3.2",
        "2.3.2.1",
    }
    assert "2.4.1" not in {c.code for c in t.search("2.4")}
    assert "2.4.1" in {c.code for c in t.search("2.4", include_deprecated=True)}
    assert len(t.search("besoins", limit=3)) == 3
    assert t.search("   ") == []
    assert t.search("zzzqqq") == []


def test_tree_hides_deprecated_and_nests() -> None:
    t = terminology()
    forest = t.tree()
    assert [n.concept.code for n in forest] == ["1", "2", "3"]

    def walk(nodes: tuple[TreeNode, ...] | list[TreeNode]) -> list[str]:
        out: list[str] = []
        for node in nodes:
            out.append(node.concept.code)
            out.extend(walk(node.children))
        return out

    assert len(walk(forest)) == 101
    assert not set(walk(forest)) & DEPRECATED
    assert len(walk(t.tree(include_deprecated=True))) == 107
    besoins = t.tree(Kind.BESOIN)
    assert [n.concept.code for n in besoins] == ["1"]
    assert len(walk(besoins)) == 32
    autonomie = next(n for n in besoins[0].children if n.concept.code == "1.2")
    assert [n.concept.code for n in autonomie.children] == [
        "1.2.1.1",
        "1.2.1.2",
        "1.2.1.3",
        "1.2.1.4",
    ]


def test_normalize() -> None:
    assert normalize("Mise en Œuvre d’Été") == "mise en oeuvre d'ete"


def test_ancestors() -> None:
    assert [c.code for c in terminology().ancestors("1.3.2.1")] == ["1.3.2", "1.3", "1"]
