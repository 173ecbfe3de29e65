"""Create transmissions (checks, recipients, idempotence) and describe their statuses.

A transmission is an *outbox* row: created in the request's transaction, sent by the worker
(:mod:`server.transmissions.worker`) once committed. Posting the same transmission again (same
version, channel, document and addresses) while the first is not in error returns the first, also
when both requests race (a partial unique index on the rows not in error).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from server import authz
from server.auth.principal import Principal, PrincipalType
from server.authz import Capability
from server.db import utcnow
from server.errors import Conflict, InvalidInput, NotFound
from server.models import PPA, Version
from server.models.transmissions import (
    LIVE,
    Channel,
    DocumentKind,
    Transmission,
    TransmissionStatus,
)
from server.transmissions import repository
from server.transmissions.schemas import (
    ProfessionalRecipient,
    RecipientIn,
    RecipientRead,
    StructureRecipient,
    TransmissionRead,
)
from server.transmissions.settings import TransmissionSettings
from versions.chain import VALIDATED_KINDS

S = TransmissionStatus
STATUS_LABELS: dict[str, str] = {
    S.EN_ATTENTE: "En attente d'envoi",
    S.ENVOYE: "Envoyé",
    S.RECU: "Reçu",
    S.LU: "Lu",
    S.ERREUR: "Erreur",
}
VALIDATED = {k.value for k in VALIDATED_KINDS}
_WAKE = "transmissions.created"
_wakers: set[Callable[[], None]] = set()


def add_waker(waker: Callable[[], None]) -> None:
    _wakers.add(waker)


def remove_waker(waker: Callable[[], None]) -> None:
    _wakers.discard(waker)


@event.listens_for(Session, "after_commit")
def _wake_after_commit(session: Session) -> None:
    if session.info.pop(_WAKE, False):
        for waker in list(_wakers):
            waker()


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(_WAKE, None)


def actor(t: Transmission) -> Principal:
    """Who the worker's traces name: the coordinator who asked for the transmission (the
    worker and the receipt reader act on her behalf)."""
    return Principal(type=PrincipalType.USER, id=t.created_by, kind="professional", display_name="")


def read(t: Transmission) -> TransmissionRead:
    return TransmissionRead(
        id=t.id,
        ppa_id=t.ppa_id,
        version_number=t.version_number,
        channel=t.channel,
        document=t.document,
        recipients=[RecipientRead(**r) for r in t.recipients],
        status=t.status,
        status_label=STATUS_LABELS.get(t.status, t.status),
        error_code=t.error_code,
        error_label=t.error_label,
        attempts=t.attempts,
        next_attempt_at=t.next_attempt_at if t.status == S.EN_ATTENTE else None,
        message_id=t.message_id,
        document_unique_id=t.document_unique_id,
        group_id=t.group_id,
        created_at=t.created_at,
        sent_at=t.sent_at,
        received_at=t.received_at,
        read_at=t.read_at,
    )


async def transmittable_version(
    session: AsyncSession, principal: Principal, ppa_id: str, number: int, document: str
) -> tuple[PPA, Version]:
    """The PPA (coordinator only: 403 otherwise) and its validated version ``number``."""
    ppa = await authz.get_ppa(session, principal, ppa_id, Capability.VALIDATE)
    version = await session.get(Version, (ppa.id, number))
    if version is None:
        raise NotFound(f"Version {number} introuvable pour ce PPA.")
    if version.kind not in VALIDATED:
        raise Conflict(
            f"La version {number} n'est pas validée : seules une version validée ou un avenant "
            "se transmettent (MSSanté, DMP). Validez le PPA puis transmettez la version validée."
        )
    if document == DocumentKind.MDPH and version.kind != "avenant":
        raise Conflict(
            f"La version {number} n'est pas un avenant : la fiche de liaison MDPH décrit les "
            "changements d'un avenant validé."
        )
    return ppa, version


def check_channel(settings: TransmissionSettings, channel: str) -> None:
    if channel == Channel.MSSANTE and not settings.mss_ready:
        raise Conflict(
            "La messagerie MSSanté n'est pas configurée sur ce service (PPA_MSS_SMTP_HOST, "
            "PPA_MSS_FROM, PPA_MSS_CERT, PPA_MSS_KEY) : contactez l'administrateur."
        )
    if channel == Channel.DMP and not settings.dmp_ready:
        raise Conflict(
            "Le dépôt au DMP n'est pas configuré sur ce service (PPA_DMP_FHIR_URL et le "
            "certificat de la structure) : contactez l'administrateur."
        )


async def resolve_recipients(
    session: AsyncSession,
    settings: TransmissionSettings,
    ppa: PPA,
    document: str,
    to: list[RecipientIn],
) -> list[dict[str, Any]]:
    """MSSanté addresses of the recipients (422 with the reason when one cannot be used)."""
    if not to:
        if document != DocumentKind.MDPH:
            raise InvalidInput("Indiquez au moins un destinataire MSSanté.")
        return [await repository.mdph_of_person(session, ppa.person_id)]
    out: list[dict[str, Any]] = []
    for r in to:
        if isinstance(r, ProfessionalRecipient):
            out.append(
                await repository.cercle_professional(session, ppa.person_id, r.professional_id)
            )
        elif isinstance(r, StructureRecipient):
            out.append(await repository.directory_structure(session, r.structure_id))
        else:
            address = r.address.lower()
            domain = address.rsplit("@", 1)[-1]
            if domain not in settings.mss_domains:
                allowed = ", ".join(settings.mss_domains) or "aucun domaine configuré"
                raise InvalidInput(
                    f"L'adresse {address} n'appartient pas à un domaine MSSanté autorisé "
                    f"({allowed}) : choisissez un membre du cercle ou une structure de l'annuaire."
                )
            out.append({"kind": "address", "id": None, "address": address, "label": ""})
    seen: set[str] = set()
    unique: list[dict[str, Any]] = []
    for found in out:
        if found["address"] not in seen:
            seen.add(found["address"])
            unique.append(found)
    return unique


def message_id(settings: TransmissionSettings) -> str:
    domain = (settings.mss_from or "ppa-collab.invalid").rsplit("@", 1)[-1]
    return f"<ppa-{uuid.uuid4()}@{domain}>"


async def create(
    session: AsyncSession,
    principal: Principal,
    settings: TransmissionSettings,
    ppa: PPA,
    version: Version,
    channel: str,
    document: str,
    to: list[RecipientIn],
    *,
    group_id: str | None = None,
) -> Transmission:
    """A new pending transmission (or the identical one already pending or done)."""
    check_channel(settings, channel)
    if channel == Channel.DMP:
        if to:
            raise InvalidInput("Le dépôt au DMP n'a pas de destinataire : laissez « to » vide.")
        recipients: list[dict[str, Any]] = []
    else:
        recipients = await resolve_recipients(session, settings, ppa, document, to)
    key = "|".join([channel, document, *sorted(r["address"] for r in recipients)])
    dedupe = hashlib.sha256(key.encode()).hexdigest()
    existing = await twin(session, ppa.id, version.number, dedupe)
    if existing is not None:
        return existing
    now = utcnow()
    values: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "ppa_id": ppa.id,
        "version_number": version.number,
        "person_id": ppa.person_id,
        "channel": channel,
        "document": document,
        "recipients": recipients,
        "status": S.EN_ATTENTE.value,
        "attempts": 0,
        "next_attempt_at": now,
        "message_id": message_id(settings),
        "group_id": group_id,
        "dedupe_key": dedupe,
        "created_by": principal.id,
        "created_at": now,
        "updated_at": now,
    }
    # An identical request may have committed since the check above (a double click): the
    # unique index on the live rows makes this INSERT do nothing, and that request's row is
    # the answer. ON CONFLICT waits for a concurrent uncommitted insert, so it is exact.
    insert = sqlite_insert if session.get_bind().dialect.name == "sqlite" else pg_insert
    inserted = await session.execute(
        insert(Transmission)
        .values(**values)
        .on_conflict_do_nothing(
            index_elements=["ppa_id", "version_number", "dedupe_key"], index_where=LIVE
        )
        .returning(Transmission.id)
    )
    if inserted.scalar() is None:
        found = await twin(session, ppa.id, version.number, dedupe)
        if found is None:  # the other row went to erreur in between: a rare retry by the user
            raise Conflict("Une transmission identique vient d'échouer : réessayez.")
        return found
    row = await session.get(Transmission, values["id"])
    if row is None:  # inserted just above, in this transaction
        raise RuntimeError("transmission not found after its insert")
    session.sync_session.info[_WAKE] = True
    return row


async def twin(
    session: AsyncSession, ppa_id: str, number: int, dedupe_key: str
) -> Transmission | None:
    """The live (not in error) transmission of this version with this dedupe key."""
    found: Transmission | None = await session.scalar(
        select(Transmission).where(
            Transmission.ppa_id == ppa_id,
            Transmission.version_number == number,
            Transmission.dedupe_key == dedupe_key,
            LIVE,
        )
    )
    return found
