"""The one realistic PPA content: the demo's draft (server/demo) and the exports' sample.

:func:`demo_content` takes the referents' ids (the demo's professionals, or the sample's);
:func:`avenant_content` is the avenant rule applied to it (the demo's avenant in progress, the
sample's avenant 1).
"""

from __future__ import annotations

import copy
from datetime import date, timedelta

from editor.schema import (
    Action,
    Attente,
    Besoin,
    BesoinCommunication,
    Bilan,
    Frequence,
    Jour,
    Moyen,
    Objectif,
    OrigineAttente,
    Planning,
    PPAContent,
    PresenceReunion,
    Projet,
    StatutAction,
    StatutObjectif,
    TypeMoyen,
)

SAMPLE_START = date(2026, 12, 1)
"""First day of the sample's period (its review is 349 days later, its end 364 days later)."""


def demo_content(pro_ids: dict[str, str], start: date = SAMPLE_START) -> PPAContent:
    """A realistic PPA: 5 besoins, 5 objectives, 7 actions with schedules and prestations.

    Its dates are counted from ``start``, the first day of its period (default
    :data:`SAMPLE_START`, the exports' fixed sample; the demo and the server tests pass a day
    relative to today, so that its review date stays ahead of the day it is validated on).
    """
    b_sante = Besoin(
        code="1.1.10",
        description="Suivi du diabète de type 1 : injections et surveillance glycémique.",
        analyse="Autonomie partielle ; oublis fréquents du contrôle du soir.",
    )
    b_logement = Besoin(
        code="1.3.2.2",
        description="Accomplir seule les activités domestiques (repas, courses, entretien) "
        "pour vivre en appartement inclusif d'ici deux ans.",
        analyse="Compétences domestiques à consolider : préparation des repas, courses.",
    )
    b_social = Besoin(
        code="1.3.4.1",
        description="Isolement le week-end ; envie de rejoindre un club de théâtre.",
        analyse="Appréhension des lieux nouveaux ; besoin d'un accompagnement au départ.",
    )
    b_mobilite = Besoin(
        code="1.3.4.2",
        description="Se déplacer seule en tramway entre le foyer et le centre-ville.",
        analyse="Trajets connus réalisés seule ; difficultés lors des changements.",
    )
    b_budget = Besoin(
        code="1.3.5",
        description="Gérer ses ressources : budget mensuel et dépenses courantes.",
        analyse="Dépenses suivies par sa sœur ; souhaite gérer seule son budget courses.",
    )
    o_sante = Objectif(
        titre="Gérer son traitement du soir en autonomie",
        description="Réaliser seule le contrôle glycémique du soir et noter les résultats.",
        besoin_ids=[b_sante.id],
        domaine="Santé",
        date_debut=start,
        date_echeance=start + timedelta(days=211),
        resultat_attendu="Contrôle du soir réalisé seule 6 soirs sur 7.",
        strategie="Rappel sur téléphone, carnet illustré, point hebdomadaire avec l'infirmier.",
        referent_id=pro_ids["infirmier"],
        avis_usager="Je veux y arriver sans qu'on me le rappelle.",
        statut=StatutObjectif.ACTIF,
    )
    o_logement = Objectif(
        titre="Préparer l'entrée en appartement inclusif",
        description="Acquérir les gestes du quotidien nécessaires à la vie en appartement.",
        besoin_ids=[b_logement.id],
        domaine="Habitat",
        date_debut=start,
        date_echeance=start + timedelta(days=364),
        resultat_attendu="Préparer seule trois repas par semaine.",
        strategie="Mises en situation dans l'appartement d'entraînement du SAVS.",
        referent_id=pro_ids["ergotherapeute"],
        avis_usager="D'accord, j'ai hâte d'avoir ma cuisine.",
        statut=StatutObjectif.ACTIF,
    )
    o_social = Objectif(
        titre="Participer à une activité de loisirs chaque semaine",
        description="Rejoindre l'atelier théâtre de la MJC du quartier.",
        besoin_ids=[b_social.id],
        domaine="Vie sociale",
        date_debut=start + timedelta(days=35),
        date_echeance=start + timedelta(days=211),
        resultat_attendu="Présence régulière à l'atelier (au moins 3 séances sur 4).",
        strategie="Accompagnement aux premières séances puis retrait progressif.",
        referent_id=pro_ids["psychologue"],
        statut=StatutObjectif.EN_PREPARATION,
    )
    o_mobilite = Objectif(
        titre="Se déplacer seule en tramway avec une correspondance",
        description="Aller du foyer à la MJC avec un changement de ligne.",
        besoin_ids=[b_mobilite.id],
        domaine="Mobilité",
        date_debut=start,
        date_echeance=start + timedelta(days=120),
        resultat_attendu="Trajet aller-retour réalisé seule trois fois de suite.",
        referent_id=pro_ids["coordinatrice"],
        statut=StatutObjectif.ACTIF,
    )
    o_budget = Objectif(
        titre="Gérer son budget courses",
        description="Tenir un budget mensuel des courses et suivre ses dépenses.",
        besoin_ids=[b_budget.id],
        domaine="Ressources",
        date_debut=start + timedelta(days=34),
        date_echeance=start + timedelta(days=364),
        resultat_attendu="Budget courses du mois tenu seule trois mois de suite.",
        referent_id=pro_ids["coordinatrice"],
        statut=StatutObjectif.EN_PREPARATION,
    )
    actions = [
        Action(
            titre="Point santé hebdomadaire",
            description="Relecture du carnet de glycémie et ajustement des rappels.",
            objectif_ids=[o_sante.id],
            prestations=["2.1.1.2"],
            referent_id=pro_ids["infirmier"],
            date_debut=start,
            date_fin=start + timedelta(days=211),
            planning=Planning(
                frequence=Frequence.HEBDOMADAIRE,
                jours=[Jour.LUNDI],
                heure_debut="18:30",
                duree_minutes=30,
                lieu="Infirmerie du foyer",
            ),
            statut=StatutAction.ACTIF,
        ),
        Action(
            titre="Éducation thérapeutique : autosurveillance",
            description="Séances d'éducation thérapeutique avec support illustré.",
            objectif_ids=[o_sante.id],
            prestations=["2.1.1.2", "2.2.3"],
            referent_id=pro_ids["infirmier"],
            date_debut=start,
            date_fin=start + timedelta(days=89),
            planning=Planning(
                frequence=Frequence.HEBDOMADAIRE,
                intervalle=2,
                jours=[Jour.JEUDI],
                heure_debut="14:00",
                duree_minutes=60,
                lieu="Salle d'activité du foyer",
            ),
            statut=StatutAction.ESSAI,
            date_fin_essai=start + timedelta(days=61),
        ),
        Action(
            titre="Atelier cuisine en appartement d'entraînement",
            description="Préparation d'un repas complet, de la liste de courses à la vaisselle.",
            objectif_ids=[o_logement.id],
            prestations=["2.3.2.2"],
            referent_id=pro_ids["ergotherapeute"],
            intervenant_ids=[pro_ids["coordinatrice"]],
            date_debut=start + timedelta(days=1),
            date_fin=start + timedelta(days=364),
            planning=Planning(
                frequence=Frequence.HEBDOMADAIRE,
                jours=[Jour.MERCREDI],
                heure_debut="10:00",
                duree_minutes=150,
                lieu="Appartement d'entraînement, 12 rue des Lilas, Lyon",
            ),
            statut=StatutAction.ACTIF,
        ),
        Action(
            titre="Gestion du budget courses",
            description="Construire un budget mensuel et suivre les dépenses avec un tableau.",
            objectif_ids=[o_budget.id],
            prestations=["2.3.5.2"],
            # the referent writes the PPA (the social worker, a reader, takes part)
            referent_id=pro_ids["coordinatrice"],
            intervenant_ids=[pro_ids["assistante-sociale"]],
            date_debut=start + timedelta(days=34),
            date_fin=start + timedelta(days=364),
            planning=Planning(
                frequence=Frequence.MENSUELLE,
                jours=[Jour.VENDREDI],
                heure_debut="09:30",
                duree_minutes=60,
                lieu="Bureau du SAVS",
            ),
            statut=StatutAction.EN_PREPARATION,
        ),
        Action(
            titre="Accompagnement à l'atelier théâtre",
            description="Accompagnement aux quatre premières séances, puis retrait progressif.",
            objectif_ids=[o_social.id],
            prestations=["2.3.4.2"],
            referent_id=pro_ids["psychologue"],
            date_debut=start + timedelta(days=35),
            date_fin=start + timedelta(days=211),
            planning=Planning(
                frequence=Frequence.HEBDOMADAIRE,
                jours=[Jour.MARDI],
                heure_debut="18:00",
                duree_minutes=120,
                lieu="MJC du quartier",
            ),
            statut=StatutAction.EN_PREPARATION,
        ),
        Action(
            titre="Entretiens de soutien",
            description="Entretiens individuels pour travailler l'appréhension des lieux nouveaux.",
            objectif_ids=[o_social.id],
            prestations=["2.1.1.3"],
            referent_id=pro_ids["psychologue"],
            date_debut=start,
            date_fin=start + timedelta(days=211),
            planning=Planning(
                frequence=Frequence.HEBDOMADAIRE,
                intervalle=2,
                jours=[Jour.VENDREDI],
                heure_debut="15:00",
                duree_minutes=45,
                lieu="Bureau du SAVS",
            ),
            statut=StatutAction.ACTIF,
        ),
        Action(
            titre="Entraînement aux trajets en tramway",
            description="Trajets accompagnés puis suivis à distance (téléphone).",
            objectif_ids=[o_mobilite.id, o_social.id],
            prestations=["2.3.4.3", "3.2.4.3"],
            referent_id=pro_ids["coordinatrice"],
            intervenant_ids=[pro_ids["ergotherapeute"]],
            date_debut=start,
            date_fin=start + timedelta(days=120),
            planning=Planning(
                frequence=Frequence.HEBDOMADAIRE,
                jours=[Jour.MARDI, Jour.SAMEDI],
                heure_debut="16:30",
                duree_minutes=90,
                lieu="Arrêt Tilleuls, ligne T2",
            ),
            statut=StatutAction.ESSAI,
            date_fin_essai=start + timedelta(days=89),
        ),
    ]
    return PPAContent(
        projet=Projet(
            titre=f"Projet personnalisé d'accompagnement {start.year}-{start.year + 1}",
            date_debut=start,
            date_fin=start + timedelta(days=364),
            modalite_communication="Présenté oralement à la personne avec un support illustré, "
            "en présence de sa sœur.",
            referent_id=pro_ids["coordinatrice"],
            date_reunion=start - timedelta(days=11),
            presence_personne=PresenceReunion.PRESENTE,
            besoins_communication=[BesoinCommunication.FALC],
        ),
        projet_de_vie="Vivre dans mon appartement, près de ma sœur, avoir des amis et faire du "
        "théâtre.",
        attentes=[
            Attente(origine=OrigineAttente.PERSONNE, texte="Avoir mon appartement à moi."),
            Attente(origine=OrigineAttente.PERSONNE, texte="Faire du théâtre avec d'autres."),
            Attente(
                origine=OrigineAttente.ENTOURAGE,
                texte="Que sa santé reste stable pendant le passage en appartement.",
            ),
            Attente(
                origine=OrigineAttente.PROFESSIONNEL,
                texte="Consolider l'autonomie dans les déplacements avant l'emménagement.",
            ),
        ],
        besoins=[b_sante, b_logement, b_social, b_mobilite, b_budget],
        objectifs=[o_sante, o_logement, o_social, o_mobilite, o_budget],
        actions=actions,
        moyens=[
            Moyen(type=TypeMoyen.MATERIEL, description="Lecteur de glycémie connecté."),
            Moyen(type=TypeMoyen.HUMAIN, description="Ergothérapeute du SAVS, 2 h 30 par semaine."),
            Moyen(
                type=TypeMoyen.FINANCIER,
                description="Forfait soins du FAM (assurance maladie) ; hébergement au titre "
                "de l'aide sociale départementale.",
            ),
        ],
        bilan=Bilan(
            # the mid-term bilan is planned, not done: no evaluation date is recorded
            date_evaluation_prevue=start + timedelta(days=196),
            prochaine_revision=start + timedelta(days=349),
            notes_preparation="Bilan intermédiaire prévu en juin avec la personne et sa sœur.",
        ),
    )


def avenant_content(validated: PPAContent) -> PPAContent:
    """The avenant: the cooking workshop moves to Thursday afternoon, its description says
    why; objectives and besoins untouched (the avenant rule)."""
    content = copy.deepcopy(validated)
    for action in content.actions:
        if action.planning is not None and action.planning.jours == [Jour.MERCREDI]:
            action.planning.jours = [Jour.JEUDI]
            action.planning.heure_debut = "14:00"
            action.description += " Créneau déplacé au jeudi après-midi (planning du SAVS)."
            break
    return content
