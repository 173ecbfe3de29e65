"""A token diff whose cost is bounded whatever the texts (patience diff with a work budget).

:class:`difflib.SequenceMatcher` is cubic on repetitive input (800 words of ``"la la ..."``
against ``"le la ..."``: 8 s; 3,000: minutes), and the texts diffed here are written by anyone
who may edit a PPA: a live write (REST merge patch) and the versions' diff must not hold the
server. Here tokens unique on both sides anchor the match (kept in order by a longest increasing
subsequence), the regions between anchors are diffed the same way, common ends are kept; a
region without anchor, or met once the budget is spent, is left unmatched (rewritten whole).
The work is at most about ``budget`` token visits plus sorting.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter
from collections.abc import Sequence
from difflib import SequenceMatcher

DEFAULT_BUDGET = 200_000
"""Token visits allowed for one diff (about 0.1 s of Python at worst)."""
SMALL = 10_000
"""Up to this product of the lengths, difflib's matcher (longest common runs first: the nicest
diff) is used; its worst case there is about 30 ms."""


def matching_runs(
    old: Sequence[str], new: Sequence[str], budget: int = DEFAULT_BUDGET
) -> list[tuple[int, int, int]]:
    """Runs ``(i, j, size)`` with ``old[i:i+size] == new[j:j+size]``, increasing in ``i`` and
    ``j`` (as :meth:`difflib.SequenceMatcher.get_matching_blocks`, without its final sentinel):
    difflib's for short texts, :func:`patience_runs` beyond."""
    if len(old) * len(new) <= SMALL:
        # No autojunk: it would make frequent words (articles) unable to join a match.
        matcher = SequenceMatcher(None, old, new, autojunk=False)
        return [(a, b, size) for a, b, size in matcher.get_matching_blocks() if size]
    return patience_runs(old, new, budget)


def patience_runs(
    old: Sequence[str], new: Sequence[str], budget: int = DEFAULT_BUDGET
) -> list[tuple[int, int, int]]:
    """:func:`matching_runs` by the bounded patience diff, whatever the lengths."""
    pairs: list[tuple[int, int]] = []
    regions = [(0, len(old), 0, len(new))]
    while regions:
        alo, ahi, blo, bhi = regions.pop()
        while alo < ahi and blo < bhi and old[alo] == new[blo]:
            pairs.append((alo, blo))
            alo, blo = alo + 1, blo + 1
        while alo < ahi and blo < bhi and old[ahi - 1] == new[bhi - 1]:
            ahi, bhi = ahi - 1, bhi - 1
            pairs.append((ahi, bhi))
        if alo == ahi or blo == bhi:
            continue
        budget -= (ahi - alo) + (bhi - blo)
        if budget < 0:
            continue
        in_old = Counter(old[alo:ahi])
        in_new = Counter(new[blo:bhi])
        where = {new[j]: j for j in range(blo, bhi) if in_new[new[j]] == 1}
        unique = [
            (i, where[old[i]]) for i in range(alo, ahi) if in_old[old[i]] == 1 and old[i] in where
        ]
        # the unique pairs, in old's order, that are in new's order too
        anchors = [unique[k] for k in longest_increasing([j for _, j in unique])]
        for i, j in anchors:
            regions.append((alo, i, blo, j))
            pairs.append((i, j))
            alo, blo = i + 1, j + 1
        if anchors:
            regions.append((alo, ahi, blo, bhi))
    pairs.sort()
    runs: list[tuple[int, int, int]] = []
    for i, j in pairs:
        if runs and runs[-1][0] + runs[-1][2] == i and runs[-1][1] + runs[-1][2] == j:
            runs[-1] = (runs[-1][0], runs[-1][1], runs[-1][2] + 1)
        else:
            runs.append((i, j, 1))
    return runs


def longest_increasing(positions: Sequence[int]) -> list[int]:
    """Indexes (into ``positions``, in order) of a longest strictly increasing subsequence
    (patience sorting, n log n)."""
    tails: list[int] = []
    tail_at: list[int] = []
    before = [-1] * len(positions)
    for k, value in enumerate(positions):
        pos = bisect_left(tails, value)
        if pos == len(tails):
            tails.append(value)
            tail_at.append(k)
        else:
            tails[pos] = value
            tail_at[pos] = k
        before[k] = tail_at[pos - 1] if pos else -1
    out: list[int] = []
    k = tail_at[-1] if tail_at else -1
    while k >= 0:
        out.append(k)
        k = before[k]
    return out[::-1]
