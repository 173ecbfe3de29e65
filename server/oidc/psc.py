"""Pro Santé Connect's claims: who logged in (``SubjectNameID``, the national id ``8`` + RPPS),
their names, and their practice (``SubjectRefPro``: exercises, each with its activities and
their structure), mapped to the professional registered here with that RPPS."""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from typing import Any

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.db import utcnow
from server.models import ExternalIdentity, Professional, User
from server.models.identity import UserKind
from server.oidc.errors import LoginRefused, token_refused

log = structlog.get_logger(__name__)

PROVIDER = "psc"
_NATIONAL_ID = re.compile(r"8(\d{11})")
MAX_ITEMS = 20
"""Exercises, and activities per exercise, kept (a practice is a handful of them)."""
MAX_TEXT = 200
PROFESSIONS = {
    "10": "Médecin",
    "21": "Pharmacien",
    "26": "Audioprothésiste",
    "28": "Opticien-lunetier",
    "31": "Assistant dentaire",
    "32": "Physicien médical",
    "40": "Chirurgien-dentiste",
    "41": "Assistant de service social",
    "50": "Sage-femme",
    "60": "Infirmier",
    "69": "Infirmier psychiatrique",
    "70": "Masseur-kinésithérapeute",
    "80": "Pédicure-podologue",
    "81": "Orthoprothésiste",
    "82": "Podo-orthésiste",
    "83": "Orthopédiste-orthésiste",
    "84": "Oculariste",
    "85": "Épithésiste",
    "86": "Technicien de laboratoire médical",
    "91": "Orthophoniste",
    "92": "Orthoptiste",
    "93": "Psychologue",
    "94": "Ergothérapeute",
    "95": "Diététicien",
    "96": "Psychomotricien",
    "98": "Manipulateur d'électroradiologie médicale",
}
"""Profession codes of the national nomenclatures (TRE_G15 ProfessionSante; 41 and 93 from
TRE_R94 / TRE_R95) and their French labels; another code is shown as itself."""


def _text(value: object) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    return value.strip()[:MAX_TEXT]


@dataclass(frozen=True)
class Activity:
    """Where an exercise is practised: the structure (site) and its identifiers."""

    structure: str
    finess: str | None
    siret: str | None
    place: str | None
    sector_code: str | None


@dataclass(frozen=True)
class Exercise:
    """One profession exercised, under the name it is exercised with, and its activities."""

    profession_code: str | None
    profession: str
    name: str | None
    activities: tuple[Activity, ...]


@dataclass(frozen=True)
class PscIdentity:
    """What Pro Santé Connect says about the person who logged in."""

    subject: str
    national_id: str
    given_name: str | None
    family_name: str | None
    exercises: tuple[Exercise, ...]

    @property
    def rpps(self) -> str | None:
        """The RPPS number inside an ``8`` + RPPS national id (``None`` for another kind)."""
        match = _NATIONAL_ID.fullmatch(self.national_id)
        return match.group(1) if match else None


def _activity(data: dict[str, Any]) -> Activity:
    structure = (
        _text(data.get("raisonSocialeSite"))
        or _text(data.get("enseigneCommercialeSite"))
        or "Structure sans nom"
    )
    return Activity(
        structure=structure,
        finess=_text(data.get("numeroFinessSite"))
        or _text(data.get("numeroFinessetablissementJuridique")),
        siret=_text(data.get("numeroSiretSite")),
        place=_text(data.get("bureauCedex")) or _text(data.get("codePostal")),
        sector_code=_text(data.get("codeSecteurDactivite")),
    )


def _exercise(data: dict[str, Any]) -> Exercise:
    code = _text(data.get("codeProfession"))
    label = PROFESSIONS.get(code or "") or (f"Profession (code {code})" if code else "Profession")
    names = (_text(data.get("prenomDexercice")), _text(data.get("nomDexercice")))
    activities = data.get("activities")
    return Exercise(
        profession_code=code,
        profession=label,
        name=" ".join(part for part in names if part) or None,
        activities=tuple(
            _activity(item)
            for item in (activities if isinstance(activities, list) else [])[:MAX_ITEMS]
            if isinstance(item, dict)
        ),
    )


def _object(value: object) -> dict[str, Any]:
    """A claim holding an object (some providers send it as a JSON string)."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return {}
    return value if isinstance(value, dict) else {}


def psc_identity(id_claims: dict[str, Any], userinfo: dict[str, Any]) -> PscIdentity:
    """The identity from the userinfo answer (PSC's source of its claims), the ID token's
    claims standing in for a missing one."""
    claims = {**id_claims, **userinfo}
    national_id = _text(claims.get("SubjectNameID"))
    if national_id is None:
        raise token_refused("national_id_missing")
    exercises = _object(claims.get("SubjectRefPro")).get("exercices")
    return PscIdentity(
        subject=str(id_claims["sub"]),
        national_id=national_id,
        given_name=_text(claims.get("given_name")),
        family_name=_text(claims.get("family_name")),
        exercises=tuple(
            _exercise(item)
            for item in (exercises if isinstance(exercises, list) else [])[:MAX_ITEMS]
            if isinstance(item, dict)
        ),
    )


def practice_json(identity: PscIdentity) -> str:
    """The names and practice shown to the professional during the session (kept with it)."""
    return json.dumps(
        {
            "given_name": identity.given_name,
            "family_name": identity.family_name,
            "national_id": identity.national_id,
            "exercises": [asdict(exercise) for exercise in identity.exercises],
        },
        ensure_ascii=False,
    )


def unknown_professional(identity: PscIdentity) -> LoginRefused:
    return LoginRefused(
        "unknown_professional",
        f"Vous êtes bien authentifié·e par Pro Santé Connect (identifiant national "
        f"{identity.national_id}), mais aucun professionnel n'est enregistré dans ce service "
        "avec ce numéro RPPS : l'accès est refusé. Demandez au coordinateur ou à "
        "l'administrateur du service de vous enregistrer avec votre numéro RPPS, puis "
        "reconnectez-vous.",
        status=403,
    )


async def user_for(session: AsyncSession, issuer: str, identity: PscIdentity) -> User:
    """The active professional login whose professional has the identity's RPPS; its
    ``identities`` row recorded. No account is ever created here."""
    rpps = identity.rpps
    if rpps is None:
        raise unknown_professional(identity)
    users = list(
        await session.scalars(
            select(User)
            .join(Professional, User.professional_id == Professional.id)
            .where(Professional.rpps == rpps, User.kind == UserKind.PROFESSIONAL.value)
        )
    )
    active = [user for user in users if user.is_active]
    if not users:
        raise unknown_professional(identity)
    if not active:
        raise LoginRefused(
            "account_disabled",
            "Votre compte dans ce service est désactivé : l'accès est refusé. Adressez-vous à "
            "l'administrateur du service.",
            status=403,
        )
    if len(active) > 1:
        log.warning("oidc.ambiguous_professional", users=len(active))
        raise LoginRefused(
            "ambiguous_professional",
            "Plusieurs comptes de ce service correspondent à votre numéro RPPS : l'accès est "
            "refusé tant que l'administrateur du service n'en a pas gardé un seul.",
            status=403,
        )
    user = active[0]
    await _record_identity(session, issuer, identity.subject, user)
    return user


async def _record_identity(session: AsyncSession, issuer: str, subject: str, user: User) -> None:
    row = await session.scalar(
        select(ExternalIdentity).where(
            ExternalIdentity.issuer == issuer, ExternalIdentity.subject == subject
        )
    )
    now = utcnow()
    if row is None:
        session.add(
            ExternalIdentity(
                provider=PROVIDER,
                issuer=issuer,
                subject=subject,
                user_id=user.id,
                last_login_at=now,
            )
        )
    elif row.user_id != user.id:
        # The provider's subject already logged in as someone else here: never switch silently.
        log.warning("oidc.identity_conflict", identity=row.id)
        raise LoginRefused(
            "identity_conflict",
            "Votre compte Pro Santé Connect est déjà associé à un autre compte de ce service : "
            "l'accès est refusé. Adressez-vous à l'administrateur du service.",
            status=403,
        )
    else:
        row.last_login_at = now
    await session.flush()
