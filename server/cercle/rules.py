"""Which account may be which kind of cercle member, with which role: one rule for adding a
member (``POST``) and for changing its role (``PATCH``)."""

from __future__ import annotations

from server.models.identity import UserKind
from server.models.person import MeasureScope, MemberKind, ProtectionMeasure, Role

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


MEASURE_LABELS: dict[ProtectionMeasure, str] = {
    ProtectionMeasure.TUTELLE: "tutelle",
    ProtectionMeasure.CURATELLE: "curatelle",
    ProtectionMeasure.CURATELLE_RENFORCEE: "curatelle renforcée",
    ProtectionMeasure.HABILITATION_FAMILIALE: "habilitation familiale",
    ProtectionMeasure.MANDAT_PROTECTION_FUTURE: "mandat de protection future",
}
"""French name of each measure."""


def measure_problem(
    kind: MemberKind, measure: ProtectionMeasure | None, scope: MeasureScope | None
) -> str | None:
    """French reason why a member's measure is refused (``None``: accepted): a legal
    representative states his measure, no one else holds one."""
    if kind is MemberKind.LEGAL_REPRESENTATIVE and measure is None:
        return (
            "mesure : indiquez la mesure de protection du représentant légal (tutelle, "
            "curatelle, curatelle renforcée, habilitation familiale, mandat de protection future)"
        )
    if kind is not MemberKind.LEGAL_REPRESENTATIVE and (measure is not None or scope is not None):
        return "mesure : seul un représentant légal (kind legal_representative) a une mesure"
    return None


def agreement_required(measure: str | None, scope: str | None) -> bool:
    """Whether a legal representative's agreement is needed to validate the PPA: when his
    measure covers the person (not her property alone), or when what it covers is not said
    (docs/domain-rules.md, rule 3: a reading of Code civil art. 457-1 to 459 and CASF L311-3,
    L311-4)."""
    del measure  # every measure listed may cover the person: the scope decides
    return scope != MeasureScope.BIENS.value
