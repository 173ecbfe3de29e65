"""Timelines (rule 6) with a controlled clock: the first PPA 6 months after admission, the yearly
review 12 months after the last full validation (an avenant does not reset it), échu."""

from __future__ import annotations

from datetime import date

from versions.timeline import (
    FirstPpaStatus,
    echu_reasons,
    effective_next_review,
    first_ppa,
    first_ppa_deadline,
    yearly_review_deadline,
)

ADMISSION = date(2026, 3, 16)


def test_the_first_ppa_is_due_6_months_after_admission() -> None:
    assert first_ppa_deadline(ADMISSION) == date(2026, 9, 16)
    assert first_ppa_deadline(date(2026, 8, 31)) == date(2027, 2, 28)  # end of a short month
    on_deadline = first_ppa(date(2026, 9, 16), ADMISSION, None)
    assert (on_deadline.deadline, on_deadline.status) == (date(2026, 9, 16), FirstPpaStatus.DUE)
    assert "au plus tard le 16/09/2026" in on_deadline.message
    late = first_ppa(date(2026, 9, 17), ADMISSION, None)
    assert late.status is FirstPpaStatus.OVERDUE
    assert late.message == (
        "Aucun PPA validé : il devait l'être au plus tard le 16/09/2026 "
        "(6 mois après l'admission du 16/03/2026)."
    )


def test_a_validated_first_ppa_and_an_unknown_admission() -> None:
    done = first_ppa(date(2027, 1, 1), ADMISSION, date(2026, 9, 1))
    assert (done.status, done.message) == (
        FirstPpaStatus.VALIDATED,
        "Premier PPA validé le 01/09/2026.",
    )
    assert "hors délai" in first_ppa(date(2027, 1, 1), ADMISSION, date(2026, 10, 1)).message
    unknown = first_ppa(date(2027, 1, 1), None, None)
    assert (unknown.deadline, unknown.status) == (None, FirstPpaStatus.UNKNOWN)


def test_the_yearly_review_is_counted_from_the_full_validation() -> None:
    full = date(2026, 1, 10)
    assert yearly_review_deadline(full) == date(2027, 1, 10)
    # an avenant validated on 2026-07-01 planning the review on 2027-06-30: still 10/01/2027
    assert effective_next_review(full, date(2027, 6, 30)) == date(2027, 1, 10)
    assert effective_next_review(full, date(2026, 12, 1)) == date(2026, 12, 1)  # earlier: kept
    assert effective_next_review(full, None) == date(2027, 1, 10)
    assert effective_next_review(None, date(2026, 12, 1)) == date(2026, 12, 1)


def test_echu_after_the_period_or_the_review() -> None:
    end, review = date(2026, 12, 31), date(2026, 12, 15)
    assert echu_reasons(date(2026, 12, 15), end, review) == []
    assert echu_reasons(date(2026, 12, 16), end, review) == [
        "La révision était prévue au plus tard le 15/12/2026."
    ]
    assert echu_reasons(date(2027, 1, 1), end, review) == [
        "La période du projet est terminée depuis le 31/12/2026.",
        "La révision était prévue au plus tard le 15/12/2026.",
    ]
    assert echu_reasons(date(2030, 1, 1), None, None) == []
