"""Occurrences and change tracking shared by the iCalendar and FHIR agenda renderers."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from editor.schema import Action, Frequence, Jour, PPAContent, StatutAction
from exports.context import EXPORT_NAMESPACE, ExportInput
from exports.local_time import PARIS

WEEKDAY = {j: i for i, j in enumerate(Jour)}


def schedulable(a: Action) -> bool:
    """True when an action has enough schedule data to become agenda events."""
    return bool(a.planning and a.planning.heure_debut and a.date_debut)


def first_occurrence(a: Action) -> date:
    """First session date on or after ``date_debut`` matching the schedule's days."""
    if a.date_debut is None:
        raise RuntimeError("a.date_debut is None")
    if a.planning is None:
        raise RuntimeError("a.planning is None")
    p = a.planning
    if p.frequence is Frequence.PONCTUELLE or not p.jours:
        return a.date_debut
    wanted = {WEEKDAY[j] for j in p.jours}
    d = a.date_debut
    while d.weekday() not in wanted:
        d += timedelta(days=1)
    return d


def start_end(a: Action) -> tuple[datetime, datetime | None]:
    """Local (Europe/Paris) start and end of the first session."""
    if a.planning is None:
        raise RuntimeError("a.planning is None")
    if a.planning.heure_debut is None:
        raise RuntimeError("a.planning.heure_debut is None")
    h, m = (int(x) for x in a.planning.heure_debut.split(":"))
    start = datetime.combine(first_occurrence(a), time(h, m), PARIS)
    minutes = a.planning.duree_minutes
    return start, (start + timedelta(minutes=minutes)) if minutes else None


def rrule(a: Action) -> dict[str, object] | None:
    """RRULE parts (icalendar vRecur mapping), None for a one-off session."""
    if a.planning is None:
        raise RuntimeError("a.planning is None")
    p = a.planning
    if p.frequence is Frequence.PONCTUELLE:
        return None
    rule: dict[str, object] = {}
    start, _ = start_end(a)
    if p.frequence is Frequence.QUOTIDIENNE:
        rule["FREQ"] = "DAILY"
        if p.jours:
            rule["BYDAY"] = [j.value for j in p.jours]
    elif p.frequence is Frequence.HEBDOMADAIRE:
        rule["FREQ"] = "WEEKLY"
        if p.jours:
            rule["BYDAY"] = [j.value for j in p.jours]
    else:
        rule["FREQ"] = "MONTHLY"
        if p.jours:
            nth = (start.day - 1) // 7 + 1
            rule["BYDAY"] = [f"{nth}{start.strftime('%a')[:2].upper()}"]
        else:
            rule["BYMONTHDAY"] = [start.day]
    if p.intervalle > 1:
        rule["INTERVAL"] = p.intervalle
    if a.date_fin:
        until = datetime.combine(a.date_fin, start.time(), PARIS)
        rule["UNTIL"] = until.astimezone(UTC)
    return rule


def _fingerprint(a: Action) -> str:
    return json.dumps(
        a.model_dump(
            mode="json",
            include={
                "titre",
                "date_debut",
                "date_fin",
                "planning",
                "statut",
                "referent_id",
                "intervenant_ids",
                "prestations",
                "description",
            },
        ),
        sort_keys=True,
    )


@dataclass(frozen=True)
class AgendaItem:
    """An action as an agenda event: its data, sequence number, and whether it was removed."""

    action: Action
    sequence: int
    cancelled: bool


def agenda_items(inp: ExportInput) -> list[AgendaItem]:
    """Schedulable actions of the version plus actions removed since earlier versions.

    SEQUENCE = number of versions, along ``previous_contents`` + this one, in which the action's
    event data changed (or the action disappeared). Removed actions come last, CANCELLED.
    """
    chain: list[PPAContent] = [*inp.previous_contents, inp.content]
    seq: dict[str, int] = {}
    prev: dict[str, Action] = {}
    last_seen: dict[str, Action] = {}
    for k, content in enumerate(chain):
        cur = {a.id: a for a in content.actions}
        if k > 0:
            for aid, a in cur.items():
                if aid in prev:
                    if _fingerprint(prev[aid]) != _fingerprint(a):
                        seq[aid] = seq.get(aid, 0) + 1
                elif aid in seq:  # re-added after a removal
                    seq[aid] += 1
            for aid in prev:
                if aid not in cur:  # removed in this version
                    seq[aid] = seq.get(aid, 0) + 1
        for aid in cur:
            seq.setdefault(aid, 0)
        last_seen.update(cur)
        prev = cur
    items = [
        AgendaItem(a, seq[a.id], a.statut is StatutAction.ANNULE)
        for a in inp.content.actions
        if schedulable(a)
    ]
    current_ids = {a.id for a in inp.content.actions}
    items += [
        AgendaItem(a, seq[aid], True)
        for aid, a in last_seen.items()
        if aid not in current_ids and schedulable(a)
    ]
    return items


def agenda_uid(action_id: str) -> str:
    """Stable iCalendar UID of an action's events."""
    return f"{action_id}@ppa-collab"


def agenda_uuid(inp: ExportInput, action_id: str) -> uuid.UUID:
    """Stable UUID of an action's appointment (same across versions of the PPA)."""
    return uuid.uuid5(EXPORT_NAMESPACE, f"agenda:{inp.version.ppa_id}:{action_id}")


def involves(a: Action, professional_id: str) -> bool:
    """True when the professional is the referent or an intervenant of the action."""
    return a.referent_id == professional_id or professional_id in a.intervenant_ids
