"""The bounded token diff: its runs are true common runs, in order; unchanged ends and unique
words are matched; the work stays bounded on the repetitive input that makes difflib cubic."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from editor.crdt import content_to_doc, doc_to_content, write_content
from editor.schema import PPAContent
from editor.text_diff import DEFAULT_BUDGET, matching_runs, patience_runs
from versions.diff import word_diff

tokens = st.lists(st.sampled_from(["la ", "le ", "chat ", "dort ", ", ", "maison ", "\n"]))


def _check(old: list[str], new: list[str], runs: list[tuple[int, int, int]]) -> None:
    i = j = 0
    for a, b, size in runs:
        assert size > 0
        assert a >= i
        assert b >= j
        assert old[a : a + size] == new[b : b + size]
        i, j = a + size, b + size


@given(tokens, tokens)
def test_runs_are_common_and_in_order(old: list[str], new: list[str]) -> None:
    _check(old, new, matching_runs(old, new))
    _check(old, new, patience_runs(old, new))


@given(tokens, tokens)
def test_a_spent_budget_still_gives_true_runs(old: list[str], new: list[str]) -> None:
    _check(old, new, patience_runs(old, new, budget=3))


def test_unique_words_and_common_ends_are_matched() -> None:
    old = ["Aller", "au", "marché", "le", "mardi", "avec", "Karim", "puis", "rentrer"]
    new = ["Aller", "au", "marché", "le", "jeudi", "avec", "Karim", "puis", "rentrer", "seule"]
    for runs in (matching_runs(old, new), patience_runs(old, new)):
        kept = sum(size for _, _, size in runs)
        assert kept == len(old) - 1  # everything but "mardi"
        assert (0, 0, 4) in runs
    assert patience_runs(old, old) == [(0, 0, len(old))]
    assert patience_runs([], new) == []


class _Counting(list[str]):
    """A list that counts the tokens read through it."""

    reads = 0

    def __getitem__(self, key: Any) -> Any:
        found = super().__getitem__(key)
        type(self).reads += len(found) if isinstance(key, slice) else 1
        return found


def test_the_work_is_bounded_on_repetitive_words() -> None:
    """``"la la ..."`` against ``"le la ..."`` and nested repeats: difflib's matcher takes 8 s
    at 800 words (cubic); here the tokens read stay within a few times the budget plus the
    input, whatever the size."""
    n = 40_000
    cases = [
        (["la "] * n, ["le ", "la "] * (n // 2)),
        ([f"w{k % 7} " for k in range(n)], [f"w{k % 5} " for k in range(n)]),
        ([f"u{k} " if k % 3 else "x " for k in range(n)], [f"u{k} " for k in range(n)]),
    ]
    for old, new in cases:
        _Counting.reads = 0
        runs = matching_runs(_Counting(old), _Counting(new), budget=DEFAULT_BUDGET)
        _check(old, new, runs)
        assert _Counting.reads <= 8 * (DEFAULT_BUDGET + len(old) + len(new)), _Counting.reads


def test_the_versions_word_diff_rebuilds_both_texts_on_repetitive_input() -> None:
    old, new = "la " * 5_000, "le la " * 1_450
    segments = word_diff(old, new)
    assert "".join(s.text for s in segments if s.op != "insert") == old
    assert "".join(s.text for s in segments if s.op != "delete") == new


def test_a_live_write_of_repetitive_text_lands_whole() -> None:
    """The REST merge patch's text write (``editor.crdt.write_content``) on the input that made
    difflib cubic (about 6 minutes at this size under the word cap it had): the document holds
    exactly the new text."""
    content = PPAContent(projet_de_vie="la " * 2_900)
    doc = content_to_doc(content)
    write_content(doc, content.model_copy(update={"projet_de_vie": "le la " * 1_450}))
    assert doc_to_content(doc).projet_de_vie == "le la " * 1_450
