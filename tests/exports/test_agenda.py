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
from exports.fhir_agenda import (
    RECURRENCE_EXT,
    gap_requests,
    render_fhir_agenda,
    render_fhir_agenda_bundle,
)
from exports.frcore_checks import check_agenda_bundle
from exports.ical import render_ical, render_ical_for_professional
from exports.local_time import PARIS


def _events(data: bytes) -> dict[str, dict[str, Any]]:
    cal = icalendar.Calendar.from_ical(data)
    return {str(ev["UID"]): dict(ev) for ev in cal.walk("VEVENT")}


def test_ics_round_trips_with_timezone_rrule_and_attendees(
    validated: ExportInput, one_day: ExportInput
) -> None:
    data = render_ical(validated)
    cal = icalendar.Calendar.from_ical(data)
    (tz,) = cal.walk("VTIMEZONE")
    assert tz["TZID"] == "Europe/Paris"
    events = _events(data)
    scheduled = [a for a in validated.content.actions if a.planning and a.planning.heure_debut]
    assert set(events) == {f"{a.id}@ppa-collab" for a in scheduled}
    tram = events["act-7@ppa-collab"]  # "Entraînement aux trajets en tramway"
    start = tram["DTSTART"].dt
    assert start == datetime(2026, 12, 1, 16, 30, tzinfo=PARIS)
    assert str(start.tzinfo) == "Europe/Paris"
    assert tram["DTEND"].dt == datetime(2026, 12, 1, 18, 0, tzinfo=PARIS)
    assert tram["RRULE"]["FREQ"] == ["WEEKLY"]
    assert tram["RRULE"]["BYDAY"] == ["TU", "SA"]
    assert str(tram["LOCATION"]) == "Arrêt Tilleuls, ligne T2"
    assert int(tram["SEQUENCE"]) == 0
    attendees = tram["ATTENDEE"]
    names = [a.params["CN"] for a in attendees]
    assert names == ["Claire DURAND", "Julien MOREAU", "Léa MARTIN"]
    assert attendees[0].params["ROLE"] == "CHAIR"
    rule = rrulestr(tram["RRULE"].to_ical().decode(), dtstart=start)
    first = list(rule)[:4]
    assert [d.strftime("%a %H:%M") for d in first] == ["Tue 16:30", "Sat 16:30"] * 2
    assert list(rule)[-1].date() <= date(2027, 3, 31)
    budget = events["act-4@ppa-collab"]  # monthly, from Friday 8 January 2027
    assert budget["RRULE"]["BYDAY"] == ["2FR"]
    assert str(budget["STATUS"]) == "TENTATIVE"
    assert "RRULE" not in _events(render_ical(one_day))["act-bilan@ppa-collab"]


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
    cuisine = after["act-3@ppa-collab"]  # moved from Wednesday morning to Thursday afternoon
    assert int(cuisine["SEQUENCE"]) == int(before["act-3@ppa-collab"]["SEQUENCE"]) + 1
    assert cuisine["RRULE"]["BYDAY"] == ["TH"]
    assert int(after["act-1@ppa-collab"]["SEQUENCE"]) == 0
    soutien = after["act-6@ppa-collab"]  # "Entretiens de soutien", stopped
    assert str(soutien["STATUS"]) == "CANCELLED"
    assert int(soutien["SEQUENCE"]) == 1
    assert int(after["act-piscine@ppa-collab"]["SEQUENCE"]) == 0
    assert int(before["act-3@ppa-collab"]["DTSTAMP"].dt.year) == 2026


def test_feeds_per_professional(validated: ExportInput, avenant: ExportInput) -> None:
    psy = _events(render_ical_for_professional(validated, "pro-psy"))
    assert set(psy) == {"act-5@ppa-collab", "act-6@ppa-collab"}
    ide = _events(render_ical_for_professional(validated, "pro-ide"))
    assert set(ide) == {"act-1@ppa-collab", "act-2@ppa-collab"}
    cancelled = _events(render_ical_for_professional(avenant, "pro-psy"))
    assert str(cancelled["act-6@ppa-collab"]["STATUS"]) == "CANCELLED"
    assert render_ical(validated) == render_ical(validated)


def test_fhir_appointments(validated: ExportInput, avenant: ExportInput) -> None:
    bundle = json.loads(render_fhir_agenda(validated))
    R4BBundle.model_validate(bundle)
    R4Bundle(bundle, strict=True)
    # GAP's agenda manager has no transaction: a collection, each Appointment sent on its own
    assert bundle["type"] == "collection"
    assert check_agenda_bundle(bundle) == []
    assert check_agenda_bundle(render_fhir_agenda_bundle(avenant)) == []
    appts = {e["resource"]["description"]: e for e in bundle["entry"]}
    cuisine = appts["Atelier cuisine en appartement d'entraînement"]
    res = cuisine["resource"]
    assert res["meta"]["profile"] == [
        "https://interop.esante.gouv.fr/ig/fhir/gap/StructureDefinition/gap-fr-appointment"
    ]
    assert res["status"] == "booked"
    assert res["start"] == "2026-12-02T10:00:00+01:00"
    assert res["end"] == "2026-12-02T12:30:00+01:00"
    assert res["minutesDuration"] == 150
    assert "RRULE:FREQ=WEEKLY" in res["comment"]
    # the recurrence is machine-readable (R5 recurrenceTemplate, cross-version extension)
    (rec,) = res["extension"]
    assert rec["url"] == RECURRENCE_EXT
    parts = {x["url"]: x for x in rec["extension"]}
    assert parts["recurrenceType"]["valueCodeableConcept"]["coding"][0]["code"] == "WK"
    weekly = {x["url"]: x for x in parts["weeklyTemplate"]["extension"]}
    assert set(weekly) == {"wednesday", "weekInterval"}
    assert weekly["weekInterval"]["valuePositiveInt"] == 1
    # the place: a contained Location referenced by a participant
    (loc,) = res["contained"]
    assert loc["resourceType"] == "Location"
    assert {"reference": "#lieu", "type": "Location", "display": loc["name"]} in [
        p["actor"] for p in res["participant"]
    ]
    assert [c["coding"][0]["code"] for c in res["serviceType"]] == ["2.3.2.2"]
    assert res["serviceType"][0]["coding"][0]["display"] == terminology.label("2.3.2.2")
    ident = res["identifier"][0]
    assert "request" not in cuisine
    requests = {url: (method, r) for method, url, r in gap_requests(validated)}
    assert requests[f"Appointment?identifier={ident['system']}|{ident['value']}"] == ("PUT", res)
    actors = [p["actor"] for p in res["participant"]]
    assert actors[0]["identifier"]["value"] == "298046912304540"
    after = {
        e["resource"]["identifier"][0]["value"]: e["resource"]
        for e in render_fhir_agenda_bundle(avenant)["entry"]
    }
    assert after[ident["value"]]["start"] == "2026-12-03T14:00:00+01:00"
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
    # "Entraînement aux trajets en tramway" (validated) and "Piscine avec le groupe" (avenant)
    # are on trial.
    for inp, uid in ((validated, "act-7@ppa-collab"), (avenant, "act-piscine@ppa-collab")):
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
    # En préparation ("Gestion du budget courses"): proposed, nobody has accepted yet.
    budget = next(
        e["resource"]
        for e in render_fhir_agenda_bundle(validated)["entry"]
        if e["resource"]["description"] == "Gestion du budget courses"
    )
    assert budget["status"] == "proposed"
    assert {p["status"] for p in budget["participant"] if p["required"] == "required"} == {
        "needs-action"
    }
