"""How a room uses its schema guard: every write judged before it is applied, and the checks of
what could not be judged exactly (text-only writes, content integrated later)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Generic, NamedTuple, TypeVar

from pycrdt import Doc

from editor.collab.ports import ILLEGAL_CHARACTER, SchemaGuard
from editor.collab.protocol import NoticeCode
from editor.collab.updates import client_ids_text, text_edit_scan

W = TypeVar("W")


class Verdict(NamedTuple):
    refused: NoticeCode | None
    """``None`` to apply the write, else the code of the notice of its refusal
    (``LAYOUT_REFUSED``, or ``ILLEGAL_TEXT`` for a character no text may hold)."""
    text_edit: bool
    """The write only inserts characters into texts and deletes (judged by its strings only)."""
    problems: str = ""
    """The codes of the violations found (:func:`codes`), for a log line."""
    client_ids: str | None = None
    """The client ids of an accepted text edit, read by the same scan (as the update log keeps
    them, :func:`~editor.collab.updates.client_ids_text`); ``None`` for other writes."""


def codes(violations: Sequence[str]) -> str:
    """The distinct codes of ``path:code`` violations, for a log line (paths may hold names a
    client chose: they are not logged)."""
    return ",".join(sorted({v.rpartition(":")[2] for v in violations}))


class GuardGate(Generic[W]):
    """Judges every write with the guard before the room applies it, and says when the whole
    document must be checked again (``W``: whoever the room tells of a repair).

    A write that only inserts characters into existing texts or deletes (:func:`text_edit_strings`,
    a scan of the update bytes) is judged by its strings alone; any other write is applied to a
    scratch copy of the document and the result is judged (``SchemaGuard.check_update``). What
    cannot be judged exactly is checked in full later: a text-only write within ``interval``
    seconds (a crafted delete of an ``id`` key looks like one), a write whose effect was not
    exactly the judged update (pending content of others integrated with it) at the next commit.
    """

    def __init__(
        self, guard: SchemaGuard, interval: Callable[[], float], monotonic: Callable[[], float]
    ) -> None:
        self.guard = guard
        self._interval = interval
        self._monotonic = monotonic
        self._writers: dict[W, None] = {}
        self._forced = False
        self._skipped = False
        self._checked_at = monotonic()

    def judge(self, doc: Doc[Any], update: bytes) -> Verdict:
        """Raises :class:`~editor.collab.errors.MalformedMessageError` for bytes no document can
        integrate."""
        guard = self.guard
        clients: list[int] = []
        strings = text_edit_scan(update, guard.text_roots, clients)
        if strings is not None:
            violations = guard.check_strings(strings)
            if not violations:
                return Verdict(None, True, "", client_ids_text(clients))
        else:
            violations = guard.check_update(doc, update)
        if not violations:
            return Verdict(None, False)
        refused = (
            NoticeCode.ILLEGAL_TEXT
            if any(v.endswith(f":{ILLEGAL_CHARACTER}") for v in violations)
            else NoticeCode.LAYOUT_REFUSED
        )
        return Verdict(refused, strings is not None, codes(violations))

    def applied(self, writer: W | None, *, text_edit: bool, exact: bool) -> None:
        """Note a judged write (``writer``) or content nobody's write held (``None``: held
        updates integrated later) applied to the document; ``exact``: the document changed by
        exactly the judged update."""
        if exact and text_edit:
            self._skipped = True
        elif not exact:
            self._forced = True
            if writer is not None:
                self._writers[writer] = None

    def due(self) -> list[W] | None:
        """``None`` when no full check is due now, else the writers to tell if it repairs."""
        periodic = self._skipped and (self._monotonic() - self._checked_at >= self._interval())
        if not self._forced and not periodic:
            return None
        writers = list(self._writers)
        self._writers = {}
        self._forced = False
        self._skipped = False
        self._checked_at = self._monotonic()
        return writers
