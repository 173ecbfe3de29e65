"""Authorization: cercle roles -> capabilities, enforced inside the queries.

Every route asks for an object *through* one of the statements below, built from the
principal and the capability it needs. An object the principal may not see at all is
"not found" (404); an object it may see but not act on is "forbidden" (403). The person's
opposition to a member removes every capability of that member.

Routes not tied to one person (the directory, API clients, sealing the audit trail, the ESMS
feed and webhooks) depend on the kind of account instead: they take the principal through one of
the account checks at the end of this module (``DirectoryManager``, ``AdminAccount``,
``EsmsClient``, or the check given to their audit, ``Audited(..., account=admin_account)``), which
answer 403 to any other account (and 401 without a token). A check that depends on the request
body (subscribing to one's own agenda) is a named function here too
(:func:`own_agenda_professional`).
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import Annotated, Any

from fastapi import Depends
from sqlalchemy import ColumnElement, Select, and_, exists, false, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth.deps import CurrentPrincipal
from server.auth.principal import Principal, PrincipalType
from server.errors import Forbidden, NotFound
from server.models import PPA, CercleMember, Person, Version
from server.models.identity import UserKind
from server.models.person import Role
from server.models.ppa import PPAStatus
from versions.chain import VALIDATED_KINDS


class Capability(StrEnum):
    SEE_PERSON = "see_person"
    """See the person's identity and cercle (any member not opposed)."""
    READ = "read"
    """Read the live (draft) document."""
    READ_VALIDATED = "read_validated"
    """Read validated versions and their exports."""
    EDIT = "edit"
    """Edit the whole document; create PPAs."""
    EDIT_OWN_FIELDS = "edit_own_fields"
    """Write only the person's own expression fields."""
    VALIDATE = "validate"
    MANAGE_CERCLE = "manage_cercle"
    OPPOSE = "oppose"
    """Record the person's opposition to sharing with a member."""
    READ_HISTORY = "read_history"
    READ_AUDIT = "read_audit"


C = Capability
ROLE_CAPABILITIES: dict[Role, frozenset[Capability]] = {
    Role.COORDINATOR: frozenset(
        {
            C.SEE_PERSON,
            C.READ,
            C.READ_VALIDATED,
            C.EDIT,
            C.EDIT_OWN_FIELDS,
            C.VALIDATE,
            C.MANAGE_CERCLE,
            C.OPPOSE,
            C.READ_HISTORY,
        }
    ),
    Role.CONTRIBUTOR: frozenset(
        {C.SEE_PERSON, C.READ, C.READ_VALIDATED, C.EDIT, C.EDIT_OWN_FIELDS, C.READ_HISTORY}
    ),
    Role.READER: frozenset({C.SEE_PERSON, C.READ, C.READ_VALIDATED, C.READ_HISTORY}),
    Role.PERSON: frozenset(
        {C.SEE_PERSON, C.READ, C.READ_VALIDATED, C.EDIT_OWN_FIELDS, C.OPPOSE, C.READ_HISTORY}
    ),
    Role.AIDANT: frozenset(
        {C.SEE_PERSON, C.READ, C.READ_VALIDATED, C.EDIT_OWN_FIELDS, C.READ_HISTORY}
    ),
    Role.ESMS: frozenset({C.SEE_PERSON, C.READ_VALIDATED}),
    Role.AUDITOR: frozenset({C.SEE_PERSON, C.READ_VALIDATED, C.READ_HISTORY, C.READ_AUDIT}),
}


def roles_with(capability: Capability) -> list[str]:
    return [role.value for role, caps in ROLE_CAPABILITIES.items() if capability in caps]


def capabilities_of(role: str | None) -> frozenset[Capability]:
    if role is None:
        return frozenset()
    try:
        return ROLE_CAPABILITIES[Role(role)]
    except ValueError:
        return frozenset()


def is_member(principal: Principal) -> ColumnElement[bool]:
    """SQL condition: this cercle_members row designates the principal."""
    if principal.type is PrincipalType.API_CLIENT:
        return CercleMember.api_client_id == principal.id
    conditions: list[ColumnElement[bool]] = [CercleMember.user_id == principal.id]
    if principal.professional_id is not None:
        conditions.append(CercleMember.professional_id == principal.professional_id)
    return or_(*conditions)


def _membership(principal: Principal, person_id: Any, capability: Capability) -> Any:
    """EXISTS: the principal is an unopposed member of the person's cercle with the capability."""
    member = and_(
        CercleMember.person_id == person_id,
        is_member(principal),
        CercleMember.role.in_(roles_with(capability)),
        CercleMember.opposed.is_(False),
    )
    opposed = and_(
        CercleMember.person_id == person_id,
        is_member(principal),
        CercleMember.opposed.is_(True),
    )
    return and_(exists().where(member), ~exists().where(opposed))


def persons_with(principal: Principal, capability: Capability) -> Select[Person]:
    return select(Person).where(_membership(principal, Person.id, capability))


def ppa_condition(principal: Principal, capability: Capability) -> ColumnElement[bool]:
    condition = _membership(principal, PPA.person_id, capability)
    if capability is Capability.READ_VALIDATED:
        # Members who read drafts read everything; esms and auditors only what was validated.
        validated = PPA.status.in_([PPAStatus.VALIDATED.value, PPAStatus.SUPERSEDED.value])
        return or_(
            _membership(principal, PPA.person_id, Capability.READ),
            and_(condition, or_(validated, PPA.locked.is_(True))),
        )
    return condition  # type: ignore[no-any-return]


def ppas_with(principal: Principal, capability: Capability) -> Select[PPA]:
    return select(PPA).where(ppa_condition(principal, capability))


def members_with(principal: Principal, capability: Capability) -> Select[CercleMember]:
    return select(CercleMember).where(_membership(principal, CercleMember.person_id, capability))


async def get_person(
    session: AsyncSession, principal: Principal, person_id: str, capability: Capability
) -> Person:
    person = await session.scalar(persons_with(principal, capability).where(Person.id == person_id))
    if person is not None:
        return person
    if capability is not Capability.SEE_PERSON and await session.scalar(
        persons_with(principal, Capability.SEE_PERSON).where(Person.id == person_id)
    ):
        raise Forbidden("Votre rôle dans le cercle ne permet pas cette action.")
    raise NotFound("Personne introuvable (ou non partagée avec vous).")


async def get_ppa(
    session: AsyncSession, principal: Principal, ppa_id: str, capability: Capability
) -> PPA:
    ppa = await session.scalar(ppas_with(principal, capability).where(PPA.id == ppa_id))
    if ppa is not None:
        return ppa
    visible = await session.scalar(
        select(PPA.id).where(
            PPA.id == ppa_id, _membership(principal, PPA.person_id, Capability.SEE_PERSON)
        )
    )
    if visible is not None:
        raise Forbidden("Votre rôle dans le cercle ne permet pas cette action sur ce PPA.")
    raise NotFound("PPA introuvable (ou non partagé avec vous).")


async def role_for_person(
    session: AsyncSession, principal: Principal, person_id: str
) -> Role | None:
    """The principal's effective role in the person's cercle (``None`` if absent or opposed)."""
    rows = (
        await session.execute(
            select(CercleMember.role, CercleMember.opposed).where(
                CercleMember.person_id == person_id, is_member(principal)
            )
        )
    ).all()
    return _effective_role(rows)


async def role_value(session: AsyncSession, principal: Principal, person_id: str) -> str | None:
    """:func:`role_for_person` as the value traces and answers carry."""
    role = await role_for_person(session, principal, person_id)
    return role.value if role else None


def _effective_role(rows: Iterable[tuple[str, bool]]) -> Role | None:
    """The strongest role of the principal's rows in one cercle; ``None`` if any is opposed."""
    rows = list(rows)
    if not rows or any(opposed for _role, opposed in rows):
        return None
    order = list(Role)
    return min((Role(role) for role, _ in rows), key=order.index)


async def roles_for_persons(
    session: AsyncSession, principal: Principal, person_ids: Iterable[str]
) -> dict[str, str | None]:
    """:func:`role_for_person` for several persons in one query (person id -> role value)."""
    rows: dict[str, list[tuple[str, bool]]] = {person_id: [] for person_id in person_ids}
    if not rows:
        return {}
    # Every membership of the principal (one row per cercle it is in): no IN list to bound.
    for person_id, role, opposed in await session.execute(
        select(CercleMember.person_id, CercleMember.role, CercleMember.opposed).where(
            is_member(principal)
        )
    ):
        if person_id in rows:
            rows[person_id].append((role, opposed))
    roles = {person_id: _effective_role(found) for person_id, found in rows.items()}
    return {person_id: role.value if role else None for person_id, role in roles.items()}


class VersionUse(StrEnum):
    """What a principal does with a stored version."""

    READ = "read"
    """Read it, diff it, list it in the history and the audit bundle."""
    EXPORT = "export"
    """Download it as a file (PDF, DOCX, CDA, FHIR...)."""


def version_capability(validated: bool, use: VersionUse) -> Capability:
    """The one rule on stored versions: the capability ``use`` of a version needs.

    A validated version (validation or avenant) is read and exported with ``read_validated``
    (ESMS software, auditors and every member reading drafts). Any other version (checkpoint,
    named, restore, revision) is read with ``read_history`` (auditors review the whole history)
    but exported only with ``read`` (members reading drafts): an auditor exports validated
    versions only.
    """
    if validated:
        return Capability.READ_VALIDATED
    return Capability.READ_HISTORY if use is VersionUse.READ else Capability.READ


VALIDATED_KIND_VALUES = tuple(sorted(kind.value for kind in VALIDATED_KINDS))


def version_condition(principal: Principal, use: VersionUse) -> ColumnElement[bool]:
    """SQL condition on ``versions`` (any query naming ``Version.kind`` and ``Version.ppa_id``):
    :func:`version_capability` for the principal."""

    def persons(capability: Capability) -> Any:
        return persons_with(principal, capability).with_only_columns(Person.id)

    def with_capability(capability: Capability) -> ColumnElement[bool]:
        ppa_ids = select(PPA.id).where(PPA.person_id.in_(persons(capability)))
        return Version.ppa_id.in_(ppa_ids)

    return or_(
        and_(
            Version.kind.in_(VALIDATED_KIND_VALUES),
            with_capability(version_capability(True, use)),
        ),
        with_capability(version_capability(False, use)),
    )


def nothing() -> ColumnElement[bool]:
    return false()


# Account checks for the routes not tied to one person's cercle: FastAPI dependencies that
# give the route its principal, or refuse with 403 (401 comes first without a valid token).


def _is_user(principal: Principal, *kinds: UserKind) -> bool:
    return principal.type is PrincipalType.USER and principal.kind in kinds


async def user_account(principal: CurrentPrincipal) -> Principal:
    """Any personal login (not a structure's software): its own notifications and settings."""
    if principal.type is not PrincipalType.USER:
        raise Forbidden("Réservé aux comptes personnels : un logiciel n'a pas de notifications.")
    return principal


async def professional_account(principal: CurrentPrincipal) -> Principal:
    """Professional accounts: register a person (and become the coordinator of their cercle)."""
    if not _is_user(principal, UserKind.PROFESSIONAL):
        raise Forbidden("Réservé aux professionnels connectés.")
    return principal


async def directory_manager(principal: CurrentPrincipal) -> Principal:
    """Professional and administrator accounts: the directory of structures and professionals."""
    if not _is_user(principal, UserKind.PROFESSIONAL, UserKind.ADMIN):
        raise Forbidden("Réservé aux professionnels et aux administrateurs connectés.")
    return principal


async def admin_account(principal: CurrentPrincipal) -> Principal:
    """Administrator accounts: API clients of the structures' software."""
    if not _is_user(principal, UserKind.ADMIN):
        raise Forbidden("Réservé aux administrateurs.")
    return principal


async def audit_sealer(principal: CurrentPrincipal) -> Principal:
    """Auditor and administrator accounts: seal the pending audit events into the log now."""
    if not _is_user(principal, UserKind.AUDITOR, UserKind.ADMIN):
        raise Forbidden("Seuls les comptes auditeur et administrateur peuvent sceller le journal.")
    return principal


async def esms_client(principal: CurrentPrincipal) -> Principal:
    """Structures' software (API clients): the feed of validated versions and the webhooks.

    Personal accounts are refused the feed too (least privilege): they read the same versions
    through the PPA routes, and the feed's cursor would tell any login how many versions the
    whole service has published.
    """
    if principal.type is not PrincipalType.API_CLIENT:
        raise Forbidden(
            "Réservé aux logiciels des structures (jeton d'API) : un compte personnel n'a accès "
            "ni au flux des versions validées ni aux webhooks."
        )
    return principal


def own_agenda_professional(principal: Principal) -> str:
    """The professional whose own agenda the principal may subscribe to (its own, if it is a
    professional's login); 403 otherwise."""
    if principal.professional_id is None:
        raise Forbidden("Seul un professionnel peut s'abonner à son propre agenda.")
    return principal.professional_id


UserAccount = Annotated[Principal, Depends(user_account)]
DirectoryManager = Annotated[Principal, Depends(directory_manager)]
AdminAccount = Annotated[Principal, Depends(admin_account)]
EsmsClient = Annotated[Principal, Depends(esms_client)]
