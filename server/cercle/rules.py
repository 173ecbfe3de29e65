"""Which account may be which kind of cercle member, with which role: one rule for adding a
member (``POST``) and for changing its role (``PATCH``)."""

from __future__ import annotations

from server.models.identity import UserKind
from server.models.person import MemberKind, Role

EXCLUSIVE_ROLES: dict[Role, MemberKind] = {
    Role.ESMS: MemberKind.STRUCTURE_SYSTEM,
    Role.PERSON: MemberKind.PERSON,
}
"""Roles held by one kind of member only."""

KIND_ROLES: dict[MemberKind, frozenset[Role]] = {
    MemberKind.STRUCTURE_SYSTEM: frozenset({Role.ESMS, Role.CONTRIBUTOR}),
    MemberKind.PERSON: frozenset({Role.PERSON}),
}
"""The only roles some kinds of member may hold: a structure's software reads the validated
versions (``esms``) or, granted by a coordinator, also writes the drafts (``contributor``: its DUI
as a co-editor, issue 13); the person is ``person``."""


def membership_problem(
    kind: MemberKind,
    role: Role,
    *,
    account_kind: str | None,
    professional_id: str | None,
) -> str | None:
    """French reason why a member of ``kind`` with ``role`` is refused (``None``: accepted).

    ``account_kind`` is the kind of the user account the member designates (``None`` for an
    API client or a professional without a login); ``professional_id`` the directory entry.
    Only the person's own account (an account of kind ``person``) is a member of kind ``person``,
    with the role ``person``; a structure's software is a ``structure_system`` with the role
    ``esms`` or ``contributor``; a professional's account is a ``professional`` member.
    """
    return role_problem(kind, role) or account_problem(
        kind, account_kind=account_kind, professional_id=professional_id
    )


def role_problem(kind: MemberKind, role: Role) -> str | None:
    """The part of the rule the request alone decides (documented in the request schema)."""
    for exclusive, holder in EXCLUSIVE_ROLES.items():
        if role is exclusive and kind is not holder:
            return (
                f"role : le rôle {exclusive.value} est réservé aux membres de type {holder.value}"
            )
    allowed = KIND_ROLES.get(kind)
    if allowed is not None and role not in allowed:
        names = " ou ".join(sorted(r.value for r in allowed))
        return f"role : un membre de type {kind.value} a le rôle {names}"
    return None


def account_problem(
    kind: MemberKind, *, account_kind: str | None, professional_id: str | None
) -> str | None:
    """The part of the rule that depends on the stored account the member designates."""
    if kind is MemberKind.PERSON and (account_kind != UserKind.PERSON or professional_id):
        return (
            "kind : seul le compte de la personne elle-même (compte de type person) peut être "
            "membre de type person"
        )
    if account_kind == UserKind.PERSON and kind is not MemberKind.PERSON:
        return "kind : le compte d'une personne accompagnée est membre de type person"
    if account_kind == UserKind.PROFESSIONAL and kind is not MemberKind.PROFESSIONAL:
        return "kind : un compte professionnel est membre de type professional"
    return None
