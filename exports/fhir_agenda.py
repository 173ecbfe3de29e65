"""FHIR R4 Appointments (ANS Gestion d'Agendas Partagés, ``gap-fr-appointment``) of a PPA version.

One Appointment per scheduled action (plus CANCELLED ones for actions an avenant removed), in a
Bundle of type **transaction** whose entries are conditional updates
``PUT Appointment?identifier=urn:ietf:rfc:3986|urn:uuid:<stable id>``. Why a transaction and not a
collection: GAP flux 6a creates an appointment (POST) and flux 6b updates it by a conditional PUT
on ``Appointment.identifier``; a conditional PUT creates the appointment when the identifier is
unknown, so the same Bundle both creates the appointments of a first validated version and updates
them (new times, ``cancelled``) when an avenant is exported - all or nothing.

The identifier is stable across versions (uuid5 of the PPA id and action id). ``start``/``end``
are the first session; the recurrence (FHIR R4 Appointment has none) is in ``comment`` as the
iCalendar RRULE plus a French sentence, and ``requestedPeriod`` is the action's date range.
Participants are referenced by identifier (INS for the person, idNat_PS for professionals), so the
Bundle needs no Patient/Practitioner entries. ``serviceType`` carries the SERAFIN-PH prestations.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from icalendar import vRecur

from editor.schema import StatutAction
from exports import _agenda as ag
from exports import _common as c
from exports.context import OID_ID_NAT_PS, ExportInput
from exports.fhir import serafin_coding

Json = dict[str, Any]
GAP_APPOINTMENT = (
    "https://interop.esante.gouv.fr/ig/fhir/gap/StructureDefinition/gap-fr-appointment"
)
ID_SYSTEM = "urn:ietf:rfc:3986"


def _status(item: ag.AgendaItem) -> str:
    """Appointment.status (FHIR R4 AppointmentStatus), consistent with the iCalendar STATUS.

    * ``cancelled`` (ICS CANCELLED): removed by an avenant or annulée.
    * ``fulfilled`` / ``booked`` (ICS CONFIRMED): terminée / en cours - booked is "confirmed to go
      ahead at the date/times specified".
    * ``pending`` (ICS TENTATIVE): à l'essai - the sessions have their dates and times but the
      trial is not confirmed yet; pending is "some or all of the participants have not finalized
      their acceptance", whereas proposed also allows "the start/end time might not be set yet".
    * ``proposed`` (ICS TENTATIVE): en préparation - the schedule may still change.

    GAP (``gap-fr-appointment``) adds no constraint on the status; its request example uses
    ``proposed`` (standards.md, GAP).
    """
    if item.cancelled:
        return "cancelled"
    if item.action.statut is StatutAction.TERMINE:
        return "fulfilled"
    if item.action.statut is StatutAction.EN_PREPARATION:
        return "proposed"
    if item.action.statut is StatutAction.ESSAI:
        return "pending"
    return "booked"


# Participant.status (ParticipationStatus) of the people, matching the Appointment.status.
PARTICIPANT_STATUS = {
    "proposed": "needs-action",
    "pending": "tentative",
    "booked": "accepted",
    "fulfilled": "accepted",
    "cancelled": "accepted",
}


def _iso(dt: datetime) -> str:
    return dt.isoformat(timespec="seconds")


def appointment(inp: ExportInput, item: ag.AgendaItem) -> Json:
    """The Appointment resource of one agenda item."""
    a = item.action
    if a.planning is None:
        raise RuntimeError("a.planning is None")
    start, end = ag.start_end(a)
    rule = ag.rrule(a)
    status = _status(item)
    joined = PARTICIPANT_STATUS[status]
    comment = c.schedule_text(a.planning)
    if rule:
        comment += f" (RRULE:{vRecur(rule).to_ical().decode()})"  # type: ignore[no-untyped-call]
    participants: list[Json] = [
        {
            "actor": {
                "identifier": {
                    "system": f"urn:oid:{inp.person.ins_oid.value}",
                    "value": inp.person.ins,
                },
                "display": inp.person.display_name,
            },
            "required": "required",
            "status": joined,
        }
    ]
    for pid in dict.fromkeys([*([a.referent_id] if a.referent_id else []), *a.intervenant_ids]):
        pro = inp.professionals.get(pid)
        actor: Json = {"display": inp.professional_name(pid)}
        if pro is not None:
            actor["identifier"] = {
                "system": f"urn:oid:{OID_ID_NAT_PS}",
                "value": pro.id_nat_ps(inp.structure.finess),
            }
        participants.append({"actor": actor, "required": "required", "status": joined})
    if a.planning.lieu:
        participants.append(
            {
                "actor": {"display": a.planning.lieu},
                "required": "information-only",
                "status": "accepted",
            }
        )
    res: Json = {
        "resourceType": "Appointment",
        "meta": {"profile": [GAP_APPOINTMENT]},
        "identifier": [{"system": ID_SYSTEM, "value": f"urn:uuid:{ag.agenda_uuid(inp, a.id)}"}],
        "status": status,
        "serviceType": [{"coding": [serafin_coding(code)]} for code in a.prestations],
        "description": a.titre or "Action du PPA",
        "start": _iso(start),
        "created": inp.version.document_date.date().isoformat(),
        "comment": comment,
        "participant": participants,
    }
    if end is not None:
        res["end"] = _iso(end)
        res["minutesDuration"] = a.planning.duree_minutes
    if a.date_debut:
        period: Json = {"start": a.date_debut.isoformat()}
        if a.date_fin:
            period["end"] = a.date_fin.isoformat()
        res["requestedPeriod"] = [period]
    if item.cancelled:
        res["cancelationReason"] = {"text": "Action retirée ou annulée par un avenant au PPA"}
    return res


def render_fhir_agenda_bundle(inp: ExportInput) -> Json:
    """The transaction Bundle (dict) of the version's Appointments."""
    entries = []
    for item in ag.agenda_items(inp):
        res = appointment(inp, item)
        ident = res["identifier"][0]
        entries.append(
            {
                "fullUrl": f"urn:uuid:{ag.agenda_uuid(inp, item.action.id)}",
                "resource": res,
                "request": {
                    "method": "PUT",
                    "url": f"Appointment?identifier={ident['system']}|{ident['value']}",
                },
            }
        )
    return {
        "resourceType": "Bundle",
        "identifier": {
            "system": ID_SYSTEM,
            "value": f"urn:uuid:{inp.uuid_for('fhir-agenda', 'Bundle')}",
        },
        "type": "transaction",
        "entry": entries,
    }


def render_fhir_agenda(inp: ExportInput) -> bytes:
    """Render the Appointments Bundle as UTF-8 JSON bytes (deterministic)."""
    data = render_fhir_agenda_bundle(inp)
    return (json.dumps(data, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
