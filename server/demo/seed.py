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

from exports.sample_content import demo_content
from server.auth.security import API_TOKEN_PREFIX, hash_api_token, hash_password
from server.config import Settings
from server.demo.history import is_history, seed_history
from server.demo.notifications import seed_notification_settings
from server.models import (
    PPA,
    ApiClient,
    CercleMember,
    Person,
    Professional,
    Structure,
    User,
)
from server.models.person import MemberKind, Role
from server.people.identifiers import INS_OIDS, InsSystem, ins_key, luhn_key
from server.ppas.documents import DocumentSource
from server.ppas.service import create_ppa


def _finess(payload8: str) -> str:
    return payload8 + luhn_key(payload8)


def _rpps(payload10: str) -> str:
    return payload10 + luhn_key(payload10)


ADMISSION = date(2025, 6, 16)
"""Léa Martin's admission at the FAM: her first PPA (2025-2026, validated 01/12/2025) came
within the 6 months (CASF D311)."""

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
        # not a health professional: no RPPS; the exports identify her as "3" + FINESS / local id
        None,
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


async def _draft(
    session: AsyncSession,
    documents: DocumentSource,
    person: Person,
    users: dict[str, User],
    pros: dict[str, Professional],
    history: dict[str, object],
) -> PPA:
    """This year's draft: the revision of last year's PPA (``history``) when it was seeded."""
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
    history_id = history.get("validated_ppa_id")
    if isinstance(history_id, str):
        # the revision of the 2025-2026 PPA (its content rewritten for the new year)
        ppa.previous_ppa_id = history_id
        ppa.received_codes = None
        await session.flush()
    return ppa


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
            admission_date=ADMISSION,
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

    ppa = await session.scalar(
        select(PPA)
        .where(PPA.person_id == person.id, ~is_history())
        .order_by(PPA.created_at)
        .limit(1)
    )
    extra: dict[str, object] = {}
    if signing_key is not None:
        # last year's PPA first: this year's draft is its revision (linked), not a new start
        extra = await seed_history(
            session,
            documents,
            signing_key,
            person=person,
            users=users,
            current=demo_content({key: pro.id for key, pro in pros.items()}),
        )
    if ppa is None or created:
        ppa = await _draft(session, documents, person, users, pros, extra)

    await seed_notification_settings(session, users["coordinatrice"])

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
