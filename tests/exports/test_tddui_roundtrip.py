"""Lossless round trip of the TDDUI bundle: export then import of any valid PPA gives the same
content (property test over generated PPAs), and the import's refusals and merges."""

from __future__ import annotations

import copy
from datetime import date
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from editor.merge_patch import apply_patch
from editor.schema import (
    Accord,
    AccordObjectif,
    Action,
    Attente,
    Besoin,
    BesoinCommunication,
    Bilan,
    DecisionEssai,
    Frequence,
    Jour,
    ModaliteGroupe,
    ModaliteLieu,
    ModeAccord,
    Moyen,
    Objectif,
    OrigineAttente,
    Planning,
    PPAContent,
    PresenceReunion,
    Priorite,
    Projet,
    ResultatObjectif,
    StatutAction,
    StatutObjectif,
    TypeAccord,
    TypeMoyen,
)
from exports.context import ExportInput
from exports.fhir import render_fhir_bundle
from exports.sample import (
    _BESOIN_CODES,
    _PRESTATION_CODES,
    GENERATED_AT,
    PERSON,
    PROFESSIONALS,
    STRUCTURE,
    _meta,
    sample_input,
)
from exports.tddui_checks import check_bundle
from exports.tddui_import import ImportRefused, read_bundle

TEXT = st.text(
    alphabet=st.characters(
        codec="utf-8", categories=("L", "N", "P", "S", "Zs"), exclude_characters="\ufffe\uffff"
    )
    | st.just("\n"),
    max_size=12,
)
DAY = st.none() | st.dates(min_value=date(2020, 1, 1), max_value=date(2035, 12, 31))
MEMBER = st.none() | st.sampled_from([*PROFESSIONALS, "m-aidant", "m-autre"])
MEMBERS = st.lists(st.sampled_from([*PROFESSIONALS, "m-aidant"]), max_size=3, unique=True)


def _ids(prefix: str, n: int) -> list[str]:
    return [f"{prefix}{i}-{'x' * (i % 3)}" for i in range(n)]


@st.composite
def ppas(draw: st.DrawFn) -> PPAContent:
    """A valid PPA: coded besoins, each objective one besoin, each action one objective or more,
    the structure's agreement, every other field anything the model allows."""
    n_bes = draw(st.integers(1, 3))
    besoins = [
        Besoin(
            id=i,
            code=draw(st.sampled_from(_BESOIN_CODES)),
            description=draw(TEXT),
            analyse=draw(TEXT),
            motif_sans_objectif=draw(TEXT),
        )
        for i in _ids("b", n_bes)
    ]
    objectifs = [
        Objectif(
            id=i,
            titre=draw(TEXT),
            description=draw(TEXT),
            besoin_ids=[draw(st.sampled_from([b.id for b in besoins]))],
            domaine=draw(TEXT),
            date_debut=draw(DAY),
            date_echeance=draw(DAY),
            resultat_attendu=draw(TEXT),
            strategie=draw(TEXT),
            referent_id=draw(MEMBER),
            avis_usager=draw(TEXT),
            statut=draw(st.sampled_from(StatutObjectif)),
            indicateur=draw(TEXT),
            priorite=draw(st.sampled_from(Priorite)),
            accord_usager=draw(st.sampled_from(AccordObjectif)),
            bilan_resultat=draw(st.sampled_from(ResultatObjectif)),
            bilan_date=draw(DAY),
            bilan_evalue_par=draw(MEMBER),
            bilan_commentaire=draw(TEXT),
        )
        for i in _ids("o", draw(st.integers(0, 3)))
    ]
    planning = st.none() | st.builds(
        Planning,
        frequence=st.sampled_from(Frequence),
        intervalle=st.integers(1, 52),
        jours=st.lists(st.sampled_from(Jour), max_size=3, unique=True),
        heure_debut=st.none() | st.sampled_from(["08:00", "14:30"]),
        duree_minutes=st.none() | st.integers(1, 600),
        lieu=TEXT,
    )
    actions = [
        Action(
            id=i,
            titre=draw(TEXT),
            description=draw(TEXT),
            objectif_ids=draw(
                st.lists(st.sampled_from([o.id for o in objectifs]), min_size=1, unique=True)
            ),
            prestations=draw(st.lists(st.sampled_from(_PRESTATION_CODES), unique=True, max_size=3)),
            referent_id=draw(MEMBER),
            intervenant_ids=draw(MEMBERS),
            date_debut=draw(DAY),
            date_fin=draw(DAY),
            planning=draw(planning),
            statut=draw(st.sampled_from(StatutAction)),
            resultat_attendu=draw(TEXT),
            avis_usager=draw(TEXT),
            structure_responsable=draw(TEXT),
            partenaires=draw(TEXT),
            modalite_groupe=draw(st.sampled_from(ModaliteGroupe)),
            modalite_lieu=draw(st.sampled_from(ModaliteLieu)),
            date_fin_essai=draw(DAY),
            decision_essai=draw(st.sampled_from(DecisionEssai)),
        )
        for i in (_ids("a", draw(st.integers(0, 3))) if objectifs else [])
    ]
    return PPAContent(
        projet=Projet(
            titre=draw(TEXT),
            type=draw(st.sampled_from(["PPA", "PAI", "PP"])),
            date_debut=draw(DAY),
            date_fin=draw(DAY),
            modalite_communication=draw(TEXT),
            motif_sans_projet_de_vie=draw(TEXT),
            referent_id=draw(MEMBER),
            date_reunion=draw(DAY),
            participants_reunion=draw(MEMBERS),
            participants_reunion_autres=draw(TEXT),
            presence_personne=draw(st.sampled_from(PresenceReunion)),
            besoins_communication=draw(
                st.lists(st.sampled_from(BesoinCommunication), unique=True, max_size=3)
            ),
            personne_confiance_id=draw(MEMBER),
            personne_confiance=draw(TEXT),
        ),
        projet_de_vie=draw(TEXT),
        attentes=[
            Attente(id=i, origine=draw(st.sampled_from(OrigineAttente)), texte=draw(TEXT))
            for i in _ids("t", draw(st.integers(0, 3)))
        ],
        besoins=besoins,
        objectifs=objectifs,
        actions=actions,
        moyens=[
            Moyen(
                id=i,
                type=draw(st.sampled_from(TypeMoyen)),
                description=draw(TEXT),
                action_ids=[a.id for a in actions[:1]],
                date_debut=draw(DAY),
                date_fin=draw(DAY),
                financement=draw(TEXT),
            )
            for i in _ids("m", draw(st.integers(0, 2)))
        ],
        bilan=Bilan(
            date_evaluation=draw(DAY),
            prochaine_revision=draw(DAY),
            notes_preparation=draw(TEXT),
            redige_par=draw(st.sampled_from(["", *PROFESSIONALS, "Léa et sa sœur"])),
            date_evaluation_prevue=draw(DAY),
            synthese=draw(TEXT),
            perimetre=draw(TEXT),
            invites_ids=draw(MEMBERS),
            invites_autres=draw(TEXT),
        ),
        accords=[
            Accord(
                id=i,
                type=TypeAccord.STRUCTURE if i == "c0-" else draw(st.sampled_from(TypeAccord)),
                mode=draw(st.sampled_from(ModeAccord)),
                par=draw(st.sampled_from([*PROFESSIONALS, "Léa MARTIN"])),
                membre_id=draw(MEMBER),
                temoin=draw(TEXT),
                date=draw(DAY),
                motif=draw(TEXT),
            )
            for i in _ids("c", draw(st.integers(1, 3)))
        ],
    )


def _input(content: PPAContent) -> ExportInput:
    return ExportInput(
        content=content,
        version=_meta(),
        person=PERSON,
        structure=STRUCTURE,
        professionals=PROFESSIONALS,
        author_id="pro-ide",
        legal_authenticator_id="pro-coord",
        generated_at=GENERATED_AT,
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ppas())
def test_export_then_import_gives_the_same_content(content: PPAContent) -> None:
    inp = _input(content)  # the export's input scrubs nothing from these texts
    bundle = render_fhir_bundle(inp)
    assert check_bundle(bundle, inp.content) == []
    imported = read_bundle(bundle)
    assert imported.content().model_dump(mode="json") == inp.content.model_dump(mode="json")
    # merged into the same content: nothing to change
    assert imported.patch_for(inp.content.model_dump(mode="json")) == {}
    # imported then exported again: the bundle passes the TDDUI and FR Core checks
    again = render_fhir_bundle(_input(imported.content()))
    assert check_bundle(again, imported.content()) == []


def test_the_ins_and_the_careplan_identifier_are_read() -> None:
    imported = read_bundle(render_fhir_bundle(sample_input()))
    assert (imported.ins_system, imported.ins_value) == (
        "urn:oid:1.2.250.1.213.1.4.10",
        PERSON.ins,
    )
    assert imported.careplan_identifier == f"3{STRUCTURE.finess}/{PERSON.local_id}-PPER-1"


def _goal(bundle: dict[str, Any], item: str) -> dict[str, Any]:
    return next(
        e["resource"]
        for e in bundle["entry"]
        if e["resource"].get("identifier", [{}])[0].get("value", "").endswith(f"-OBJE-{item}")
    )


def test_a_dui_change_wins_over_the_residual_and_only_it_is_patched() -> None:
    inp = sample_input()
    current = inp.content.model_dump(mode="json")
    bundle = copy.deepcopy(render_fhir_bundle(inp))
    first = inp.content.objectifs[0]
    goal = _goal(bundle, first.id)
    goal["target"][0]["dueDate"] = "2031-05-01"
    goal["description"]["text"] = "Décrit par le DUI"
    for res in (e["resource"] for e in bundle["entry"]):  # a foreign DUI: no residual at all
        res["extension"] = [x for x in res.get("extension", []) if x["url"].startswith("http")]
    imported = read_bundle(bundle)
    patch = imported.patch_for(current)
    assert patch["objectifs"][first.id] == {
        "date_echeance": "2031-05-01",
        "description": "Décrit par le DUI",
    }
    # what TDDUI does not express (referents, planning...) is kept by the merge
    after = apply_patch(current, patch)
    assert after["objectifs"][0]["referent_id"] == first.referent_id
    assert after["actions"] == current["actions"] or all(
        a["planning"] == b["planning"]
        for a, b in zip(after["actions"], current["actions"], strict=True)
    )


def test_a_malformed_bundle_is_refused_with_every_problem() -> None:
    bundle = copy.deepcopy(render_fhir_bundle(sample_input()))
    bundle["type"] = "collection"
    goal = _goal(bundle, sample_input().content.objectifs[0].id)
    goal["lifecycleStatus"] = "unknown"
    del goal["description"]
    with pytest.raises(ImportRefused) as caught:
        read_bundle(bundle)
    paths = [p for p, _ in caught.value.problems]
    assert "Bundle.type" in paths
    assert any(p.endswith("Goal.lifecycleStatus") for p in paths)
    assert any(p.endswith("Goal.description") for p in paths)
    assert all(m for _, m in caught.value.problems)


@pytest.mark.parametrize(
    "body", [[], {"resourceType": "Patient"}, {"resourceType": "Bundle", "entry": [1]}]
)
def test_what_is_not_a_bundle_is_refused_not_crashed(body: Any) -> None:
    with pytest.raises(ImportRefused) as caught:
        read_bundle(body)
    assert caught.value.problems


def _foreign(inp: ExportInput) -> dict[str, Any]:
    """``inp`` exported, then stripped of our residual (a DUI that keeps TDDUI elements only)."""
    bundle = copy.deepcopy(render_fhir_bundle(inp))
    for res in (e["resource"] for e in bundle["entry"]):
        res["extension"] = [x for x in res.get("extension", []) if x["url"].startswith("http")]
    return bundle


def test_a_foreign_agreement_sent_again_is_matched_not_added() -> None:
    first = sample_input()
    again = first.model_copy(update={"version": _meta(content_hash="7" * 64, number=4)})
    one, two = read_bundle(_foreign(first)), read_bundle(_foreign(again))
    assert _foreign(first)["entry"][0]["fullUrl"] != _foreign(again)["entry"][0]["fullUrl"]
    assert one.items["accords"].keys() == two.items["accords"].keys()
    assert len(one.items["accords"]) == len(first.content.accords)
    assert two.patch_for(one.content().model_dump(mode="json")) == {}


def test_the_agreements_recorded_at_validation_are_not_imported_as_content(
    validated: ExportInput,
) -> None:
    """A validated version's export carries the agreements recorded at its validation (not in
    the content): imported back (a DUI re-sending it, or starting a new PPA from it), they stay
    records of that version and do not become agreements of the draft."""
    content = validated.content.model_copy(update={"accords": []})
    recorded = tuple(
        a.model_copy(update={"id": f"accord-3-{i}"}) for i, a in enumerate(validated.accords)
    )
    assert recorded
    inp = validated.model_copy(update={"content": content, "accords": recorded})
    bundle = render_fhir_bundle(inp)
    assert sum(e["resource"]["resourceType"] == "Consent" for e in bundle["entry"]) == len(recorded)
    assert check_bundle(bundle) == []
    assert read_bundle(bundle).content() == content
