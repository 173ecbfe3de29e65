"""The one place a test gets a valid PPA content: ``valid_ppa()``, or ``small_ppa()`` when minimal.

The content is the tests' own (the demo's draft PPA with stable ids), so the product's demo can
change without moving test expectations.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import date

from editor.schema import (
    Accord,
    Action,
    Attente,
    Besoin,
    Bilan,
    Frequence,
    Jour,
    Moyen,
    Objectif,
    OrigineAttente,
    Planning,
    PPAContent,
    Projet,
    StatutAction,
    StatutObjectif,
    TypeMoyen,
)

ROLES = ("coordinatrice", "infirmier", "psychologue", "ergotherapeute", "assistante-sociale")
"""The professions the PPA's referents and intervenants are drawn from."""

MEMBERS: Mapping[str, str] = {
    "coordinatrice": "pro-coordinatrice",
    "infirmier": "pro-infirmier",
    "psychologue": "pro-psychologue",
    "ergotherapeute": "pro-ergotherapeute",
    "assistante-sociale": "pro-as",
}
"""Default member id per role (server tests pass the cercle's real ids instead)."""


def valid_ppa(*, members: Mapping[str, str] | None = None, fresh_ids: bool = False) -> PPAContent:
    """A complete valid draft PPA (no accords yet): 4 besoins, 4 objectifs, 7 actions.

    Ids are stable (``b-sante``, ``o-logement``, ``a-cuisine``...); ``members`` maps each role of
    ``ROLES`` to a cercle member id (default ``MEMBERS``). ``fresh_ids`` suffixes every item id
    with a random tag, as two real PPAs never share item ids (server tests holding several PPAs).
    """
    content = _valid_ppa(dict(MEMBERS if members is None else members))
    return _with_fresh_ids(content) if fresh_ids else content


def _with_fresh_ids(content: PPAContent) -> PPAContent:
    """``content`` with a random tag after every item id, links followed."""
    tag = uuid.uuid4().hex[:12]
    items: list[Attente | Besoin | Objectif | Action | Moyen | Accord] = [
        *content.attentes,
        *content.besoins,
        *content.objectifs,
        *content.actions,
        *content.moyens,
        *content.accords,
    ]
    for item in items:
        item.id = f"{item.id}-{tag}"
    for objectif in content.objectifs:
        objectif.besoin_ids = [f"{i}-{tag}" for i in objectif.besoin_ids]
    for action in content.actions:
        action.objectif_ids = [f"{i}-{tag}" for i in action.objectif_ids]
    return content


def _valid_ppa(pro: dict[str, str]) -> PPAContent:
    b_sante = Besoin(
        id="b-sante",
        code="1.1.10",
        description="Suivi du diabète de type 1 : injections et surveillance glycémique.",
        analyse="Autonomie partielle ; oublis fréquents du contrôle du soir.",
    )
    b_logement = Besoin(
        id="b-logement",
        code="1.3.2.1",
        description="Souhaite vivre en appartement inclusif d'ici deux ans.",
        analyse="Compétences domestiques à consolider (courses, budget, entretien).",
    )
    b_social = Besoin(
        id="b-social",
        code="1.3.4.1",
        description="Isolement le week-end ; envie de rejoindre un club de théâtre.",
        analyse="Appréhension des lieux nouveaux ; besoin d'un accompagnement au départ.",
    )
    b_mobilite = Besoin(
        id="b-mobilite",
        code="1.3.4.2",
        description="Se déplacer seule en tramway entre le foyer et le centre-ville.",
        analyse="Trajets connus réalisés seule ; difficultés lors des changements.",
    )
    o_sante = Objectif(
        id="o-sante",
        titre="Gérer son traitement du soir en autonomie",
        description="Réaliser seule le contrôle glycémique du soir et noter les résultats.",
        besoin_ids=[b_sante.id],
        domaine="Santé",
        date_debut=date(2026, 12, 1),
        date_echeance=date(2027, 6, 30),
        resultat_attendu="Contrôle du soir réalisé seule 6 soirs sur 7.",
        strategie="Rappel sur téléphone, carnet illustré, point hebdomadaire avec l'infirmier.",
        referent_id=pro["infirmier"],
        avis_usager="Je veux y arriver sans qu'on me le rappelle.",
        statut=StatutObjectif.ACTIF,
    )
    o_logement = Objectif(
        id="o-logement",
        titre="Préparer l'entrée en appartement inclusif",
        description="Acquérir les gestes du quotidien nécessaires à la vie en appartement.",
        besoin_ids=[b_logement.id],
        domaine="Habitat",
        date_debut=date(2026, 12, 1),
        date_echeance=date(2027, 11, 30),
        resultat_attendu="Préparer seule trois repas par semaine et gérer un budget courses.",
        strategie="Mises en situation dans l'appartement d'entraînement du SAVS.",
        referent_id=pro["ergotherapeute"],
        avis_usager="D'accord, j'ai hâte d'avoir ma cuisine.",
        statut=StatutObjectif.ACTIF,
    )
    o_social = Objectif(
        id="o-social",
        titre="Participer à une activité de loisirs chaque semaine",
        description="Rejoindre l'atelier théâtre de la MJC du quartier.",
        besoin_ids=[b_social.id],
        domaine="Vie sociale",
        date_debut=date(2027, 1, 5),
        date_echeance=date(2027, 6, 30),
        resultat_attendu="Présence régulière à l'atelier (au moins 3 séances sur 4).",
        strategie="Accompagnement aux premières séances puis retrait progressif.",
        referent_id=pro["psychologue"],
        statut=StatutObjectif.EN_PREPARATION,
    )
    o_mobilite = Objectif(
        id="o-mobilite",
        titre="Se déplacer seule en tramway avec une correspondance",
        description="Aller du foyer à la MJC avec un changement de ligne.",
        besoin_ids=[b_mobilite.id],
        domaine="Mobilité",
        date_debut=date(2026, 12, 1),
        date_echeance=date(2027, 3, 31),
        resultat_attendu="Trajet aller-retour réalisé seule trois fois de suite.",
        referent_id=pro["coordinatrice"],
        statut=StatutObjectif.ACTIF,
    )
    actions = [
        Action(
            id="a-sante",
            titre="Point santé hebdomadaire",
            description="Relecture du carnet de glycémie et ajustement des rappels.",
            objectif_ids=[o_sante.id],
            prestations=["2.1.1.2"],
            referent_id=pro["infirmier"],
            date_debut=date(2026, 12, 1),
            date_fin=date(2027, 6, 30),
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
            id="a-education",
            titre="Éducation thérapeutique : autosurveillance",
            description="Séances d'éducation thérapeutique avec support illustré.",
            objectif_ids=[o_sante.id],
            prestations=["2.1.1.1", "2.2.3"],
            referent_id=pro["infirmier"],
            date_debut=date(2026, 12, 1),
            date_fin=date(2027, 2, 28),
            planning=Planning(
                frequence=Frequence.HEBDOMADAIRE,
                intervalle=2,
                jours=[Jour.JEUDI],
                heure_debut="14:00",
                duree_minutes=60,
                lieu="Salle d'activité du foyer",
            ),
            statut=StatutAction.ESSAI,
        ),
        Action(
            id="a-cuisine",
            titre="Atelier cuisine en appartement d'entraînement",
            description="Préparation d'un repas complet, de la liste de courses à la vaisselle.",
            objectif_ids=[o_logement.id],
            prestations=["2.3.2.2"],
            referent_id=pro["ergotherapeute"],
            intervenant_ids=[pro["coordinatrice"]],
            date_debut=date(2026, 12, 2),
            date_fin=date(2027, 11, 30),
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
            id="a-budget",
            titre="Gestion du budget courses",
            description="Construire un budget mensuel et suivre les dépenses avec un tableau.",
            objectif_ids=[o_logement.id],
            prestations=["2.3.5.2"],
            referent_id=pro["assistante-sociale"],
            date_debut=date(2027, 1, 4),
            date_fin=date(2027, 11, 30),
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
            id="a-theatre",
            titre="Accompagnement à l'atelier théâtre",
            description="Accompagnement aux quatre premières séances, puis retrait progressif.",
            objectif_ids=[o_social.id],
            prestations=["2.3.4.2"],
            referent_id=pro["psychologue"],
            date_debut=date(2027, 1, 5),
            date_fin=date(2027, 6, 30),
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
            id="a-soutien",
            titre="Entretiens de soutien",
            description="Entretiens individuels pour travailler l'appréhension des lieux nouveaux.",
            objectif_ids=[o_social.id],
            prestations=["2.1.1.3"],
            referent_id=pro["psychologue"],
            date_debut=date(2026, 12, 1),
            date_fin=date(2027, 6, 30),
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
            id="a-tramway",
            titre="Entraînement aux trajets en tramway",
            description="Trajets accompagnés puis suivis à distance (téléphone).",
            objectif_ids=[o_mobilite.id, o_social.id],
            prestations=["2.3.4.3", "3.2.4.3"],
            referent_id=pro["coordinatrice"],
            intervenant_ids=[pro["ergotherapeute"]],
            date_debut=date(2026, 12, 1),
            date_fin=date(2027, 3, 31),
            planning=Planning(
                frequence=Frequence.HEBDOMADAIRE,
                jours=[Jour.MARDI, Jour.SAMEDI],
                heure_debut="16:30",
                duree_minutes=90,
                lieu="Arrêt Tilleuls, ligne T2",
            ),
            statut=StatutAction.ESSAI,
        ),
    ]
    return PPAContent(
        projet=Projet(
            titre="Projet personnalisé d'accompagnement 2026-2027",
            date_debut=date(2026, 12, 1),
            date_fin=date(2027, 11, 30),
            modalite_communication="Présenté oralement à la personne avec un support illustré, "
            "en présence de sa sœur.",
        ),
        projet_de_vie="Vivre dans mon appartement, près de ma sœur, avoir des amis et faire du "
        "théâtre.",
        attentes=[
            Attente(
                id="at-1", origine=OrigineAttente.PERSONNE, texte="Avoir mon appartement à moi."
            ),
            Attente(
                id="at-2", origine=OrigineAttente.PERSONNE, texte="Faire du théâtre avec d'autres."
            ),
            Attente(
                id="at-3",
                origine=OrigineAttente.ENTOURAGE,
                texte="Que sa santé reste stable pendant le passage en appartement.",
            ),
            Attente(
                id="at-4",
                origine=OrigineAttente.PROFESSIONNEL,
                texte="Consolider l'autonomie dans les déplacements avant l'emménagement.",
            ),
        ],
        besoins=[b_sante, b_logement, b_social, b_mobilite],
        objectifs=[o_sante, o_logement, o_social, o_mobilite],
        actions=actions,
        moyens=[
            Moyen(id="mo-1", type=TypeMoyen.MATERIEL, description="Lecteur de glycémie connecté."),
            Moyen(
                id="mo-2",
                type=TypeMoyen.HUMAIN,
                description="Ergothérapeute du SAVS, 2 h 30 par semaine.",
            ),
            Moyen(
                id="mo-3",
                type=TypeMoyen.FINANCIER,
                description="PCH aide humaine (notification MDPH).",
            ),
        ],
        bilan=Bilan(
            date_evaluation=date(2027, 6, 15),
            prochaine_revision=date(2027, 11, 15),
            notes_preparation="Bilan intermédiaire avec la personne et sa sœur en juin.",
        ),
    )


def small_ppa() -> PPAContent:
    """The deliberately minimal valid PPA (ids ``b1``, ``o1``, ``a1``...) for histories, diffs."""
    return PPAContent(
        projet=Projet(titre="PPA 2025", date_debut=date(2025, 1, 6), date_fin=date(2025, 12, 31)),
        projet_de_vie="Vivre en appartement avec un accompagnement léger.",
        attentes=[Attente(id="at1", texte="Aller au travail seule.")],
        besoins=[
            Besoin(id="b1", code="1.3.1", description="Se déplacer", analyse="Peur du bus."),
            Besoin(id="b2", code="1.2.1.1", description="Entretien personnel"),
        ],
        objectifs=[
            Objectif(
                id="o1",
                titre="Prendre le bus seule",
                besoin_ids=["b1"],
                date_echeance=date(2025, 6, 30),
                resultat_attendu="Trajet domicile-ESAT sans aide.",
            ),
            Objectif(id="o2", titre="Préparer ses repas", besoin_ids=["b2"]),
        ],
        actions=[
            Action(
                id="a1",
                titre="Trajets accompagnés",
                description="Accompagnement sur le trajet de la ligne 12.",
                objectif_ids=["o1"],
                prestations=["2.3.4.1"],
                date_debut=date(2025, 1, 13),
                planning=Planning(
                    frequence=Frequence.HEBDOMADAIRE,
                    jours=[Jour.LUNDI],
                    heure_debut="08:00",
                    duree_minutes=60,
                    lieu="Arrêt Mairie",
                ),
            ),
            Action(id="a2", titre="Atelier cuisine", objectif_ids=["o2"], prestations=["2.3.1.1"]),
        ],
        bilan=Bilan(date_evaluation=date(2024, 12, 15)),
        accords=[Accord(id="ac1", par="coordinatrice")],
    )
