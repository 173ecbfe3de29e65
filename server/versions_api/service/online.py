"""The person's own agreement, given online (rule 2 of docs/domain-rules.md, issue 17 point 8).

The person (or her aidant, on her behalf) agrees to, or refuses, the draft *as it stands*: the
row keeps the hash of the content she read. A validation of that very content records it with
the version as the person's agreement, by her, on her day (``recorded_by`` is her user id, not
the coordinator's); once the draft changes, her agreement is stale and is asked again (the
coordinator may still record an agreement given another way, which then wins).

How it fits rule 2's four modes:

* the person herself, from her own account: ``signe`` (a simple electronic signature: an act of
  her own, authenticated by her login, dated, tied to the content's hash);
* her aidant on her behalf: ``oral`` with the aidant as witness (the person said it to him; he
  passes it on), ``par`` reading "<aidant> pour <person> (en ligne)";
* a refusal (by either): ``refuse`` with her words as the reason.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth.principal import Principal
from server.authz import is_member
from server.db import utcnow
from server.errors import Forbidden, Locked
from server.models import PPA, CercleMember, Person, User
from server.models.agreements import OnlineAgreement
from server.models.person import Role
from server.models.ppa import PPAStatus
from server.versions_api.runtime import VersionsRuntime
from server.versions_api.service.common import content_of_state, read_state
from versions.canonical import content_hash
from versions.chain import AccordMode

ONLINE_ROLES = frozenset({Role.PERSON.value, Role.AIDANT.value})
DRAFT_STATUSES = frozenset({PPAStatus.DRAFT.value, PPAStatus.AVENANT_DRAFT.value})


@dataclass(frozen=True)
class OnlineAccord:
    """An online agreement as rule 2 records it."""

    row: OnlineAgreement
    mode: AccordMode
    par: str
    temoin: str
    current: bool
    """The draft is still what the person agreed to (else: stale, to give again)."""
    by_name: str
    person_name: str


def person_name(person: Person) -> str:
    return f"{person.first_names.split()[0]} {person.used_name or person.birth_family_name}"


async def current_hash(session: AsyncSession, rt: VersionsRuntime, ppa_id: str) -> str:
    return content_hash(content_of_state(await read_state(session, rt, ppa_id)))


async def latest(session: AsyncSession, ppa_id: str) -> OnlineAgreement | None:
    """The last agreement given online on the PPA's draft not yet recorded with a version."""
    return await session.scalar(
        select(OnlineAgreement)
        .where(OnlineAgreement.ppa_id == ppa_id, OnlineAgreement.used_in_version.is_(None))
        .order_by(OnlineAgreement.given_at.desc(), OnlineAgreement.id.desc())
        .limit(1)
    )


async def describe(
    session: AsyncSession, ppa: PPA, row: OnlineAgreement, hash_now: str
) -> OnlineAccord:
    person = await session.get(Person, ppa.person_id)
    if person is None:
        raise RuntimeError("person is None")  # foreign key
    who = person_name(person)
    user = await session.get(User, row.given_by)
    by_name = user.display_name if user is not None else who
    temoin = ""
    if row.role == Role.AIDANT.value:
        par = f"{by_name} pour {who} (en ligne)"
        mode = AccordMode.REFUSE if row.mode == AccordMode.REFUSE.value else AccordMode.ORAL
        temoin = "" if mode is AccordMode.REFUSE else f"{by_name}, aidant"
    else:
        par = f"{who} (en ligne)"
        mode = AccordMode(row.mode)
    return OnlineAccord(row, mode, par, temoin, row.content_hash == hash_now, by_name, who)


async def give(
    session: AsyncSession,
    rt: VersionsRuntime,
    principal: Principal,
    ppa: PPA,
    *,
    accord: bool,
    motif: str,
) -> OnlineAgreement:
    """Record the person's agreement (or refusal) with the current draft, given by the person
    or her aidant (403 for every other role; 409 once the PPA is validated)."""
    member = await session.scalar(
        select(CercleMember).where(
            CercleMember.person_id == ppa.person_id,
            is_member(principal),
            CercleMember.opposed.is_(False),
            CercleMember.role.in_(ONLINE_ROLES),
        )
    )
    if member is None:
        raise Forbidden(
            "Seule la personne accompagnée, ou son aidant pour elle, donne son accord en ligne. "
            "L'équipe enregistre un accord donné autrement au moment de la validation."
        )
    if ppa.locked or ppa.status not in DRAFT_STATUSES:
        raise Locked(
            "Ce PPA est déjà validé : l'accord ne peut plus être donné en ligne. "
            "Demandez à la coordinatrice d'ouvrir un avenant."
        )
    row = OnlineAgreement(
        ppa_id=ppa.id,
        mode=(AccordMode.SIGNE if accord else AccordMode.REFUSE).value,
        motif="" if accord else motif.strip(),
        given_by=principal.id,
        member_id=member.id,
        role=member.role,
        content_hash=await current_hash(session, rt, ppa.id),
        given_at=utcnow(),
    )
    session.add(row)
    await session.flush()
    return row


async def for_validation(session: AsyncSession, ppa: PPA, hash_now: str) -> OnlineAccord | None:
    """The online agreement a validation of the content hashed ``hash_now`` records (``None``
    when none was given, or the draft changed since)."""
    row = await latest(session, ppa.id)
    if row is None:
        return None
    found = await describe(session, ppa, row, hash_now)
    return found if found.current else None
