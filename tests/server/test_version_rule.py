"""The one rule on stored versions (``server.authz.version_capability``), role by role.

Auditors review the whole history (every version, drafts' checkpoints included, their diffs and
the audit bundle) and export validated versions only; ESMS software reads and exports validated
versions only; members reading drafts read and export everything."""

from __future__ import annotations

import pytest

from server.authz import VersionUse, capabilities_of, version_capability
from server.models.person import Role

R, E = VersionUse.READ, VersionUse.EXPORT
TABLE: dict[Role, dict[tuple[bool, VersionUse], bool]] = {
    role: {
        (True, R): True,
        (True, E): True,
        (False, R): role is not Role.ESMS,
        (False, E): role not in (Role.ESMS, Role.AUDITOR),
    }
    for role in Role
}
"""role -> (validated version?, use) -> allowed."""


@pytest.mark.parametrize("role", list(Role))
def test_version_rule(role: Role) -> None:
    for (validated, use), allowed in TABLE[role].items():
        granted = version_capability(validated, use) in capabilities_of(role.value)
        assert granted is allowed, (role, validated, use)
