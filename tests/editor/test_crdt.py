from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pycrdt import Array, Doc, Map, Text

from editor.crdt import (
    FIELDS,
    ITEM_ROOTS,
    MAP_ROOTS,
    NESTED_MAPS,
    ROOT_TYPES,
    check_layout,
    content_to_doc,
    delete_item,
    doc_from_state,
    doc_to_content,
    doc_to_content_repaired,
    encode_state,
    insert_item,
    write_content,
)
from editor.schema import (
    TOP_LEVEL_KEYS,
    Accord,
    Action,
    Attente,
    Besoin,
    Bilan,
    Frequence,
    Jour,
    ModeAccord,
    Moyen,
    Objectif,
    OrigineAttente,
    Planning,
    PPAContent,
    Projet,
    StatutAction,
    StatutObjectif,
    TypeAccord,
    TypeMoyen,
)
from tests.factories import MEMBERS, valid_ppa

# --------------------------------------------------------------------------- layout table


def test_layout_covers_every_model_field() -> None:
    assert tuple(ROOT_TYPES) == TOP_LEVEL_KEYS
    for model, fields in FIELDS.items():
        assert set(fields) == set(model.model_fields), model.__name__
    assert set(ITEM_ROOTS.values()) | set(MAP_ROOTS.values()) | set(NESTED_MAPS.values()) == set(
        FIELDS
    )


def test_layout_of_written_doc() -> None:
    doc = content_to_doc(valid_ppa())
    assert set(doc.keys()) == set(TOP_LEVEL_KEYS)
    objectifs = doc.get("objectifs", type=Array)
    first = objectifs[0]
    assert isinstance(first, Map)
    assert first["id"] == "o-sante"
    assert isinstance(first["titre"], Text)
    assert isinstance(first["besoin_ids"], Array)
    assert first["date_debut"] == "2026-12-01"
    assert first["statut"] == "actif"
    assert first["referent_id"] == MEMBERS["infirmier"]
    assert isinstance(doc.get("projet_de_vie", type=Text), Text)
    action = doc.get("actions", type=Array)[0]
    assert isinstance(action["planning"], Map)
    assert action["planning"]["jours"].to_py() == ["MO"]
    assert action["planning"]["duree_minutes"] == 30
    assert doc.get("objectifs", type=Array)[3]["avis_usager"].to_py() == ""
    assert doc.get("bilan", type=Map)["prochaine_revision"] == "2027-11-15"
    assert doc.get("bilan", type=Map)["date_evaluation"] is None  # planned, not done
    assert doc.get("bilan", type=Map)["date_evaluation_prevue"] == "2027-06-15"  # a plan (rule 5)


# --------------------------------------------------------------------------- round trips


def test_round_trip_through_bytes() -> None:
    content = valid_ppa()
    doc = content_to_doc(content)
    assert check_layout(doc) == []
    again = doc_to_content(doc_from_state(encode_state(doc)))
    assert again == content


def test_empty_doc_is_empty_content() -> None:
    assert doc_to_content(Doc()) == PPAContent()
    assert doc_to_content(content_to_doc(PPAContent())) == PPAContent()


def test_missing_keys_read_as_defaults() -> None:
    doc: Doc[Any] = Doc()
    doc["objectifs"] = Array([Map({"id": "o1"})])
    doc["projet"] = Map({"titre": Text("T")})
    content = doc_to_content(doc)
    assert content.objectifs == [Objectif(id="o1")]
    assert content.projet == Projet(titre="T")


def test_reading_does_not_modify_the_doc() -> None:
    doc = content_to_doc(valid_ppa())
    doc["intrus"] = Map({"x": 1})
    before = encode_state(doc)
    check_layout(doc)
    doc_to_content_repaired(doc)
    assert encode_state(doc) == before


def test_write_content_rejects_duplicate_ids() -> None:
    content = PPAContent(besoins=[Besoin(id="x"), Besoin(id="x")])
    with pytest.raises(ValueError, match="duplicate"):
        content_to_doc(content)


_text = st.text(max_size=30)
_dates = st.none() | st.dates(min_value=date(1900, 1, 1), max_value=date(2200, 12, 31))
_ids = st.sampled_from(["a", "b", "c", "d", "e", "é-ü", "f" * 64]) | st.uuids().map(str)
_id_lists = st.lists(st.text(min_size=1, max_size=10), max_size=3)
_hours = st.none() | st.builds("{:02d}:{:02d}".format, st.integers(0, 23), st.integers(0, 59))

_planning = st.builds(
    Planning,
    frequence=st.sampled_from(Frequence),
    intervalle=st.integers(1, 52),
    jours=st.lists(st.sampled_from(Jour), max_size=7),
    heure_debut=_hours,
    duree_minutes=st.none() | st.integers(1, 24 * 60),
    lieu=_text,
)


def _items(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[list[Any]]:
    return st.lists(strategy, max_size=4, unique_by=lambda item: item.id)


_content = st.builds(
    PPAContent,
    projet=st.builds(
        Projet,
        titre=_text,
        type=st.sampled_from(["PPA", "PPA-avenant"]),
        date_debut=_dates,
        date_fin=_dates,
        modalite_communication=_text,
    ),
    projet_de_vie=st.text(max_size=200),
    attentes=_items(
        st.builds(Attente, id=_ids, origine=st.sampled_from(OrigineAttente), texte=_text)
    ),
    besoins=_items(
        st.builds(
            Besoin,
            id=_ids,
            code=st.none() | st.sampled_from(["1.3.2.1", "2.1", "zz", ""]),
            description=_text,
            analyse=_text,
        )
    ),
    objectifs=_items(
        st.builds(
            Objectif,
            id=_ids,
            titre=_text,
            description=_text,
            besoin_ids=_id_lists,
            domaine=_text,
            date_debut=_dates,
            date_echeance=_dates,
            resultat_attendu=_text,
            strategie=_text,
            referent_id=st.none() | st.text(max_size=10),
            avis_usager=_text,
            statut=st.sampled_from(StatutObjectif),
        )
    ),
    actions=_items(
        st.builds(
            Action,
            id=_ids,
            titre=_text,
            description=_text,
            objectif_ids=_id_lists,
            prestations=_id_lists,
            referent_id=st.none() | st.text(max_size=10),
            intervenant_ids=_id_lists,
            date_debut=_dates,
            date_fin=_dates,
            planning=st.none() | _planning,
            statut=st.sampled_from(StatutAction),
            resultat_attendu=_text,
            avis_usager=_text,
        )
    ),
    moyens=_items(st.builds(Moyen, id=_ids, type=st.sampled_from(TypeMoyen), description=_text)),
    bilan=st.builds(
        Bilan,
        date_evaluation=_dates,
        prochaine_revision=_dates,
        notes_preparation=_text,
        redige_par=st.text(max_size=10),
    ),
    accords=_items(
        st.builds(
            Accord,
            id=_ids,
            type=st.sampled_from(TypeAccord),
            mode=st.sampled_from(ModeAccord),
            par=st.text(max_size=10),
            temoin=st.text(max_size=10),
            date=_dates,
            motif=_text,
        )
    ),
)

_settings = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_settings
@given(_content)
def test_property_round_trip(content: PPAContent) -> None:
    doc = content_to_doc(content)
    assert check_layout(doc) == []
    assert doc_to_content(doc_from_state(encode_state(doc))) == content


@_settings
@given(_content, _content)
def test_property_write_content_over_other_content(first: PPAContent, second: PPAContent) -> None:
    doc = content_to_doc(first)
    peer = doc_from_state(encode_state(doc))
    write_content(doc, second)
    assert check_layout(doc) == []
    assert doc_to_content(doc) == second
    # A peer that had the first state converges to the same content.
    peer.apply_update(encode_state(doc))
    assert doc_to_content(peer) == second


# --------------------------------------------------------------------------- minimal writes


def test_write_content_keeps_shared_types_so_concurrent_typing_survives() -> None:
    content = valid_ppa()
    server = content_to_doc(content)
    browser = doc_from_state(encode_state(server))
    # The browser types in the title of the second objective ...
    titre = browser.get("objectifs", type=Array)[1]["titre"]
    titre.insert(len(titre), " chaque mois")
    # ... while a REST edit changes other parts of the same objective, and reorders nothing.
    edited = content.model_copy(deep=True)
    edited.objectifs[1].description = "Par la personne"
    edited.objectifs[0].titre = "Emménager dans un studio"
    edited.besoins.append(Besoin(id="b-new", code="1.1.1"))
    before = encode_state(server)
    write_content(server, edited)
    assert len(encode_state(server)) - len(before) < 200
    server.apply_update(encode_state(browser))
    browser.apply_update(encode_state(server))
    for doc in (server, browser):
        merged = doc_to_content(doc)
        assert merged.objectifs[1].titre == "Préparer l'entrée en appartement inclusif chaque mois"
        assert merged.objectifs[1].description == "Par la personne"
        assert merged.objectifs[0].titre == "Emménager dans un studio"
        assert [b.id for b in merged.besoins] == [
            "b-sante",
            "b-logement",
            "b-social",
            "b-mobilite",
            "b-budget",
            "b-new",
        ]


def test_write_content_reorders_and_deletes_by_id() -> None:
    content = valid_ppa()
    doc = content_to_doc(content)
    edited = content.model_copy(deep=True)
    edited.objectifs.reverse()
    edited.besoins.pop(0)
    edited.actions[0].planning = None
    write_content(doc, edited)
    assert doc_to_content(doc) == edited
    edited.actions[0].planning = Planning(jours=[Jour.LUNDI])
    write_content(doc, edited)
    assert doc_to_content(doc) == edited


def test_insert_and_delete_item() -> None:
    doc = content_to_doc(valid_ppa())
    insert_item(doc, "objectifs", Objectif(id="o-new", titre="Nouveau"), 0)
    insert_item(doc, "objectifs", Objectif(id="o-last"))
    assert [o.id for o in doc_to_content(doc).objectifs] == [
        "o-new",
        "o-sante",
        "o-logement",
        "o-social",
        "o-mobilite",
        "o-budget",
        "o-last",
    ]
    assert delete_item(doc, "objectifs", "o-sante")
    assert not delete_item(doc, "objectifs", "o-sante")
    assert [o.id for o in doc_to_content(doc).objectifs] == [
        "o-new",
        "o-logement",
        "o-social",
        "o-mobilite",
        "o-budget",
        "o-last",
    ]
    with pytest.raises(TypeError):
        insert_item(doc, "objectifs", Besoin())
    with pytest.raises(KeyError):
        delete_item(doc, "projet", "x")


# --------------------------------------------------------------------------- concurrency


def _sync(a: Doc[Any], b: Doc[Any]) -> None:
    a_state, b_state = a.get_state(), b.get_state()
    a_update, b_update = a.get_update(b_state), b.get_update(a_state)
    b.apply_update(a_update)
    a.apply_update(b_update)


def test_concurrent_text_edits_merge() -> None:
    alice = content_to_doc(valid_ppa())
    bob = doc_from_state(encode_state(alice))
    text_a = alice.get("objectifs", type=Array)[0]["titre"]
    text_b = bob.get("objectifs", type=Array)[0]["titre"]
    assert str(text_a) == str(text_b) == "Gérer son traitement du soir en autonomie"
    text_a.insert(0, "Alice: ")
    text_b.insert(len(text_b), " (Bob)")
    vie_a = alice.get("projet_de_vie", type=Text)
    vie_b = bob.get("projet_de_vie", type=Text)
    vie_a.insert(0, "Å")
    vie_b.insert(0, "ß")
    _sync(alice, bob)
    merged_a, merged_b = doc_to_content(alice), doc_to_content(bob)
    assert merged_a == merged_b
    assert merged_a.objectifs[0].titre == "Alice: Gérer son traitement du soir en autonomie (Bob)"
    assert sorted(merged_a.projet_de_vie[:2]) == ["Å", "ß"]
    assert merged_a.projet_de_vie[2:] == valid_ppa().projet_de_vie


def test_write_content_changes_only_the_changed_runs_so_a_concurrent_delete_survives() -> None:
    """A REST write changing both ends of a text leaves the middle in place: a colleague who
    deletes words there at the same moment keeps the deletion (a prefix/suffix diff would delete
    and re-insert the whole middle, undoing it)."""
    content = valid_ppa()
    server = content_to_doc(content)
    browser = doc_from_state(encode_state(server))
    titre = browser.get("objectifs", type=Array)[0]["titre"]
    assert str(titre) == "Gérer son traitement du soir en autonomie"
    start = len("Gérer son traitement ".encode())
    del titre[start : start + len(b"du soir ")]
    edited = content.model_copy(deep=True)
    edited.objectifs[0].titre = "Bien gérer son traitement du soir en autonomie totale"
    write_content(server, edited)
    assert doc_to_content(server).objectifs[0].titre == edited.objectifs[0].titre
    _sync(server, browser)
    for doc in (server, browser):
        assert doc_to_content(doc).objectifs[0].titre == (
            "Bien gérer son traitement en autonomie totale"
        )


def test_a_long_text_changed_at_both_ends_keeps_its_middle() -> None:
    """A long text (12,000 characters, frequent words) changed at both ends: only the two
    changed words travel, not the whole middle."""
    words = [f"mot{i % 700}" if i % 3 else "de" for i in range(2000)]
    first = " ".join(words)
    assert len(first) > 10_000
    second = " ".join(["Début", *words[1:-1], "fin"])
    doc = content_to_doc(PPAContent(projet_de_vie=first))
    before = doc.get_state()
    write_content(doc, PPAContent(projet_de_vie=second))
    assert str(doc.get("projet_de_vie", type=Text)) == second
    assert len(doc.get_update(before)) < 300


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="ab é€😀\n", max_size=40), st.text(alphabet="ab é€😀\n", max_size=40))
def test_property_a_text_written_over_another_reads_back(first: str, second: str) -> None:
    doc = content_to_doc(PPAContent(projet_de_vie=first))
    write_content(doc, PPAContent(projet_de_vie=second))
    assert str(doc.get("projet_de_vie", type=Text)) == second


def test_concurrent_item_inserts_keep_both() -> None:
    alice = content_to_doc(valid_ppa())
    bob = doc_from_state(encode_state(alice))
    insert_item(alice, "objectifs", Objectif(id="o-alice", titre="A"))
    insert_item(bob, "objectifs", Objectif(id="o-bob", titre="B"))
    delete_item(bob, "besoins", "b-logement")
    _sync(alice, bob)
    ids = [o.id for o in doc_to_content(alice).objectifs]
    assert set(ids[5:]) == {"o-alice", "o-bob"}
    assert doc_to_content(alice) == doc_to_content(bob)
    assert [b.id for b in doc_to_content(alice).besoins] == [
        "b-sante",
        "b-social",
        "b-mobilite",
        "b-budget",
    ]
