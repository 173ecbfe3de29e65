from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

import icalendar
from dateutil.rrule import rrulestr  # type: ignore[import-untyped]
from fhir.resources.R4B.bundle import Bundle as R4BBundle
from fhirclient.models.bundle import Bundle as R4Bundle  # type: ignore[import-untyped]

from exports import terminology
from exports.context import ExportInput
from exports.fhir_agenda import render_fhir_agenda, render_fhir_agenda_bundle
from exports.ical import render_ical, render_ical_for_professional
from exports.local_time import PARIS


def _events(data: bytes) -> dict[str, dict[str, Any]]:
    cal = icalendar.Calendar.from_ical(data)
    return {str(ev["UID"]): dict(ev) for ev in cal.walk("VEVENT")}


def test_ics_round_trips_with_timezone_rrule_and_attendees(validated: ExportInput) -> None:
    data = render_ical(validated)
    cal = icalendar.Calendar.from_ical(data)
    (tz,) = cal.walk("VTIMEZONE")
    assert tz["TZID"] == "Europe/Paris"
    events = _events(data)
    scheduled = [a for a in validated.content.actions if a.planning and a.planning.heure_debut]
    assert set(events) == {f"{a.id}@ppa-collab" for a in scheduled}
    bus = events["act-bus@ppa-collab"]
    start = bus["DTSTART"].dt
    assert start == datetime(2025, 9, 15, 8, 15, tzinfo=PARIS)
    assert str(start.tzinfo) == "Europe/Paris"
    assert bus["DTEND"].dt == datetime(2025, 9, 15, 9, 0, tzinfo=PARIS)
    assert bus["RRULE"]["FREQ"] == ["WEEKLY"]
    assert bus["RRULE"]["BYDAY"] == ["MO", "TH"]
    assert str(bus["LOCATION"]) == "Arrêt de bus Convention, ligne 62"
    assert int(bus["SEQUENCE"]) == 0
    attendees = bus["ATTENDEE"]
    names = [a.params["CN"] for a in attendees]
    assert names == ["Karim BENALI", "Léa MARTIN"]
    assert attendees[0].params["ROLE"] == "CHAIR"
    rule = rrulestr(bus["RRULE"].to_ical().decode(), dtstart=start)
    first = list(rule)[:4]
    assert [d.strftime("%a %H:%M") for d in first] == ["Mon 08:15", "Thu 08:15"] * 2
    assert list(rule)[-1].date() <= date(2026, 6, 30)
    sortie = events["act-sortie@ppa-collab"]
    assert sortie["RRULE"]["BYDAY"] == ["1SA"]
    assert str(sortie["STATUS"]) == "TENTATIVE"
    assert "RRULE" not in events["act-ergo@ppa-collab"]


def test_ics_serafin_categories_and_description(validated: ExportInput) -> None:
    events = _events(render_ical(validated))
    for a in validated.content.actions:
        ev = events[f"{a.id}@ppa-collab"]
        cats = [str(c) for c in ev["CATEGORIES"].cats]
        assert cats == [f"SERAFIN-PH {p} {terminology.label(p)}" for p in a.prestations]
        for p in a.prestations:
            assert f"{p} - {terminology.label(p)}" in str(ev["DESCRIPTION"])


def test_avenant_keeps_uids_bumps_sequence_and_cancels_removed_actions(
    validated: ExportInput, avenant: ExportInput
) -> None:
    before, after = _events(render_ical(validated)), _events(render_ical(avenant))
    assert set(before) - set(after) == set()
    assert set(after) - set(before) == {"act-piscine@ppa-collab"}
    bus = after["act-bus@ppa-collab"]
    assert int(bus["SEQUENCE"]) == int(before["act-bus@ppa-collab"]["SEQUENCE"]) + 1
    assert bus["RRULE"]["BYDAY"] == ["MO", "WE", "FR"]
    assert int(after["act-danse@ppa-collab"]["SEQUENCE"]) == 0
    psy = after["act-psy@ppa-collab"]
    assert str(psy["STATUS"]) == "CANCELLED"
    assert int(psy["SEQUENCE"]) == 1
    assert int(after["act-piscine@ppa-collab"]["SEQUENCE"]) == 0
    assert int(before["act-bus@ppa-collab"]["DTSTAMP"].dt.year) == 2025


def test_feeds_per_professional(validated: ExportInput, avenant: ExportInput) -> None:
    psy = _events(render_ical_for_professional(validated, "pro-psy"))
    assert set(psy) == {"act-psy@ppa-collab"}
    ide = _events(render_ical_for_professional(validated, "pro-ide"))
    assert set(ide) == {"act-toilette@ppa-collab"}
    cancelled = _events(render_ical_for_professional(avenant, "pro-psy"))
    assert str(cancelled["act-psy@ppa-collab"]["STATUS"]) == "CANCELLED"
    assert render_ical(validated) == render_ical(validated)


def test_fhir_appointments(validated: ExportInput, avenant: ExportInput) -> None:
    bundle = json.loads(render_fhir_agenda(validated))
    R4BBundle.model_validate(bundle)
    R4Bundle(bundle, strict=True)
    assert bundle["type"] == "transaction"
    appts = {e["resource"]["description"]: e for e in bundle["entry"]}
    bus = appts["Apprentissage du trajet en bus"]
    res = bus["resource"]
    assert res["meta"]["profile"] == [
        "https://interop.esante.gouv.fr/ig/fhir/gap/StructureDefinition/gap-fr-appointment"
    ]
    assert res["status"] == "booked"
    assert res["start"] == "2025-09-15T08:15:00+02:00"
    assert res["end"] == "2025-09-15T09:00:00+02:00"
    assert res["minutesDuration"] == 45
    assert "RRULE:FREQ=WEEKLY" in res["comment"]
    assert [c["coding"][0]["code"] for c in res["serviceType"]] == ["2.2.3", "3.2.4.1"]
    assert res["serviceType"][0]["coding"][0]["display"] == terminology.label("2.2.3")
    ident = res["identifier"][0]
    assert bus["request"] == {
        "method": "PUT",
        "url": f"Appointment?identifier={ident['system']}|{ident['value']}",
    }
    actors = [p["actor"] for p in res["participant"]]
    assert actors[0]["identifier"]["value"] == "208037511512369"
    after = {
        e["resource"]["identifier"][0]["value"]: e["resource"]
        for e in render_fhir_agenda_bundle(avenant)["entry"]
    }
    assert after[ident["value"]]["start"] == "2025-09-15T08:00:00+02:00"
    assert sorted(r["status"] for r in after.values()).count("cancelled") == 1


# iCalendar STATUS -> the FHIR R4 Appointment.status values that say the same thing.
SAME_STATUS = {
    "CONFIRMED": {"booked", "fulfilled"},
    "TENTATIVE": {"proposed", "pending"},
    "CANCELLED": {"cancelled"},
}


def test_essai_action_is_tentative_in_ics_and_pending_in_fhir(
    validated: ExportInput, avenant: ExportInput
) -> None:
    # "Sortie mensuelle en groupe" (validated) and "Piscine avec le groupe" (avenant) are on trial.
    for inp, uid in ((validated, "act-sortie@ppa-collab"), (avenant, "act-piscine@ppa-collab")):
        essai = next(a for a in inp.content.actions if f"{a.id}@ppa-collab" == uid)
        assert essai.statut.value == "essai"
        events = _events(render_ical(inp))
        assert str(events[uid]["STATUS"]) == "TENTATIVE"
        entries = {
            e["resource"]["description"]: e["resource"]
            for e in render_fhir_agenda_bundle(inp)["entry"]
        }
        res = entries[essai.titre]
        assert res["status"] == "pending"
        people = [p for p in res["participant"] if p["required"] == "required"]
        assert people
        assert {p["status"] for p in people} == {"tentative"}
        # Every event: the two exports say the same thing, of the event and of its people.
        by_title = {str(ev["SUMMARY"]): str(ev["STATUS"]) for ev in events.values()}
        assert set(by_title) == set(entries)
        for title, status in by_title.items():
            assert entries[title]["status"] in SAME_STATUS[status], title
        for ev in events.values():
            attendees = ev.get("ATTENDEE")
            attendees = attendees if isinstance(attendees, list) else [attendees]
            people = [
                p["status"]
                for p in entries[str(ev["SUMMARY"])]["participant"]
                if p["required"] == "required"
            ]
            assert len(attendees) == len(people)
            assert {str(a.params["PARTSTAT"]).lower() for a in attendees} == set(people)
    # En préparation ("Atelier cuisine préprofessionnel"): proposed, nobody has accepted yet.
    cuisine = next(
        e["resource"]
        for e in render_fhir_agenda_bundle(validated)["entry"]
        if e["resource"]["description"] == "Atelier cuisine préprofessionnel"
    )
    assert cuisine["status"] == "proposed"
    assert {p["status"] for p in cuisine["participant"] if p["required"] == "required"} == {
        "needs-action"
    }
