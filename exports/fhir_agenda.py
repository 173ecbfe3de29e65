"""FHIR R4 Appointments (ANS Gestion d'Agendas Partagés, ``gap-fr-appointment``) of a PPA version.

One Appointment per scheduled action (plus CANCELLED ones for actions an avenant removed), in a
Bundle of type **collection**. Why not a transaction: GAP's agenda manager has no system-level
``transaction`` (nor ``batch``) in its CapabilityStatement; it takes one resource per request,
flux 6a creation (``POST Appointment``) and flux 6b update by a conditional ``PUT`` on
``Appointment.identifier`` (which creates the appointment when the identifier is unknown).
:func:`gap_requests` gives those requests, one per Appointment:
``PUT Appointment?identifier=urn:ietf:rfc:3986|urn:uuid:<stable id>``; the same requests create the
appointments of a first validated version and update them (new times, ``cancelled``) for an
avenant.

The identifier is stable across versions (uuid5 of the PPA id and action id). ``start``/``end``
are the first session; the recurrence, which R4 Appointment lacks, is machine-readable in the R5
cross-version extension ``Appointment.recurrenceTemplate`` (:func:`recurrence_extension`: type,
weekly / monthly template, last occurrence date, time zone), and also in ``comment`` as the
iCalendar RRULE plus a French sentence; ``requestedPeriod`` is the action's date range.
Participants are referenced by identifier with their type (INS for the person, idNat_PS for
professionals), so the Bundle needs no Patient/Practitioner entries; the place of the sessions is
a contained ``Location`` referenced by a participant. ``serviceType`` carries the SERAFIN-PH
prestations. :func:`exports.frcore_checks.check_agenda_bundle` checks the result.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from icalendar import vRecur

from editor.schema import Frequence, Jour, StatutAction
from exports import _agenda as ag
from exports import _common as c
from exports.context import OID_ID_NAT_PS, ExportInput
from exports.fhir import serafin_coding

Json = dict[str, Any]
GAP_APPOINTMENT = (
    "https://interop.esante.gouv.fr/ig/fhir/gap/StructureDefinition/gap-fr-appointment"
)
ID_SYSTEM = "urn:ietf:rfc:3986"
RECURRENCE_EXT = (
    "http://hl7.org/fhir/5.0/StructureDefinition/extension-Appointment.recurrenceTemplate"
)
GTS_ABBREVIATION = "http://terminology.hl7.org/CodeSystem/v3-GTSAbbreviation"
IANA_TZ = "https://www.iana.org/time-zones"
WEEKDAY_KEYS = {
    Jour.LUNDI: "monday",
    Jour.MARDI: "tuesday",
    Jour.MERCREDI: "wednesday",
    Jour.JEUDI: "thursday",
    Jour.VENDREDI: "friday",
    Jour.SAMEDI: "saturday",
    Jour.DIMANCHE: "sunday",
}
DAY_OF_WEEK = {
    Jour.LUNDI: "mon",
    Jour.MARDI: "tue",
    Jour.MERCREDI: "wed",
    Jour.JEUDI: "thu",
    Jour.VENDREDI: "fri",
    Jour.SAMEDI: "sat",
    Jour.DIMANCHE: "sun",
}


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


def recurrence_extension(item: ag.AgendaItem) -> Json | None:
    """R5 ``Appointment.recurrenceTemplate`` as its cross-version extension (``None`` for a
    one-off session). Daily with days and weekly map to ``WK`` + ``weeklyTemplate``; monthly
    to ``MO`` + ``monthlyTemplate`` (nth weekday, or day of month); daily without days to ``D``
    (R5 has no daily interval: it is in the RRULE of ``comment``)."""
    a = item.action
    p = a.planning
    if p is None or p.frequence is Frequence.PONCTUELLE:
        return None
    start, _ = ag.start_end(a)

    def sub(url: str, **value: Any) -> Json:
        return {"url": url, **value}

    def code(c: str) -> Json:
        return {"valueCodeableConcept": {"coding": [{"system": GTS_ABBREVIATION, "code": c}]}}

    parts: list[Json] = [
        sub(
            "timezone",
            valueCodeableConcept={"coding": [{"system": IANA_TZ, "code": "Europe/Paris"}]},
        )
    ]
    if p.frequence is Frequence.MENSUELLE:
        parts.append(sub("recurrenceType", **code("MO")))
        monthly: list[Json]
        if p.jours:
            nth = (start.day - 1) // 7 + 1
            week = ["first", "second", "third", "fourth", "last"][min(nth, 5) - 1]
            day = next(j for j in Jour if j.value == start.strftime("%a")[:2].upper())
            monthly = [
                sub(
                    "nthWeekOfMonth",
                    valueCoding={"system": "http://hl7.org/fhir/week-of-month", "code": week},
                ),
                sub(
                    "dayOfWeek",
                    valueCoding={
                        "system": "http://hl7.org/fhir/days-of-week",
                        "code": DAY_OF_WEEK[day],
                    },
                ),
            ]
        else:
            monthly = [sub("dayOfMonth", valuePositiveInt=start.day)]
        monthly.append(sub("monthInterval", valuePositiveInt=p.intervalle))
        parts.append(sub("monthlyTemplate", extension=monthly))
    elif p.jours or p.frequence is Frequence.HEBDOMADAIRE:
        parts.append(sub("recurrenceType", **code("WK")))
        days = set(p.jours) or {
            next(j for j in Jour if j.value == start.strftime("%a")[:2].upper())
        }
        weekly = [sub(key, valueBoolean=True) for j, key in WEEKDAY_KEYS.items() if j in days]
        interval = p.intervalle if p.frequence is Frequence.HEBDOMADAIRE else 1
        weekly.append(sub("weekInterval", valuePositiveInt=interval))
        parts.append(sub("weeklyTemplate", extension=weekly))
    else:
        parts.append(sub("recurrenceType", **code("D")))
    if a.date_fin:
        parts.append(sub("lastOccurrenceDate", valueDate=a.date_fin.isoformat()))
    return {"url": RECURRENCE_EXT, "extension": parts}


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
                "type": "Patient",
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
            actor["type"] = "Practitioner"
            actor["identifier"] = {
                "system": f"urn:oid:{OID_ID_NAT_PS}",
                "value": pro.id_nat_ps(inp.structure.finess),
            }
        participants.append({"actor": actor, "required": "required", "status": joined})
    contained: list[Json] = []
    if a.planning.lieu:
        contained.append(
            {"resourceType": "Location", "id": "lieu", "status": "active", "name": a.planning.lieu}
        )
        participants.append(
            {
                "actor": {"reference": "#lieu", "type": "Location", "display": a.planning.lieu},
                "required": "information-only",
                "status": "accepted",
            }
        )
    recurrence = recurrence_extension(item)
    res: Json = {
        "resourceType": "Appointment",
        "meta": {"profile": [GAP_APPOINTMENT]},
        "contained": contained,
        "extension": [recurrence] if recurrence else [],
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


def gap_request(res: Json) -> tuple[str, str]:
    """The GAP request (method, relative URL) that sends one Appointment of the bundle: flux 6b,
    the conditional update on its identifier (creates it when unknown)."""
    ident = res["identifier"][0]
    return "PUT", f"Appointment?identifier={ident['system']}|{ident['value']}"


def gap_requests(inp: ExportInput) -> list[tuple[str, str, Json]]:
    """Every request (method, URL, Appointment) to send the version's agenda to a GAP agenda
    manager, one Appointment per request."""
    out = []
    for e in render_fhir_agenda_bundle(inp)["entry"]:
        method, url = gap_request(e["resource"])
        out.append((method, url, e["resource"]))
    return out


def render_fhir_agenda_bundle(inp: ExportInput) -> Json:
    """The collection Bundle (dict) of the version's Appointments."""
    entries = []
    for item in ag.agenda_items(inp):
        res = appointment(inp, item)
        res = {k: v for k, v in res.items() if v not in ([], None)}
        entries.append(
            {"fullUrl": f"urn:uuid:{ag.agenda_uuid(inp, item.action.id)}", "resource": res}
        )
    return {
        "resourceType": "Bundle",
        "identifier": {
            "system": ID_SYSTEM,
            "value": f"urn:uuid:{inp.uuid_for('fhir-agenda', 'Bundle')}",
        },
        "type": "collection",
        "entry": entries,
    }


def render_fhir_agenda(inp: ExportInput) -> bytes:
    """Render the Appointments Bundle as UTF-8 JSON bytes (deterministic)."""
    data = render_fhir_agenda_bundle(inp)
    return (json.dumps(data, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
