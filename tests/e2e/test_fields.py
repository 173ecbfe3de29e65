"""Every field of the content model can be set from the form, and reaches the REST JSON as set."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.conftest import Api
from tests.e2e.conftest import PageFactory, content_of, wait_saved

pytestmark = pytest.mark.browser


def region(page: Page, name: str) -> Locator:
    return page.get_by_role("region", name=name, exact=True)


def add_item(page: Page, section: str, button: str) -> tuple[str, Locator]:
    """Click a section's add button; returns the new item's id and its card."""
    cards = page.locator(f"#{section} article")
    count = cards.count()
    region_of = page.locator(f"#{section}")
    region_of.get_by_role("button", name=button).click()
    expect(cards).to_have_count(count + 1)
    item_id = cards.last.get_attribute("data-item-id")
    assert item_id
    return item_id, page.locator(f'[data-item-id="{item_id}"]')


def card(page: Page, item_id: str) -> Locator:
    return page.locator(f'[data-item-id="{item_id}"]')


def pick_code(page: Page, dialog_name: str, query: str, code: str) -> None:
    dialog = page.get_by_role("dialog", name=dialog_name)
    dialog.get_by_label("Rechercher un code ou des mots").fill(query)
    dialog.locator(f'.serafin-results [data-code="{code}"]').click()
    expect(dialog).to_be_hidden()


def set_number(field: Locator, value: str) -> None:
    """Type a number and leave the field (the value is written on change, as a person does)."""
    field.fill(value)
    field.press("Tab")


def test_every_field_round_trips(
    open_as: PageFactory,
    fresh_ppa: Callable[..., str],
    api_as: Callable[[str], Api],
    demo: dict[str, Any],
) -> None:
    ppa_id = fresh_ppa("PPA tous les champs")
    api = api_as("coordinatrice")
    before = content_of(api, ppa_id)
    cercle = api.get(f"/api/persons/{demo['person_id']}/cercle").json()
    pro = {
        m["display_name"]: m["professional_id"]
        for m in cercle
        if m["kind"] == "professional" and m["professional_id"]
    }
    expected = copy.deepcopy(before)
    page = open_as("coordinatrice", f"#/ppa/{ppa_id}")

    # -- projet, projet de vie
    projet = region(page, "Projet")
    projet.get_by_label("Titre du projet").fill("Projet 2027 : vivre chez soi")
    projet.get_by_label("Début de la période").fill("2027-01-04")
    projet.get_by_label("Fin de la période").fill("2027-12-17")
    projet.get_by_label("Modalité de communication à la personne").fill(
        "Expliqué avec des pictogrammes, en présence de sa sœur."
    )
    projet.get_by_label("Type de projet").select_option("PP")
    projet.get_by_label("Participation de la personne").select_option(
        label="Absente de la réunion de projet"
    )
    region(page, "Projet de vie").get_by_label("Projet de vie", exact=True).fill(
        "Vivre dans mon appartement et jouer au théâtre."
    )
    region(page, "Projet de vie").get_by_label("Si aucun projet de vie n'est écrit").fill(
        "Complété avec sa sœur."
    )
    expected["projet"].update(
        titre="Projet 2027 : vivre chez soi",
        type="PP",
        date_debut="2027-01-04",
        date_fin="2027-12-17",
        modalite_communication="Expliqué avec des pictogrammes, en présence de sa sœur.",
        motif_sans_projet_de_vie="Complété avec sa sœur.",
        presence_personne="absente",
    )
    expected["projet_de_vie"] = "Vivre dans mon appartement et jouer au théâtre."

    # -- an attente: who expressed it, and its text
    attente = card(page, before["attentes"][0]["id"])
    assert before["attentes"][0]["origine"] == "personne"
    attente.get_by_label("Exprimée par").select_option(label="L'entourage")
    attente.get_by_label("Attente", exact=True).fill("Un appartement proche de sa sœur.")
    expected["attentes"][0].update(origine="entourage", texte="Un appartement proche de sa sœur.")

    # -- a besoin: its code changed through the picker, description, analyse
    besoin = card(page, before["besoins"][1]["id"])
    assert before["besoins"][1]["code"] == "1.3.2.2"
    besoin.get_by_role("button", name="Changer le code SERAFIN-PH").click()
    pick_code(page, "Choisir le besoin SERAFIN-PH", "1.3.2", "1.3.2.1")
    expect(besoin.locator(".code-value")).to_contain_text("1.3.2.1")
    besoin.get_by_label("Description du besoin").fill("Faire ses courses et son ménage.")
    besoin.get_by_label("Analyse professionnelle").fill("Liste de courses illustrée utile.")
    besoin.get_by_label("Si aucun objectif ne répond à ce besoin").fill("Voir avec le SAVS.")
    expected["besoins"][1].update(
        code="1.3.2.1",
        description="Faire ses courses et son ménage.",
        analyse="Liste de courses illustrée utile.",
        motif_sans_objectif="Voir avec le SAVS.",
    )

    # -- a new objectif, every field
    objectif_id, objectif = add_item(page, "objectifs", "Ajouter un objectif")
    objectif.get_by_label("Titre", exact=True).fill("Faire ses courses seule")
    objectif.get_by_label("Description", exact=True).fill("Au supermarché du quartier.")
    objectif.get_by_label("Besoin auquel répond l'objectif (un seul)").select_option(
        before["besoins"][1]["id"]
    )
    objectif.get_by_label("Domaine").fill("Vie quotidienne")
    objectif.get_by_label("Date de début").fill("2027-02-01")
    objectif.get_by_label("Échéance").fill("2027-09-30")
    objectif.get_by_label("Résultat attendu").fill("Courses de la semaine faites seule.")
    objectif.get_by_label("Stratégie").fill("Accompagnée trois fois, puis seule.")
    objectif.get_by_label("Référent").select_option(label="Julien Moreau")
    objectif.get_by_label("Statut").select_option(label="Actif")
    objectif.get_by_label("Avis de la personne").fill("J'aime choisir mes produits.")
    # rules 2, 5, 7 (docs/domain-rules.md)
    objectif.get_by_label("Indicateur").fill("Ticket de caisse gardé.")
    objectif.get_by_label("Priorité").select_option(label="Haute")
    objectif.get_by_label("La personne est-elle d'accord avec cet objectif ?").select_option(
        label="D'accord"
    )
    expected["objectifs"].append(
        {
            "id": objectif_id,
            "titre": "Faire ses courses seule",
            "description": "Au supermarché du quartier.",
            "besoin_ids": [before["besoins"][1]["id"]],
            "domaine": "Vie quotidienne",
            "date_debut": "2027-02-01",
            "date_echeance": "2027-09-30",
            "resultat_attendu": "Courses de la semaine faites seule.",
            "strategie": "Accompagnée trois fois, puis seule.",
            "referent_id": pro["Julien Moreau"],
            "avis_usager": "J'aime choisir mes produits.",
            "statut": "actif",
            "indicateur": "Ticket de caisse gardé.",
            "priorite": "haute",
            "accord_usager": "accord",
            "bilan_resultat": "non_evalue",
            "bilan_date": None,
            "bilan_evalue_par": None,
            "bilan_commentaire": "",
        }
    )

    # -- a new action, every field, with a planning
    action_id, action = add_item(page, "actions", "Ajouter une action")
    action.get_by_label("Titre", exact=True).fill("Courses accompagnées")
    action.get_by_label("Description", exact=True).fill("Le mardi, avec l'ergothérapeute.")
    served = action.get_by_role("group", name="Objectifs servis")
    served.get_by_role(
        "checkbox", name=re.compile(re.escape(before["objectifs"][1]["titre"]))
    ).check()
    served.get_by_role("checkbox", name=re.compile("Faire ses courses seule")).check()
    action.get_by_role("button", name="Ajouter une prestation").click()
    pick_code(page, "Ajouter une prestation SERAFIN-PH", "2.3.2", "2.3.2.2")
    expect(action.locator(".chip")).to_contain_text(["2.3.2.2"])
    action.get_by_label("Référent").select_option(label="Julien Moreau")
    action.get_by_label("Statut").select_option(label="À l'essai")
    intervenants = action.get_by_role("group", name="Intervenants")
    intervenants.get_by_role("checkbox", name="Julien Moreau").check()
    intervenants.get_by_role("checkbox", name="Karim Benali").check()
    action.get_by_label("Début", exact=True).fill("2027-02-02")
    action.get_by_label("Fin", exact=True).fill("2027-09-28")
    action.get_by_role("button", name="Ajouter un planning").click()
    planning = action.get_by_role("group", name="Planning (rythme, jours, heure, durée, lieu)")
    planning.get_by_label("Fréquence").select_option(label="Mensuelle")
    set_number(planning.get_by_label("Intervalle"), "2")
    jours = planning.get_by_role("group", name="Jours")
    jours.get_by_role("checkbox", name="Lundi").check()
    jours.get_by_role("checkbox", name="Jeudi").check()
    planning.get_by_label("Heure de début").fill("09:30")
    set_number(planning.get_by_label("Durée (minutes)"), "45")
    planning.get_by_label("Lieu").fill("Supermarché du quartier")
    action.get_by_label("Résultat attendu").fill("Liste de courses suivie.")
    action.get_by_label("Avis de la personne").fill("D'accord pour essayer.")
    action.get_by_label("Individuelle ou collective").select_option(label="Collective")
    action.get_by_label("Partenaires extérieurs").fill("Épicerie solidaire")
    action.get_by_label("Fin de l'essai", exact=True).fill("2027-04-30")
    expected["actions"].append(
        {
            "id": action_id,
            "titre": "Courses accompagnées",
            "description": "Le mardi, avec l'ergothérapeute.",
            "objectif_ids": [before["objectifs"][1]["id"], objectif_id],
            "prestations": ["2.3.2.2"],
            "referent_id": pro["Julien Moreau"],
            "intervenant_ids": [pro["Julien Moreau"], pro["Karim Benali"]],
            "date_debut": "2027-02-02",
            "date_fin": "2027-09-28",
            "planning": {
                "frequence": "mensuelle",
                "intervalle": 2,
                "jours": ["MO", "TH"],
                "heure_debut": "09:30",
                "duree_minutes": 45,
                "lieu": "Supermarché du quartier",
            },
            "statut": "essai",
            "resultat_attendu": "Liste de courses suivie.",
            "avis_usager": "D'accord pour essayer.",
            "structure_responsable": "",
            "partenaires": "Épicerie solidaire",
            "modalite_groupe": "collective",
            "modalite_lieu": "non_precisee",
            "date_fin_essai": "2027-04-30",
            "decision_essai": "en_attente",
        }
    )

    # -- a new moyen
    moyen_id, moyen = add_item(page, "moyens", "Ajouter un moyen")
    moyen.get_by_label("Type").select_option(label="Humain")
    moyen.get_by_label("Description").fill("Ergothérapeute, une heure par semaine.")
    moyen.get_by_label("Financement").fill("Budget du SAVS")
    expected["moyens"].append(
        {
            "id": moyen_id,
            "type": "humain",
            "description": "Ergothérapeute, une heure par semaine.",
            "action_ids": [],
            "date_debut": None,
            "date_fin": None,
            "financement": "Budget du SAVS",
        }
    )

    # -- bilan
    bilan = region(page, "Bilan")
    bilan.get_by_label("Bilan prévu le").fill("2027-06-21")
    bilan.get_by_label("Prochaine révision").fill("2027-12-06")
    bilan.get_by_label("Notes de préparation").fill("Préparé avec sa sœur.")
    bilan.get_by_label("Synthèse du bilan").fill("À faire après le bilan.")
    bilan.get_by_label("Rédigé par").fill("Emma Martin")
    bilan.get_by_label("Rédigé par").press("Tab")
    expected["bilan"].update(
        date_evaluation_prevue="2027-06-21",
        prochaine_revision="2027-12-06",
        notes_preparation="Préparé avec sa sœur.",
        synthese="À faire après le bilan.",
        redige_par="Emma Martin",
    )

    wait_saved(page)
    after = content_of(api, ppa_id)
    for key in expected:
        assert after[key] == expected[key], key
    assert after == expected


def test_a_paste_loses_its_invisible_characters_not_the_connection(
    open_as: PageFactory, fresh_ppa: Callable[..., str], api_as: Callable[[str], Api]
) -> None:
    """Text pasted from another program can hold control characters and noncharacters the server
    refuses (editor/text_rules.py): the editor drops them, writes the rest and editing goes on.
    """
    ppa_id = fresh_ppa("PPA collage")
    page = open_as("coordinatrice", f"#/ppa/{ppa_id}")
    field = page.locator('[data-field="projet_de_vie"]').locator("textarea, input").first
    field.fill("")
    field.click()
    page.keyboard.insert_text("Vivre\x07 en\x00 appartement\ufffe\U0001fffe")
    wait_saved(page)
    expect(field).to_have_value("Vivre en appartement")
    page.keyboard.type(" seule")
    wait_saved(page)
    api = api_as("coordinatrice")
    assert content_of(api, ppa_id)["projet_de_vie"] == "Vivre en appartement seule"
    expect(page.locator(".notice, [role=alert]").filter(has_text="interdit")).to_have_count(0)
