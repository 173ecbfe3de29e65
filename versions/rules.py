"""Which validation rules a validated version was checked against (docs/domain-rules.md).

A validated version is never rewritten: a rule added later does not apply to it. So that a
reader (an auditor, a structure importing it) can tell, a version validated now records the
edition of the rules it was validated under (``versions.rules_edition``); one stored before that
column has none, and is said to predate every rule, since the database kept no trace of which of
them (shipped over several releases) were in force on its day.
"""

from __future__ import annotations

from collections.abc import Mapping

from versions.chain import VALIDATED_KINDS, VersionKind

RULES: tuple[int, ...] = tuple(range(1, 10))
"""The numbered rules of docs/domain-rules.md (issue 19's numbering)."""

RULES_EDITION = 1
"""The edition a version validated now is checked against."""

RULES_OF_EDITION: Mapping[int, frozenset[int]] = {1: frozenset(RULES)}
"""The rules each edition applies (a later edition adds its rules here)."""


def edition_for(kind: VersionKind) -> int | None:
    """The edition to record with a new version of ``kind``: validated kinds only (a draft's
    checkpoint is checked by nothing; the rules apply when it is validated)."""
    return RULES_EDITION if kind in VALIDATED_KINDS else None


def predated_rules(kind: str, edition: int | None) -> list[int]:
    """The rules a version of ``kind`` validated under ``edition`` was not checked against:
    none for an unvalidated kind, every rule for a validated version stored without edition."""
    if kind not in {k.value for k in VALIDATED_KINDS}:
        return []
    applied = RULES_OF_EDITION.get(edition, frozenset()) if edition is not None else frozenset()
    return [rule for rule in RULES if rule not in applied]
