"""iCalendar (RFC 5545) agenda of a PPA version: one VEVENT per scheduled action.

* ``UID`` = ``<action id>@ppa-collab``: stable across versions and avenants of the PPA.
* ``SEQUENCE`` = number of versions in which the action's event data changed
  (``ExportInput.previous_contents`` holds the earlier versions of the series, oldest first), so an
  avenant that moves a session yields the same UID with SEQUENCE + 1; an action removed by an
  avenant is kept as ``STATUS:CANCELLED`` with SEQUENCE + 1 so subscribed calendars drop it.
* ``DTSTART``/``DTEND`` in Europe/Paris with its VTIMEZONE; ``RRULE`` from the schedule
  (weekly/daily ``BYDAY``, monthly ``BYDAY=<n><day>`` from the first session, ``UNTIL`` = end
  date); ``LOCATION``; ``ATTENDEE`` for the referent (CHAIR), the intervenants and the person;
  SERAFIN-PH prestation code + official label in ``CATEGORIES`` and ``DESCRIPTION``.
* ``DTSTAMP`` = the version's validation (or creation) time, not the clock: same input, same bytes.

Feeds: :func:`render_ical` (everything: the person's agenda) and
:func:`render_ical_for_professional`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from icalendar import (
    Calendar,
    Event,
    Timezone,
    TimezoneDaylight,
    TimezoneStandard,
    vCalAddress,
    vRecur,
    vText,
)

from editor.schema import Action, StatutAction
from exports import _agenda as ag
from exports import _common as c
from exports import terminology
from exports.context import ExportInput
from exports.local_time import PARIS

PRODID = "-//ppa-collab//Agenda PPA//FR"


def _attendee(
    address: str, name: str, role: str, partstat: str, cutype: str = "INDIVIDUAL"
) -> vCalAddress:
    att = vCalAddress(address)
    att.params["CN"] = vText(name)
    att.params["ROLE"] = vText(role)
    att.params["PARTSTAT"] = vText(partstat)
    att.params["CUTYPE"] = vText(cutype)
    return att


def _partstat(a: Action, cancelled: bool) -> str:
    """The people's PARTSTAT, as their Participant.status in the FHIR Appointment: en
    préparation NEEDS-ACTION, à l'essai TENTATIVE, else ACCEPTED (a cancelled event keeps it)."""
    if not cancelled and a.statut is StatutAction.EN_PREPARATION:
        return "NEEDS-ACTION"
    if not cancelled and a.statut is StatutAction.ESSAI:
        return "TENTATIVE"
    return "ACCEPTED"


def _pro_address(inp: ExportInput, pid: str) -> str:
    pro = inp.professionals.get(pid)
    if pro and pro.email:
        return f"mailto:{pro.email}"
    return f"urn:uuid:{ag.agenda_uuid(inp, 'professional:' + pid)}"


def _status(a: Action, cancelled: bool) -> str:
    if cancelled:
        return "CANCELLED"
    if a.statut in (StatutAction.EN_PREPARATION, StatutAction.ESSAI):
        return "TENTATIVE"
    return "CONFIRMED"


def _event(inp: ExportInput, item: ag.AgendaItem) -> Event:
    a = item.action
    if a.planning is None:
        raise RuntimeError("a.planning is None")
    start, end = ag.start_end(a)
    ev = Event()
    ev.add("uid", ag.agenda_uid(a.id))
    ev.add("sequence", item.sequence)
    ev.add("dtstamp", inp.version.document_date.astimezone(UTC))
    ev.add("dtstart", start)
    if end is not None:
        ev.add("dtend", end)
    rule = ag.rrule(a)
    if rule:
        ev.add("rrule", vRecur(rule))
    ev.add("summary", a.titre or "Action du PPA")
    if a.planning.lieu:
        ev.add("location", a.planning.lieu)
    ev.add("status", _status(a, item.cancelled))
    ev.add("transp", "OPAQUE")
    cats = [f"SERAFIN-PH {code} {terminology.label(code)}".strip() for code in a.prestations]
    if cats:
        ev.add("categories", cats)
    objectifs = {o.id: o.titre for o in inp.content.objectifs}
    lines = [a.description] if a.description else []
    lines += [f"Objectif : {objectifs[oid]}" for oid in a.objectif_ids if oid in objectifs]
    lines += [f"Prestation SERAFIN-PH : {c.serafin_text(code)}" for code in a.prestations]
    lines.append(f"Planning : {c.schedule_text(a.planning)}")
    if item.cancelled:
        lines.append("Séance annulée par un avenant au PPA.")
    ev.add("description", "\n".join(lines))
    partstat = _partstat(a, item.cancelled)
    seen: set[str] = set()
    if a.referent_id:
        seen.add(a.referent_id)
        ev.add(
            "attendee",
            _attendee(
                _pro_address(inp, a.referent_id),
                inp.professional_name(a.referent_id),
                "CHAIR",
                partstat,
            ),
        )
    for pid in a.intervenant_ids:
        if pid not in seen:
            seen.add(pid)
            ev.add(
                "attendee",
                _attendee(
                    _pro_address(inp, pid), inp.professional_name(pid), "REQ-PARTICIPANT", partstat
                ),
            )
    person = f"urn:uuid:{ag.agenda_uuid(inp, 'person')}"
    ev.add("attendee", _attendee(person, inp.person.display_name, "REQ-PARTICIPANT", partstat))
    return ev


def paris_vtimezone() -> Timezone:
    """Compact VTIMEZONE for Europe/Paris (EU rule since 1996: last Sundays of March/October)."""
    tz = Timezone()
    tz.add("tzid", PARIS.key)
    tz.add("x-lic-location", PARIS.key)
    for comp, start, month, frm, to, name in (
        (TimezoneDaylight(), datetime(1981, 3, 29, 2), 3, "+0100", "+0200", "CEST"),
        (TimezoneStandard(), datetime(1996, 10, 27, 3), 10, "+0200", "+0100", "CET"),
    ):
        comp.add("tzoffsetfrom", _offset(frm))
        comp.add("tzoffsetto", _offset(to))
        comp.add("tzname", name)
        comp.add("dtstart", start)
        comp.add("rrule", vRecur({"FREQ": "YEARLY", "BYMONTH": month, "BYDAY": "-1SU"}))
        tz.add_component(comp)
    return tz


def _offset(text: str) -> timedelta:
    sign = 1 if text[0] == "+" else -1
    return sign * timedelta(hours=int(text[1:3]), minutes=int(text[3:5]))


def _calendar(inp: ExportInput, items: list[ag.AgendaItem], name: str) -> bytes:
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", name)
    cal.add("x-wr-timezone", PARIS.key)
    cal.add_component(paris_vtimezone())
    for item in items:
        cal.add_component(_event(inp, item))
    data: bytes = cal.to_ical()
    return data


def render_ical(inp: ExportInput) -> bytes:
    """The person's agenda: every scheduled action (and cancelled ones) of the version."""
    return _calendar(inp, ag.agenda_items(inp), f"PPA - {inp.person.display_name}")


def render_ical_for_professional(inp: ExportInput, professional_id: str) -> bytes:
    """A professional's agenda: the actions where they are referent or intervenant."""
    items = [i for i in ag.agenda_items(inp) if ag.involves(i.action, professional_id)]
    name = f"PPA {inp.person.display_name} - {inp.professional_name(professional_id)}"
    return _calendar(inp, items, name)
