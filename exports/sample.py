"""Realistic sample inputs (fictitious people), shared by the tests, the bench and demos.

:func:`sample_content` is the demo's PPA (:mod:`exports.sample_content`, the content the server's
demo seeds) validated, for a woman in a FAM followed by a SAVS (4 objectives, 7 actions,
SERAFIN-PH coded), with fixed ids; :func:`sample_avenant_input` is its first avenant (the demo's
avenant rule, plus one action stopped and one added); :func:`sample_large_input` scales it to
any number of objectives and actions for the bench. Identities use the INS *test* OID and
fictitious numbers.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

from editor.schema import (
    Accord,
    Action,
    Besoin,
    Frequence,
    Jour,
    ModeAccord,
    Objectif,
    Planning,
    PPAContent,
    StatutAction,
    StatutObjectif,
    TypeAccord,
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
from exports.sample_content import avenant_content, demo_content

SERIES_ID = uuid.UUID("0b7e1f9a-3c2d-4e5f-8a6b-7c8d9e0f1a2b")

PERSON = Person(
    ins="298046912304540",
    ins_oid=InsOid.TEST,
    birth_family_name="MARTIN",
    used_name="MARTIN",
    first_names=("Léa", "Marie"),
    birth_date=date(1998, 4, 12),
    sex=Sexe.FEMININ,
    birthplace_insee="69123",
    local_id="FAM-2021-0042",
)

FAM_FINESS, FAM_NAME = "690790316", "Foyer d'accueil médicalisé Les Tilleuls"
SAVS_FINESS, SAVS_NAME = "690018544", "SAVS Horizon - service d'accompagnement à la vie sociale"

STRUCTURE = Structure(
    finess=FAM_FINESS,
    name=FAM_NAME,
    facility_type_code="SA16",
    facility_type_label="Etablissement pour personnes handicapées",
    address_lines=("8 avenue des Tilleuls",),
    postal_code="69008",
    city="Lyon",
)

PRO_IDS = {
    "coordinatrice": "pro-coord",
    "infirmier": "pro-ide",
    "psychologue": "pro-psy",
    "ergotherapeute": "pro-ergo",
    "assistante-sociale": "pro-as",
}
"""The demo professionals' keys -> the sample's professional ids."""

PROFESSIONALS = {
    p.id: p
    for p in (
        Professional(
            id="pro-coord",
            family_name="Durand",
            given_name="Claire",
            profession_label="Éducatrice spécialisée, coordinatrice de parcours",
            structure_finess=FAM_FINESS,
            structure_name=FAM_NAME,
            local_id="E017",
        ),
        Professional(
            id="pro-ide",
            family_name="Benali",
            given_name="Karim",
            rpps="10003345674",
            profession_code="G15_60",
            profession_label="Infirmier",
            structure_finess=FAM_FINESS,
            structure_name=FAM_NAME,
        ),
        Professional(
            id="pro-psy",
            family_name="Lefèvre",
            given_name="Sophie",
            rpps="10004567896",
            profession_code="G15_93",
            profession_label="Psychologue",
            structure_finess=SAVS_FINESS,
            structure_name=SAVS_NAME,
        ),
        Professional(
            id="pro-ergo",
            family_name="Moreau",
            given_name="Julien",
            rpps="10005789010",
            profession_code="G15_68",
            profession_label="Ergothérapeute",
            structure_finess=SAVS_FINESS,
            structure_name=SAVS_NAME,
        ),
        Professional(
            id="pro-as",
            family_name="Roux",
            given_name="Nadia",
            profession_label="Assistante de service social",
            structure_finess=SAVS_FINESS,
            structure_name=SAVS_NAME,
            local_id="S031",
        ),
    )
}

O_SANTE, O_LOGEMENT, O_SOCIAL, O_MOBILITE = "o-1", "o-2", "o-3", "o-4"


def _h(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _fixed_ids(content: PPAContent) -> PPAContent:
    """``content`` with readable, fixed item ids (the shared content draws random ones)."""
    renamed: dict[str, str] = {}
    for prefix, ids in (
        ("a", [x.id for x in content.attentes]),
        ("b", [x.id for x in content.besoins]),
        ("o", [x.id for x in content.objectifs]),
        ("act", [x.id for x in content.actions]),
        ("m", [x.id for x in content.moyens]),
    ):
        renamed.update({old: f"{prefix}-{i}" for i, old in enumerate(ids, start=1)})

    def rename(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: rename(v) for k, v in value.items()}
        if isinstance(value, list):
            return [rename(v) for v in value]
        return renamed.get(value, value) if isinstance(value, str) else value

    return PPAContent.model_validate(rename(content.model_dump(mode="json")))


def sample_content() -> PPAContent:
    """The sample PPA content (validated version 3): the shared content with its accords, and
    the fields the demo's draft leaves empty filled (so every export renders them): the
    person's avis and the expected result on two actions, who wrote the bilan."""
    content = _fixed_ids(demo_content(PRO_IDS))
    sante, tram = content.actions[0], content.actions[-1]
    sante.avis_usager = "D'accord, le lundi soir ça me va."
    sante.resultat_attendu = "Carnet relu chaque semaine, rappels ajustés si besoin."
    tram.avis_usager = "J'ai un peu peur des changements de ligne."
    tram.resultat_attendu = "Trajet avec une correspondance réalisé seule."
    content.bilan.redige_par = "Léa et sa sœur"
    content.accords = [
        Accord(
            id="acc-struct",
            type=TypeAccord.STRUCTURE,
            mode=ModeAccord.SIGNE,
            par="pro-coord",
            date=date(2026, 11, 27),
        ),
        Accord(
            id="acc-pers",
            type=TypeAccord.PERSONNE,
            mode=ModeAccord.ORAL,
            par="Léa MARTIN",
            temoin="Karim BENALI",
            date=date(2026, 11, 27),
        ),
    ]
    return content


def sample_avenant_content(base: PPAContent) -> PPAContent:
    """Avenant 1 of :func:`sample_content`: the shared avenant (cooking workshop moved), the
    support interviews stopped, swimming added."""
    content = avenant_content(base)
    content.actions = [a for a in content.actions if a.titre != "Entretiens de soutien"]
    content.actions.append(
        Action(
            id="act-piscine",
            titre="Piscine avec le groupe",
            description="Séance de piscine avec le groupe du foyer.",
            objectif_ids=[O_SOCIAL, O_SANTE],
            prestations=["2.2.2"],
            referent_id="pro-ergo",
            intervenant_ids=["pro-coord"],
            date_debut=date(2027, 3, 5),
            date_fin=date(2027, 6, 30),
            planning=Planning(
                frequence=Frequence.HEBDOMADAIRE,
                jours=[Jour.VENDREDI],
                heure_debut="14:00",
                duree_minutes=60,
                lieu="Piscine du Rhône",
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
            date=date(2027, 2, 20),
        ),
        Accord(
            id="acc-pers-av1",
            type=TypeAccord.PERSONNE,
            mode=ModeAccord.SIGNE,
            par="Léa MARTIN",
            date=date(2027, 2, 20),
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
        "created_at": datetime(2026, 11, 27, 9, 30, tzinfo=UTC),
        "validated_at": datetime(2026, 11, 27, 16, 5, tzinfo=UTC),
        "series_id": SERIES_ID,
        "series_version": 1,
    }
    base.update(kw)
    return VersionMeta.model_validate(base)


GENERATED_AT = datetime(2027, 3, 1, 10, 0, tzinfo=UTC)


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
        author_id="pro-ide",
        legal_authenticator_id="pro-coord",
        generated_at=GENERATED_AT,
    )


def sample_avenant_input() -> ExportInput:
    """Avenant 1 (version 5) of the sample, with the base version as history."""
    base = sample_content()
    return ExportInput(
        content=sample_avenant_content(base),
        version=_meta(
            number=5,
            kind=VersionKind.AVENANT,
            label="Avenant n°1 : atelier cuisine et piscine",
            content_hash="9a8b7c6d5e4f30211203f4e5d6c7b8a9900112233445566778899aabbccddeef",
            created_at=datetime(2027, 2, 18, 14, 0, tzinfo=UTC),
            validated_at=datetime(2027, 2, 20, 11, 30, tzinfo=UTC),
            series_version=2,
            avenant_number=1,
            base_version=3,
        ),
        person=PERSON,
        structure=STRUCTURE,
        professionals=PROFESSIONALS,
        author_id="pro-ide",
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
            date_debut=date(2026, 12, 1),
            date_echeance=date(2027, 6, 30),
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
            date_debut=date(2026, 12, 1),
            date_fin=date(2027, 6, 30),
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
