"""Which rules a validated version was checked against (versions.rules, issue 19: "old versions
show which rules they predate")."""

from __future__ import annotations

from versions.chain import VersionKind
from versions.rules import RULES, RULES_EDITION, edition_for, predated_rules


def test_only_validated_kinds_record_the_edition() -> None:
    assert edition_for(VersionKind.VALIDATED) == RULES_EDITION
    assert edition_for(VersionKind.AVENANT) == RULES_EDITION
    assert edition_for(VersionKind.CHECKPOINT) is None
    assert edition_for(VersionKind.NAMED) is None


def test_a_version_validated_now_predates_no_rule() -> None:
    assert RULES == (1, 2, 3, 4, 5, 6, 7, 8, 9)
    assert predated_rules("validated", RULES_EDITION) == []
    assert predated_rules("avenant", RULES_EDITION) == []


def test_a_validated_version_without_edition_predates_every_rule() -> None:
    assert predated_rules("validated", None) == list(RULES)
    assert predated_rules("avenant", None) == list(RULES)
    assert predated_rules("validated", RULES_EDITION + 1) == list(RULES)  # unknown here


def test_a_drafts_version_is_checked_by_nothing_and_predates_nothing() -> None:
    assert predated_rules("checkpoint", None) == []
    assert predated_rules("named", None) == []
