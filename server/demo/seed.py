"""Seed a realistic demo: two structures, a cercle of professionals, a person, a draft PPA.

Idempotent: running it again returns the same logins and ids. Passwords are fixed demo
passwords (stored hashed); the ESMS API token is derived from the data directory's secret so
that ``ppa demo --json`` can print it again without storing it in clear.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import asdict, dataclass, field
from datetime import date

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from editor.schema import (
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
from server.auth.security import API_TOKEN_PREFIX, hash_api_token, hash_password
from server.config import Settings
from server.demo.history import is_history, seed_history
from server.models import ApiClient, CercleMember, Person, Professional, Structure, User
from server.models.person import MemberKind, Role
from server.people.identifiers import INS_OIDS, InsSystem, ins_key, luhn_key
from server.ppas.documents import DocumentSource
from server.ppas.service import create_ppa


def _finess(payload8: str) -> str:
    return payload8 + luhn_key(payload8)


def _rpps(payload10: str) -> str:
    return payload10 + luhn_key(payload10)


PERSON_NIR13 = "2980469123045"
PERSON_INS = PERSON_NIR13 + f"{ins_key(PERSON_NIR13):02d}"

STRUCTURES = {
    "fam": (_finess("69079031"), "Foyer d'accueil médicalisé Les Tilleuls", "SA16"),
    "savs": (
        _finess("69001854"),
        "SAVS Horizon - service d'accompagnement à la vie sociale",
        "SA41",
    ),
}


@dataclass(frozen=True)
class DemoPro:
    key: str
    first_name: str
    last_name: str
    profession: str
    structure: str
    rpps: str | None
    role: Role


PROFESSIONALS = [
    DemoPro(
        "coordinatrice",
        "Claire",
        "Durand",
        "Éducatrice spécialisée, coordinatrice de parcours",
        "fam",
        _rpps("1000212345"),
        Role.COORDINATOR,
    ),
    DemoPro(
        "infirmier", "Karim", "Benali", "Infirmier", "fam", _rpps("1000334567"), Role.CONTRIBUTOR
    ),
    DemoPro(
        "psychologue",
        "Sophie",
        "Lefèvre",
        "Psychologue",
        "savs",
        _rpps("1000456789"),
        Role.CONTRIBUTOR,
    ),
    DemoPro(
        "ergotherapeute",
        "Julien",
        "Moreau",
        "Ergothérapeute",
        "savs",
        _rpps("1000578901"),
        Role.CONTRIBUTOR,
    ),
    DemoPro(
        "assistante-sociale",
        "Nadia",
        "Roux",
        "Assistante de service social",
        "savs",
        None,
        Role.READER,
    ),
]


@dataclass
class DemoLogin:
    username: str
    password: str
    role: str
    display_name: str
    kind: str


@dataclass
class DemoInfo:
    person_id: str
    ppa_id: str
    logins: list[DemoLogin] = field(default_factory=list)
    esms_token: str = ""
    structures: dict[str, str] = field(default_factory=dict)
    professionals: dict[str, str] = field(default_factory=dict)
    extra: dict[str, object] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        return {
            "person_id": self.person_id,
            "ppa_id": self.ppa_id,
            "logins": [asdict(login) for login in self.logins],
            "esms": {"token": self.esms_token, "role": Role.ESMS.value},
            "structures": self.structures,
            "professionals": self.professionals,
            **self.extra,
        }


def demo_password(key: str) -> str:
    return f"demo-{key}-2026"


def demo_content(pro_ids: dict[str, str]) -> PPAContent:
    """A realistic PPA: 4 besoins, 4 objectives, 7 actions with schedules and prestations."""
    b_sante = Besoin(
        code="1.1.10",
        description="Suivi du diabète de type 1 : injections et surveillance glycémique.",
        analyse="Autonomie partielle ; oublis fréquents du contrôle du soir.",
    )
    b_logement = Besoin(
        code="1.3.2.1",
        description="Souhaite vivre en appartement inclusif d'ici deux ans.",
        analyse="Compétences domestiques à consolider (courses, budget, entretien).",
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
    o_sante = Objectif(
        titre="Gérer son traitement du soir en autonomie",
        description="Réaliser seule le contrôle glycémique du soir et noter les résultats.",
        besoin_ids=[b_sante.id],
        domaine="Santé",
        date_debut=date(2026, 12, 1),
        date_echeance=date(2027, 6, 30),
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
        date_debut=date(2026, 12, 1),
        date_echeance=date(2027, 11, 30),
        resultat_attendu="Préparer seule trois repas par semaine et gérer un budget courses.",
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
        date_debut=date(2027, 1, 5),
        date_echeance=date(2027, 6, 30),
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
        date_debut=date(2026, 12, 1),
        date_echeance=date(2027, 3, 31),
        resultat_attendu="Trajet aller-retour réalisé seule trois fois de suite.",
        referent_id=pro_ids["coordinatrice"],
        statut=StatutObjectif.ACTIF,
    )
    actions = [
        Action(
            titre="Point santé hebdomadaire",
            description="Relecture du carnet de glycémie et ajustement des rappels.",
            objectif_ids=[o_sante.id],
            prestations=["2.1.1.2"],
            referent_id=pro_ids["infirmier"],
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
            titre="Éducation thérapeutique : autosurveillance",
            description="Séances d'éducation thérapeutique avec support illustré.",
            objectif_ids=[o_sante.id],
            prestations=["2.1.1.1", "2.2.3"],
            referent_id=pro_ids["infirmier"],
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
            titre="Atelier cuisine en appartement d'entraînement",
            description="Préparation d'un repas complet, de la liste de courses à la vaisselle.",
            objectif_ids=[o_logement.id],
            prestations=["2.3.2.2"],
            referent_id=pro_ids["ergotherapeute"],
            intervenant_ids=[pro_ids["coordinatrice"]],
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
            titre="Gestion du budget courses",
            description="Construire un budget mensuel et suivre les dépenses avec un tableau.",
            objectif_ids=[o_logement.id],
            prestations=["2.3.5.2"],
            referent_id=pro_ids["assistante-sociale"],
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
            titre="Accompagnement à l'atelier théâtre",
            description="Accompagnement aux quatre premières séances, puis retrait progressif.",
            objectif_ids=[o_social.id],
            prestations=["2.3.4.2"],
            referent_id=pro_ids["psychologue"],
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
            titre="Entretiens de soutien",
            description="Entretiens individuels pour travailler l'appréhension des lieux nouveaux.",
            objectif_ids=[o_social.id],
            prestations=["2.1.1.3"],
            referent_id=pro_ids["psychologue"],
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
            titre="Entraînement aux trajets en tramway",
            description="Trajets accompagnés puis suivis à distance (téléphone).",
            objectif_ids=[o_mobilite.id, o_social.id],
            prestations=["2.3.4.3", "3.2.4.3"],
            referent_id=pro_ids["coordinatrice"],
            intervenant_ids=[pro_ids["ergotherapeute"]],
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
        besoins=[b_sante, b_logement, b_social, b_mobilite],
        objectifs=[o_sante, o_logement, o_social, o_mobilite],
        actions=actions,
        moyens=[
            Moyen(type=TypeMoyen.MATERIEL, description="Lecteur de glycémie connecté."),
            Moyen(type=TypeMoyen.HUMAIN, description="Ergothérapeute du SAVS, 2 h 30 par semaine."),
            Moyen(type=TypeMoyen.FINANCIER, description="PCH aide humaine (notification MDPH)."),
        ],
        bilan=Bilan(
            date_evaluation=date(2027, 6, 15),
            prochaine_revision=date(2027, 11, 15),
            notes_preparation="Bilan intermédiaire avec la personne et sa sœur en juin.",
        ),
    )


def esms_token(secret: str) -> tuple[str, str]:
    """Deterministic demo API token (prefix, token) derived from the service secret."""
    digest = hmac.new(secret.encode(), b"ppa-demo-esms", hashlib.sha256).hexdigest()
    prefix = "demo" + digest[:8]
    return prefix, f"{API_TOKEN_PREFIX}{prefix}_{digest[8:56]}"


async def _user(
    session: AsyncSession, username: str, display: str, kind: str, professional_id: str | None
) -> User:
    user = await session.scalar(select(User).where(User.username == username))
    if user is None:
        user = User(
            username=username,
            password_hash=hash_password(demo_password(username)),
            display_name=display,
            kind=kind,
            professional_id=professional_id,
        )
        session.add(user)
        await session.flush()
    return user


async def seed_demo(
    session: AsyncSession,
    documents: DocumentSource,
    secret: str,
    *,
    signing_key: Ed25519PrivateKey | None = None,
) -> DemoInfo:
    """Create the demo data if absent; return its logins and ids either way.

    With the service's ``signing_key``, also seeds the person's history (a validated PPA with
    checkpoints and an avenant in progress, :mod:`server.demo.history`).
    """
    structures: dict[str, Structure] = {}
    for key, (finess, name, facility) in STRUCTURES.items():
        structure = await session.scalar(select(Structure).where(Structure.finess == finess))
        if structure is None:
            structure = Structure(finess=finess, name=name, facility_type_code=facility)
            session.add(structure)
            await session.flush()
        structures[key] = structure

    pros: dict[str, Professional] = {}
    users: dict[str, User] = {}
    for spec in PROFESSIONALS:
        pro = await session.scalar(
            select(Professional).where(
                Professional.first_name == spec.first_name,
                Professional.last_name == spec.last_name,
            )
        )
        if pro is None:
            pro = Professional(
                first_name=spec.first_name,
                last_name=spec.last_name,
                profession=spec.profession,
                rpps=spec.rpps,
                structure_id=structures[spec.structure].id,
            )
            session.add(pro)
            await session.flush()
        pros[spec.key] = pro
        users[spec.key] = await _user(
            session, spec.key, f"{spec.first_name} {spec.last_name}", "professional", pro.id
        )

    users["usager"] = await _user(session, "usager", "Léa Martin", "person", None)
    users["aidant"] = await _user(session, "aidant", "Emma Martin (sœur)", "aidant", None)
    users["auditeur"] = await _user(session, "auditeur", "Auditeur qualité", "auditor", None)
    users["admin"] = await _user(session, "admin", "Administrateur", "admin", None)

    prefix, token = esms_token(secret)
    client = await session.scalar(select(ApiClient).where(ApiClient.token_prefix == prefix))
    if client is None:
        client = ApiClient(
            name="DUI du Foyer Les Tilleuls",
            structure_id=structures["fam"].id,
            token_prefix=prefix,
            token_hash=hash_api_token(token),
        )
        session.add(client)
        await session.flush()

    person = await session.scalar(
        select(Person).where(
            Person.ins_matricule == PERSON_INS, Person.ins_oid == INS_OIDS[InsSystem.DEMO]
        )
    )
    created = person is None
    if person is None:
        person = Person(
            ins_matricule=PERSON_INS,
            ins_oid=INS_OIDS[InsSystem.DEMO],
            birth_family_name="MARTIN",
            first_names="Léa Marie",
            used_name=None,
            birth_date=date(1998, 4, 12),
            sex="F",
            birthplace_insee="69123",
            local_id="FAM-2021-0042",
            structure_id=structures["fam"].id,
            created_by=users["coordinatrice"].id,
        )
        session.add(person)
        await session.flush()
        for spec in PROFESSIONALS:
            session.add(
                CercleMember(
                    person_id=person.id,
                    kind=MemberKind.PROFESSIONAL.value,
                    role=spec.role.value,
                    user_id=users[spec.key].id,
                    professional_id=pros[spec.key].id,
                    display_name=users[spec.key].display_name,
                )
            )
        for key, kind, role in (
            ("usager", MemberKind.PERSON, Role.PERSON),
            ("aidant", MemberKind.AIDANT, Role.AIDANT),
            ("auditeur", MemberKind.AUDITOR, Role.AUDITOR),
        ):
            session.add(
                CercleMember(
                    person_id=person.id,
                    kind=kind.value,
                    role=role.value,
                    user_id=users[key].id,
                    display_name=users[key].display_name,
                )
            )
        session.add(
            CercleMember(
                person_id=person.id,
                kind=MemberKind.STRUCTURE_SYSTEM.value,
                role=Role.ESMS.value,
                api_client_id=client.id,
                display_name=client.name,
            )
        )
        await session.flush()

    from server.models import PPA

    ppa = await session.scalar(
        select(PPA)
        .where(PPA.person_id == person.id, ~is_history())
        .order_by(PPA.created_at)
        .limit(1)
    )
    if ppa is None or created:
        content = demo_content({key: pro.id for key, pro in pros.items()})
        ppa = await create_ppa(
            session,
            documents,
            person=person,
            created_by=users["coordinatrice"].id,
            title=content.projet.titre,
            content=content,
            previous=None,
        )

    extra: dict[str, object] = {}
    if signing_key is not None:
        extra = await seed_history(
            session,
            documents,
            signing_key,
            person=person,
            users=users,
            current=demo_content({key: pro.id for key, pro in pros.items()}),
        )

    roles = {spec.key: spec.role.value for spec in PROFESSIONALS}
    roles.update({"usager": "person", "aidant": "aidant", "auditeur": "auditor", "admin": "admin"})
    return DemoInfo(
        person_id=person.id,
        ppa_id=ppa.id,
        logins=[
            DemoLogin(key, demo_password(key), roles[key], user.display_name, user.kind)
            for key, user in users.items()
        ],
        esms_token=token,
        structures={key: s.id for key, s in structures.items()},
        professionals={key: p.id for key, p in pros.items()},
        extra=extra,
    )


async def seed_demo_database(settings: Settings) -> DemoInfo:
    """Seed the demo in the configured (already migrated) database, in one transaction."""
    from server.db import Database
    from server.ledger.log import signing_key
    from server.ppas.documents import StoredDocumentSource

    db = Database(settings.resolved_database_url())
    try:
        async with db.transaction() as session:
            return await seed_demo(
                session,
                StoredDocumentSource(),
                settings.resolved_secret_key(),
                signing_key=signing_key(settings),
            )
    finally:
        await db.dispose()
