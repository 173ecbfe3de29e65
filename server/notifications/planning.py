"""``agenda.planning_changed``: a new version changed the planning of actions; the members those
actions concern (their référent and intervenants, before or after the change) are told.

The planning of an action is its dates, its recurring slot (frequency, interval, days, time,
duration, place), its modality of place, its référent and its intervenants. An action added or
removed counts as changed (its référent and intervenants are told). Members are designated in
the content as the editor and the exports do: a professional by their professional id, another
member by their cercle member id (a user id is accepted too).
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from editor.schema import Action, PPAContent
from server.models import CercleMember, User
from server.models.notifications import Notice
from server.notifications.service import Event, emit

NATURE = "agenda.planning_changed"


def _signature(action: Action) -> str:
    planning = action.planning.model_dump(mode="json") if action.planning is not None else None
    return json.dumps(
        [
            str(action.date_debut) if action.date_debut else None,
            str(action.date_fin) if action.date_fin else None,
            planning,
            action.modalite_lieu.value,
            sorted(action.intervenant_ids),
            action.referent_id,
        ],
        sort_keys=True,
    )


def _people(action: Action) -> set[str]:
    return {ref for ref in (action.referent_id, *action.intervenant_ids) if ref}


def concerned_refs(before: PPAContent, after: PPAContent) -> set[str]:
    """Member references concerned by the planning changes between two contents."""
    old = {a.id: a for a in before.actions}
    new = {a.id: a for a in after.actions}
    refs: set[str] = set()
    for action_id in old.keys() | new.keys():
        a, b = old.get(action_id), new.get(action_id)
        if a is not None and b is not None and _signature(a) == _signature(b):
            continue
        for action in (a, b):
            if action is not None:
                refs |= _people(action)
    return refs


async def users_of(session: AsyncSession, person_id: str, refs: Iterable[str]) -> set[str]:
    """The logins the references designate in the person's cercle (as ``server.authz``: a
    member row designates its login and every login of its professional)."""
    wanted = set(refs)
    if not wanted:
        return set()
    rows = (
        await session.execute(
            select(CercleMember.id, CercleMember.user_id, CercleMember.professional_id).where(
                CercleMember.person_id == person_id,
                or_(
                    CercleMember.id.in_(wanted),
                    CercleMember.professional_id.in_(wanted),
                    CercleMember.user_id.in_(wanted),
                ),
            )
        )
    ).all()
    users = {user_id for _m, user_id, _p in rows if user_id}
    pros = {pro for _m, _u, pro in rows if pro}
    if pros:
        users |= set(await session.scalars(select(User.id).where(User.professional_id.in_(pros))))
    return users


async def planning_event(
    session: AsyncSession,
    *,
    ppa_id: str,
    person_id: str,
    number: int,
    before: PPAContent | None,
    after: PPAContent,
    actor_id: str | None,
    also_not: Iterable[str] = (),
) -> list[Notice]:
    """Tell the members concerned that version ``number`` changed the planning of their
    actions (nothing for a first version, or when no planning changed)."""
    if before is None:
        return []
    users = await users_of(session, person_id, concerned_refs(before, after))
    if not users:
        return []
    ev = Event(
        NATURE,
        "version",
        f"{ppa_id}/{number}",
        person_id=person_id,
        ppa_id=ppa_id,
        version_number=number,
        actor_id=actor_id,
        also_not=frozenset(also_not),
        only=frozenset(users),
    )
    return await emit(session, ev)
