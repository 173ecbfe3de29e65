"""Realistic sample inputs (fictitious people), shared by the tests, the bench and demos.

:func:`sample_input` is a validated PPA of a young woman in an IME (5 objectives, 7 actions,
SERAFIN-PH coded); :func:`sample_avenant_input` is its first avenant (one schedule changed, one
action removed, one added); :func:`sample_large_input` scales it to any number of objectives and
actions for the bench. Identities use the INS *test* OID and fictitious numbers.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

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
from exports.context import (
    ExportInput,
    InsOid,
    Person,
    Professional,
    Sexe,
    Structure,
    VersionKind,
    VersionMeta,
)

SERIES_ID = uuid.UUID("0b7e1f9a-3c2d-4e5f-8a6b-7c8d9e0f1a2b")

PERSON = Person(
    ins="208037511512369",
    ins_oid=InsOid.TEST,
    birth_family_name="MARTIN",
    used_name="MARTIN",
    first_names=("Léa", "Camille"),
    birth_date=date(2008, 3, 14),
    sex=Sexe.FEMININ,
    birthplace_insee="75115",
    local_id="U2024-0042",
)

STRUCTURE = Structure(
    finess="750012345",
    name="IME Les Tilleuls",
    facility_type_code="SA16",
    facility_type_label="Etablissement pour personnes handicapées",
    address_lines=("12 rue des Tilleuls",),
    postal_code="75015",
    city="Paris",
)

PROFESSIONALS = {
    p.id: p
    for p in (
        Professional(
            id="pro-coord",
            family_name="Durand",
            given_name="Sophie",
            profession_label="Coordinatrice de parcours",
            structure_finess="750012345",
            structure_name="IME Les Tilleuls",
            local_id="E017",
        ),
        Professional(
            id="pro-educ",
            family_name="Benali",
            given_name="Karim",
            profession_label="Éducateur spécialisé",
            structure_finess="750012345",
            structure_name="IME Les Tilleuls",
            local_id="E023",
        ),
        Professional(
            id="pro-ide",
            family_name="Lefèvre",
            given_name="Claire",
            rpps="10101234567",
            profession_code="G15_60",
            profession_label="Infirmière",
            structure_finess="750012345",
            structure_name="IME Les Tilleuls",
        ),
        Professional(
            id="pro-psy",
            family_name="Nguyen",
            given_name="Thomas",
            rpps="10107654321",
            profession_code="G15_93",
            profession_label="Psychologue",
            structure_finess="750012345",
            structure_name="IME Les Tilleuls",
        ),
        Professional(
            id="pro-ergo",
            family_name="Moreau",
            given_name="Julie",
            rpps="10109988776",
            profession_code="G15_68",
            profession_label="Ergothérapeute (libérale)",
        ),
    )
}

B_COGN, B_ENTR, B_MOB, B_REL, B_SCOL = "b-cogn", "b-entr", "b-mob", "b-rel", "b-scol"
O_TRANSPORT, O_TOILETTE, O_AMIS, O_STAGE, O_EMOTIONS = "o-1", "o-2", "o-3", "o-4", "o-5"


def _h(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def sample_content() -> PPAContent:
    """The sample PPA content (validated version 3)."""
    return PPAContent(
        projet=Projet(
            titre="Projet personnalisé d'accompagnement de Léa",
            type="PPA",
            date_debut=date(2025, 9, 1),
            date_fin=date(2026, 8, 31),
            modalite_communication=(
                "Présenté à Léa et à sa mère lors de la réunion du 12 septembre 2025,"
                " version FALC remise en main propre."
            ),
        ),
        projet_de_vie="Léa souhaite vivre plus tard dans un appartement partagé avec des amies,"
        " travailler dans une boulangerie et continuer la danse.",
        attentes=[
            Attente(
                id="a-1",
                origine=OrigineAttente.PERSONNE,
                texte="Prendre le bus seule pour venir à l'IME.",
            ),
            Attente(
                id="a-2", origine=OrigineAttente.PERSONNE, texte="Faire un stage en boulangerie."
            ),
            Attente(
                id="a-3",
                origine=OrigineAttente.ENTOURAGE,
                texte="Que Léa gagne en autonomie pour sa toilette.",
            ),
            Attente(
                id="a-4",
                origine=OrigineAttente.PROFESSIONNEL,
                texte="Travailler la gestion des émotions en groupe.",
            ),
        ],
        besoins=[
            Besoin(
                id=B_MOB,
                code="1.2.1.3",
                description="Déplacements extérieurs",
                analyse="Se repère sur un trajet connu, anxieuse en cas d'imprévu.",
            ),
            Besoin(
                id=B_ENTR,
                code="1.2.1.1",
                description="Toilette et habillage",
                analyse="Réalise seule avec guidance verbale.",
            ),
            Besoin(
                id=B_REL,
                code="1.2.1.2",
                description="Relations avec les pairs",
                analyse="Recherche le contact, conflits fréquents.",
            ),
            Besoin(
                id=B_SCOL,
                code="1.3.3.1",
                description="Formation préprofessionnelle",
                analyse="Intérêt marqué pour les métiers de bouche.",
            ),
            Besoin(
                id=B_COGN,
                code="1.1.1",
                description="Gestion des émotions",
                analyse="Crises d'angoisse ponctuelles.",
            ),
        ],
        objectifs=[
            Objectif(
                id=O_TRANSPORT,
                titre="Se déplacer seule en bus entre le domicile et l'IME",
                description="Apprendre le trajet de la ligne 62 et savoir réagir à un imprévu.",
                besoin_ids=[B_MOB],
                domaine="Mobilité",
                date_debut=date(2025, 9, 15),
                date_echeance=date(2026, 6, 30),
                resultat_attendu="Trajet aller-retour seule 3 fois par semaine.",
                strategie="Accompagnement dégressif : à côté, à distance, puis appel de contrôle.",
                referent_id="pro-educ",
                avis_usager="Je suis d'accord, j'ai un peu peur au début.",
                statut=StatutObjectif.ACTIF,
            ),
            Objectif(
                id=O_TOILETTE,
                titre="Réaliser sa toilette du matin sans aide",
                description="Utiliser un séquentiel visuel dans la salle de bain.",
                besoin_ids=[B_ENTR],
                domaine="Vie quotidienne",
                date_debut=date(2025, 9, 15),
                date_echeance=date(2026, 3, 31),
                resultat_attendu="Toilette complète en moins de 30 minutes avec le séquentiel.",
                referent_id="pro-ide",
                avis_usager="D'accord.",
                statut=StatutObjectif.ACTIF,
            ),
            Objectif(
                id=O_AMIS,
                titre="Participer à une activité de groupe chaque semaine",
                description="Atelier danse et sortie mensuelle avec le groupe.",
                besoin_ids=[B_REL],
                domaine="Vie sociale",
                date_debut=date(2025, 10, 1),
                date_echeance=date(2026, 6, 30),
                resultat_attendu="Présence régulière, moins de conflits signalés.",
                referent_id="pro-educ",
                avis_usager="Oui, j'adore danser !",
                statut=StatutObjectif.ACTIF,
            ),
            Objectif(
                id=O_STAGE,
                titre="Réaliser un stage de découverte en boulangerie",
                description="Stage de deux semaines au printemps.",
                besoin_ids=[B_SCOL],
                domaine="Insertion professionnelle",
                date_debut=date(2026, 1, 5),
                date_echeance=date(2026, 5, 29),
                resultat_attendu="Stage réalisé et bilan avec le maître de stage.",
                strategie="Préparation en atelier cuisine, visite préalable du lieu.",
                referent_id="pro-coord",
                avis_usager="Je veux faire des croissants.",
                statut=StatutObjectif.EN_PREPARATION,
            ),
            Objectif(
                id=O_EMOTIONS,
                titre="Reconnaître et exprimer ses émotions",
                description="Identifier les signes de l'angoisse, utiliser un outil d'apaisement.",
                besoin_ids=[B_COGN],
                domaine="Santé psychique",
                date_debut=date(2025, 9, 15),
                date_echeance=date(2026, 8, 31),
                resultat_attendu="Utilise le thermomètre des émotions sans rappel.",
                referent_id="pro-psy",
                avis_usager="",
                statut=StatutObjectif.ACTIF,
            ),
        ],
        actions=[
            Action(
                id="act-bus",
                titre="Apprentissage du trajet en bus",
                description="Trajet accompagné puis en autonomie surveillée.",
                objectif_ids=[O_TRANSPORT],
                prestations=["2.2.3", "3.2.4.1"],
                referent_id="pro-educ",
                intervenant_ids=["pro-educ"],
                date_debut=date(2025, 9, 15),
                date_fin=date(2026, 6, 30),
                planning=Planning(
                    frequence=Frequence.HEBDOMADAIRE,
                    jours=[Jour.LUNDI, Jour.JEUDI],
                    heure_debut="08:15",
                    duree_minutes=45,
                    lieu="Arrêt de bus Convention, ligne 62",
                ),
                statut=StatutAction.ACTIF,
                resultat_attendu="Trajet seule",
                avis_usager="D'accord.",
            ),
            Action(
                id="act-toilette",
                titre="Guidance toilette avec séquentiel visuel",
                objectif_ids=[O_TOILETTE],
                prestations=["2.2.1", "2.1.1.2"],
                referent_id="pro-ide",
                intervenant_ids=["pro-ide", "pro-educ"],
                date_debut=date(2025, 9, 15),
                date_fin=date(2026, 3, 31),
                planning=Planning(
                    frequence=Frequence.QUOTIDIENNE,
                    jours=[Jour.LUNDI, Jour.MARDI, Jour.MERCREDI, Jour.JEUDI, Jour.VENDREDI],
                    heure_debut="07:30",
                    duree_minutes=30,
                    lieu="Internat, salle de bain",
                ),
                statut=StatutAction.ACTIF,
            ),
            Action(
                id="act-danse",
                titre="Atelier danse",
                objectif_ids=[O_AMIS, O_EMOTIONS],
                prestations=["2.2.2", "2.3.4.1"],
                referent_id="pro-educ",
                intervenant_ids=["pro-educ"],
                date_debut=date(2025, 10, 1),
                date_fin=date(2026, 6, 30),
                planning=Planning(
                    frequence=Frequence.HEBDOMADAIRE,
                    jours=[Jour.MERCREDI],
                    heure_debut="14:00",
                    duree_minutes=90,
                    lieu="Salle polyvalente",
                ),
                statut=StatutAction.ACTIF,
                avis_usager="C'est mon moment préféré.",
            ),
            Action(
                id="act-sortie",
                titre="Sortie mensuelle en groupe",
                objectif_ids=[O_AMIS],
                prestations=["2.3.4.1"],
                referent_id="pro-educ",
                intervenant_ids=["pro-educ", "pro-coord"],
                date_debut=date(2025, 10, 4),
                date_fin=date(2026, 6, 30),
                planning=Planning(
                    frequence=Frequence.MENSUELLE,
                    jours=[Jour.SAMEDI],
                    heure_debut="10:00",
                    duree_minutes=240,
                    lieu="Départ de l'IME",
                ),
                statut=StatutAction.ESSAI,
            ),
            Action(
                id="act-cuisine",
                titre="Atelier cuisine préprofessionnel",
                objectif_ids=[O_STAGE],
                prestations=["2.3.3.1"],
                referent_id="pro-coord",
                intervenant_ids=["pro-educ"],
                date_debut=date(2026, 1, 5),
                date_fin=date(2026, 5, 29),
                planning=Planning(
                    frequence=Frequence.HEBDOMADAIRE,
                    jours=[Jour.MARDI],
                    heure_debut="10:00",
                    duree_minutes=120,
                    lieu="Cuisine pédagogique",
                ),
                statut=StatutAction.EN_PREPARATION,
            ),
            Action(
                id="act-psy",
                titre="Entretien avec le psychologue",
                objectif_ids=[O_EMOTIONS],
                prestations=["2.1.1.3"],
                referent_id="pro-psy",
                intervenant_ids=["pro-psy"],
                date_debut=date(2025, 9, 22),
                date_fin=date(2026, 8, 31),
                planning=Planning(
                    frequence=Frequence.HEBDOMADAIRE,
                    intervalle=2,
                    jours=[Jour.VENDREDI],
                    heure_debut="11:00",
                    duree_minutes=45,
                    lieu="Bureau du psychologue",
                ),
                statut=StatutAction.ACTIF,
            ),
            Action(
                id="act-ergo",
                titre="Bilan en ergothérapie",
                objectif_ids=[O_TOILETTE],
                prestations=["2.1.2"],
                referent_id="pro-ergo",
                intervenant_ids=["pro-ergo"],
                date_debut=date(2025, 11, 6),
                date_fin=date(2025, 11, 6),
                planning=Planning(
                    frequence=Frequence.PONCTUELLE,
                    heure_debut=_h(16 * 60 + 30),
                    duree_minutes=60,
                    lieu="Cabinet d'ergothérapie, 5 rue Lecourbe",
                ),
                statut=StatutAction.ACTIF,
            ),
        ],
        moyens=[
            Moyen(id="m-1", type=TypeMoyen.HUMAIN, description="Éducateur référent 0,2 ETP"),
            Moyen(
                id="m-2",
                type=TypeMoyen.MATERIEL,
                description="Séquentiel visuel plastifié, carte Navigo",
            ),
            Moyen(
                id="m-3", type=TypeMoyen.FINANCIER, description="Prise en charge du stage par l'IME"
            ),
        ],
        bilan=Bilan(
            date_evaluation=date(2026, 2, 15),
            prochaine_revision=date(2026, 9, 10),
            notes_preparation="Léa prépare avec sa mère ce qu'elle veut dire à la réunion.",
            redige_par="Léa et sa mère",
        ),
        accords=[
            Accord(
                id="acc-struct",
                type=TypeAccord.STRUCTURE,
                mode=ModeAccord.SIGNE,
                par="pro-coord",
                date=date(2025, 9, 12),
            ),
            Accord(
                id="acc-pers",
                type=TypeAccord.PERSONNE,
                mode=ModeAccord.ORAL,
                par="Léa MARTIN",
                temoin="Karim BENALI",
                date=date(2025, 9, 12),
            ),
        ],
    )


def avenant_content(base: PPAContent) -> PPAContent:
    """Avenant 1 of :func:`sample_content`: bus schedule changed, psy stopped, swimming added."""
    content = base.model_copy(deep=True)
    bus = next(a for a in content.actions if a.id == "act-bus")
    if bus.planning is None:
        raise RuntimeError("bus.planning is None")
    bus.planning.jours = [Jour.LUNDI, Jour.MERCREDI, Jour.VENDREDI]
    bus.planning.heure_debut = "08:00"
    content.actions = [a for a in content.actions if a.id != "act-psy"]
    content.actions.append(
        Action(
            id="act-piscine",
            titre="Piscine avec le groupe",
            objectif_ids=[O_EMOTIONS, O_AMIS],
            prestations=["2.2.2"],
            referent_id="pro-educ",
            intervenant_ids=["pro-educ"],
            date_debut=date(2026, 3, 2),
            date_fin=date(2026, 6, 30),
            planning=Planning(
                frequence=Frequence.HEBDOMADAIRE,
                jours=[Jour.VENDREDI],
                heure_debut="14:00",
                duree_minutes=60,
                lieu="Piscine Blomet",
            ),
            statut=StatutAction.ESSAI,
        )
    )
    content.accords = [
        Accord(
            id="acc-struct-av1",
            type=TypeAccord.STRUCTURE,
            mode=ModeAccord.SIGNE,
            par="pro-coord",
            date=date(2026, 2, 20),
        ),
        Accord(
            id="acc-pers-av1",
            type=TypeAccord.PERSONNE,
            mode=ModeAccord.SIGNE,
            par="Léa MARTIN",
            date=date(2026, 2, 20),
        ),
    ]
    return content


def _meta(**kw: object) -> VersionMeta:
    base: dict[str, object] = {
        "ppa_id": "ppa-0042",
        "number": 3,
        "kind": VersionKind.VALIDATED,
        "label": "Validation annuelle",
        "content_hash": "5" * 64,
        "created_at": datetime(2025, 9, 12, 9, 30, tzinfo=UTC),
        "validated_at": datetime(2025, 9, 12, 16, 5, tzinfo=UTC),
        "series_id": SERIES_ID,
        "series_version": 1,
    }
    base.update(kw)
    return VersionMeta.model_validate(base)


GENERATED_AT = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)


def sample_input(kind: VersionKind = VersionKind.VALIDATED) -> ExportInput:
    """The sample validated version (or a draft of it with ``kind=VersionKind.DRAFT``)."""
    extra: dict[str, object] = {}
    if kind.is_draft:
        extra = {"validated_at": None, "label": "Brouillon en cours"}
    return ExportInput(
        content=sample_content(),
        version=_meta(
            kind=kind,
            content_hash="3f1c2a9be0d4c5a6b7e8f90112233445566778899aabbccddeeff00112233445",
            **extra,
        ),
        person=PERSON,
        structure=STRUCTURE,
        professionals=PROFESSIONALS,
        author_id="pro-educ",
        legal_authenticator_id="pro-coord",
        generated_at=GENERATED_AT,
    )


def sample_avenant_input() -> ExportInput:
    """Avenant 1 (version 5) of the sample, with the base version as history."""
    base = sample_content()
    return ExportInput(
        content=avenant_content(base),
        version=_meta(
            number=5,
            kind=VersionKind.AVENANT,
            label="Avenant n°1 : modalités de transport et piscine",
            content_hash="9a8b7c6d5e4f30211203f4e5d6c7b8a9900112233445566778899aabbccddeef",
            created_at=datetime(2026, 2, 18, 14, 0, tzinfo=UTC),
            validated_at=datetime(2026, 2, 20, 11, 30, tzinfo=UTC),
            series_version=2,
            avenant_number=1,
            base_version=3,
        ),
        person=PERSON,
        structure=STRUCTURE,
        professionals=PROFESSIONALS,
        author_id="pro-educ",
        legal_authenticator_id="pro-coord",
        previous_contents=(base,),
        generated_at=GENERATED_AT,
    )


_BESOIN_CODES = ("1.1.1", "1.1.8", "1.2.1.1", "1.2.1.2", "1.2.1.3", "1.3.1", "1.3.2.1", "1.3.4.1")
_PRESTATION_CODES = (
    "2.1.1.2",
    "2.1.1.3",
    "2.2.1",
    "2.2.2",
    "2.2.3",
    "2.3.2.1",
    "2.3.4.1",
    "3.2.4.1",
)
_DAYS = list(Jour)


def sample_large_input(objectives: int = 40, actions: int = 80) -> ExportInput:
    """The sample scaled up to ``objectives`` objectives and ``actions`` actions (bench)."""
    base = sample_content()
    pros = list(PROFESSIONALS)
    besoins = [
        Besoin(id=f"lb-{i}", code=code, description=f"Besoin {i + 1}", analyse="Analyse " * 8)
        for i, code in enumerate(_BESOIN_CODES)
    ]
    objs = [
        Objectif(
            id=f"lo-{i}",
            titre=f"Objectif n°{i + 1} : progresser dans le domaine {i % 8 + 1}",
            description="Description détaillée de l'objectif. " * 3,
            besoin_ids=[besoins[i % len(besoins)].id],
            date_debut=date(2025, 9, 1),
            date_echeance=date(2026, 6, 30),
            resultat_attendu="Résultat attendu mesurable.",
            strategie="Stratégie de mise en œuvre.",
            referent_id=pros[i % len(pros)],
            avis_usager="Avis de la personne.",
            statut=StatutObjectif.ACTIF,
        )
        for i in range(objectives)
    ]
    acts = [
        Action(
            id=f"la-{i}",
            titre=f"Action n°{i + 1}",
            description="Modalité d'accompagnement. " * 4,
            objectif_ids=[objs[i % objectives].id],
            prestations=[_PRESTATION_CODES[i % 8], _PRESTATION_CODES[(i + 3) % 8]],
            referent_id=pros[i % len(pros)],
            intervenant_ids=[pros[(i + 1) % len(pros)]],
            date_debut=date(2025, 9, 15),
            date_fin=date(2026, 6, 30),
            planning=Planning(
                frequence=Frequence.HEBDOMADAIRE,
                jours=[_DAYS[i % 5], _DAYS[(i + 2) % 5]],
                heure_debut=_h(8 * 60 + (i % 18) * 30),
                duree_minutes=60,
                lieu=f"Salle {i % 6 + 1}",
            ),
            statut=StatutAction.ACTIF,
        )
        for i in range(actions)
    ]
    content = base.model_copy(update={"besoins": besoins, "objectifs": objs, "actions": acts})
    inp = sample_input()
    return inp.model_copy(update={"content": content})
