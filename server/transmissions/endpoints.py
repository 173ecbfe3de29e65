"""Transmit a validated version by MSSanté or into the DMP, and follow the statuses."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Request, status

from server import authz
from server.audit.trail import AuditTrail, audited
from server.authz import Capability
from server.deps import SessionDep
from server.errors import NotFound
from server.models import Version
from server.models.transmissions import Channel, DocumentKind
from server.openapi import VersionNumber
from server.transmissions import repository, service, worker
from server.transmissions.schemas import FicheMdphCreate, TransmissionCreate, TransmissionRead
from server.transmissions.settings import TransmissionSettings

router = APIRouter(prefix="/api", tags=["transmissions"], lifespan=worker.lifespan)


def transmission_settings(request: Request) -> TransmissionSettings:
    found: TransmissionSettings | None = getattr(request.app.state, "transmission_settings", None)
    if found is None:
        found = request.app.state.transmission_settings = TransmissionSettings()
    return found


SettingsDep = Annotated[TransmissionSettings, Depends(transmission_settings)]
_RESPONSES: dict[int | str, dict[str, str]] = {
    403: {"description": "Seul un coordinateur du cercle transmet."},
    404: {"description": "PPA ou version introuvable (ou non partagé)."},
    409: {"description": "Brouillon ; fiche MDPH sans avenant ; canal non configuré."},
    422: {"description": "Destinataire inutilisable (hors cercle, sans adresse, domaine)."},
}


def _action(channel: str, document: str, number: int) -> str:
    return f"ppa.transmission:{channel}:{document}:v{number}"


@router.post(
    "/ppas/{ppa_id}/versions/{number}/transmissions",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=TransmissionRead,
    responses=_RESPONSES,
)
async def create_transmission(
    ppa_id: str,
    number: VersionNumber,
    body: TransmissionCreate,
    audit: Annotated[AuditTrail, audited("ppa.transmission")],
    session: SessionDep,
    settings: SettingsDep,
) -> TransmissionRead:
    """Send the validated version (`ppa`) or the MDPH fiche de liaison of a validated avenant
    (`mdph`) by MSSanté to `to` (members of the cercle, structures of the directory, or addresses
    of an allowed MSSanté domain; the MDPH of the person's département by default for `mdph`),
    or deposit it in the DMP (`dmp`, no `to`). Answered at once (202): the transmission is sent
    in the background, retried, and its status follows the receipts. Coordinators only."""
    ppa, version = await service.transmittable_version(
        session, audit.principal, ppa_id, number, body.document
    )
    row = await service.create(
        session, audit.principal, settings, ppa, version, body.channel, body.document, body.to
    )
    await audit.ppa(ppa, action=_action(row.channel, row.document, number))
    return service.read(row)


@router.post(
    "/ppas/{ppa_id}/versions/{number}/fiche-mdph",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=list[TransmissionRead],
    responses=_RESPONSES,
)
async def send_fiche_mdph(
    ppa_id: str,
    number: VersionNumber,
    body: FicheMdphCreate,
    audit: Annotated[AuditTrail, audited("ppa.transmission")],
    session: SessionDep,
    settings: SettingsDep,
) -> list[TransmissionRead]:
    """Use case 3: one action sends the fiche de liaison of this validated avenant to the MDPH
    by MSSanté and (unless `dmp` is false) deposits it in the DMP; two transmissions, tracked
    separately. Coordinators only."""
    ppa, version = await service.transmittable_version(
        session, audit.principal, ppa_id, number, DocumentKind.MDPH
    )
    group = str(uuid.uuid4())
    rows = [
        await service.create(
            session,
            audit.principal,
            settings,
            ppa,
            version,
            Channel.MSSANTE,
            DocumentKind.MDPH,
            body.to,
            group_id=group,
        )
    ]
    if body.dmp:
        rows.append(
            await service.create(
                session,
                audit.principal,
                settings,
                ppa,
                version,
                Channel.DMP,
                DocumentKind.MDPH,
                [],
                group_id=group,
            )
        )
    for row in rows:
        await audit.ppa(ppa, action=_action(row.channel, row.document, number))
    return [service.read(r) for r in rows]


@router.get(
    "/ppas/{ppa_id}/versions/{number}/transmissions",
    response_model=list[TransmissionRead],
    responses={404: {"description": "PPA ou version introuvable (ou non partagé)."}},
)
async def list_transmissions(
    ppa_id: str,
    number: VersionNumber,
    audit: Annotated[AuditTrail, audited("ppa.transmissions.read")],
    session: SessionDep,
) -> list[TransmissionRead]:
    """The transmissions of the version with their statuses (members who read the history)."""
    ppa = await authz.get_ppa(session, audit.principal, ppa_id, Capability.READ_HISTORY)
    if await session.get(Version, (ppa.id, number)) is None:
        raise NotFound(f"Version {number} introuvable pour ce PPA.")
    rows = await repository.of_version(session, ppa.id, number)
    await audit.ppa(ppa)
    return [service.read(r) for r in rows]
