"""A realistic, valid PPA content for the editor tests."""

from __future__ import annotations

from datetime import date

from editor.schema import (
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


def valid_content() -> PPAContent:
    logement = Besoin(
        id="b-logement",
        code="1.3.2.1",
        description="Vivre seul dans un appartement",
        analyse="Autonomie partielle pour les courses et le ménage.",
    )
    sante = Besoin(id="b-sante", code="1.1.10", description="Suivi de santé")
    objectif = Objectif(
        id="o-appart",
        titre="Emménager dans un appartement",
        description="Préparer l’installation",
        besoin_ids=[logement.id],
        domaine="Habitat",
        date_debut=date(2025, 1, 6),
        date_echeance=date(2025, 9, 30),
        resultat_attendu="Bail signé",
        strategie="Visites accompagnées",
        referent_id="m-educ",
        avis_usager="Je suis d'accord 😀",
        statut=StatutObjectif.ACTIF,
    )
    objectif_sante = Objectif(
        id="o-sante", titre="Suivre ses rendez-vous médicaux", besoin_ids=[sante.id]
    )
    action = Action(
        id="a-visites",
        titre="Visites d'appartements",
        objectif_ids=[objectif.id],
        prestations=["2.3.2.1", "3.1.1.1"],
        referent_id="m-educ",
        intervenant_ids=["m-educ", "m-as"],
        date_debut=date(2025, 1, 13),
        date_fin=date(2025, 6, 30),
        planning=Planning(
            frequence=Frequence.HEBDOMADAIRE,
            jours=[Jour.MARDI, Jour.JEUDI],
            heure_debut="14:00",
            duree_minutes=90,
            lieu="Agence",
        ),
        statut=StatutAction.ESSAI,
    )
    return PPAContent(
        projet=Projet(
            titre="PPA 2025",
            date_debut=date(2025, 1, 1),
            date_fin=date(2025, 12, 31),
            modalite_communication="Remis en main propre, version FALC",
        ),
        projet_de_vie="Vivre en ville, près de ma sœur.",
        attentes=[Attente(id="at-1", origine=OrigineAttente.PERSONNE, texte="Mon appartement")],
        besoins=[logement, sante],
        objectifs=[objectif, objectif_sante],
        actions=[action],
        moyens=[Moyen(id="mo-1", type=TypeMoyen.HUMAIN, description="Éducateur")],
        bilan=Bilan(
            date_evaluation=date(2025, 6, 1),
            prochaine_revision=date(2025, 12, 1),
            notes_preparation="Notes",
            redige_par="Sœur",
        ),
        accords=[Accord(id="ac-1", type=TypeAccord.STRUCTURE, mode=ModeAccord.SIGNE, par="m-dir")],
    )
