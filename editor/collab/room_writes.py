"""A room's writes: admitted (read-only, rate, size, policy, schema guard), applied, held
while pending, and repaired by the schema guard."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Final

from pycrdt import get_update

from editor.collab.errors import (
    CloseCode,
    LimitExceededError,
    MalformedMessageError,
)
from editor.collab.guarding import Verdict, codes
from editor.collab.peers import (
    LOCKED_NOTICE,
    READ_ONLY_NOTICE,
    REFUSED_NOTICES,
    REPAIRED_NOTICE,
    Entry,
    Peer,
)
from editor.collab.ports import (
    GUARD_AUTHOR,
)
from editor.collab.protocol import (
    encode_notice,
)
from editor.collab.room_core import RoomCore
from editor.collab.updates import EMPTY_UPDATE

log = logging.getLogger(__name__)


_MAX_HELD: Final = 256
_UNGUARDED: Final = Verdict(None, False)
"""What :meth:`WritesMixin._admit` returns for a room without a schema guard."""


class WritesMixin(RoomCore):
    def _repair_loaded(self) -> None:
        """A document stored before its layout was enforced (or by a write that slipped by) is
        repaired as soon as it is loaded, in the first group commit."""
        entries = self._repair([])
        if entries:
            self.authors[GUARD_AUTHOR] = None
            for entry in entries:
                self._doc_bytes += len(entry.update)
            self._applied_gen += 1
            self._pending.extend(entries)
            self._request_commit()

    def _on_write(self, peer: Peer, update: bytes) -> None:
        if update == EMPTY_UPDATE:
            return
        verdict = self._admit(peer, update)
        if verdict is None:
            return
        if not self.uncommitted and self._durable_sv is None:
            self._durable_sv = self.doc.get_state()
        captured = self._apply(update)
        if captured is None:
            self._on_nothing_new(peer, update)
        else:
            self._accept(
                peer, update, captured, text_edit=verdict.text_edit, client_ids=verdict.client_ids
            )

    def _admit(self, peer: Peer, update: bytes) -> Verdict | None:
        """Whether ``peer`` may write ``update`` now: ``None`` if refused (the writer was told,
        or told before), else the verdict that admitted it (whether it is a text-only edit). Raises
        :class:`LimitExceededError` past a limit (the caller closes)."""
        if peer.channel.read_only:
            if not peer.told_read_only:
                peer.told_read_only = True
                peer.channel.send(encode_notice(LOCKED_NOTICE if self.locked else READ_ONLY_NOTICE))
            return None
        self._check_limits(peer, update)
        if peer.policy is not None:
            refusal = peer.policy.refuse(peer.room, update)
            if refusal is not None:
                peer.base_read_only = True
                peer.channel.read_only = True
                peer.told_read_only = True
                peer.channel.send(encode_notice(refusal))
                log.warning("collab.write.refused ppa=%s user=%s", self.ppa_id, peer.user_id)
                return None
        if self._gate is None:
            return _UNGUARDED
        verdict = self._gate.judge(self.doc, update)
        if verdict.refused is not None:
            self.restrict(peer, REFUSED_NOTICES[verdict.refused])
            log.warning(
                "collab.write.refused ppa=%s user=%s code=%s problems=%s",
                self.ppa_id,
                peer.user_id,
                verdict.refused,
                verdict.problems,
            )
            return None
        return verdict

    def _check_limits(self, peer: Peer, update: bytes) -> None:
        limits = self.limits
        if not peer.take_token(self._monotonic(), limits.updates_per_second, limits.update_burst):
            raise LimitExceededError("Trop de modifications par seconde", CloseCode.RATE_LIMITED)
        if self._doc_bytes + len(update) > limits.max_document_bytes:
            self._doc_bytes = len(self.doc.get_update())
            if self._doc_bytes + len(update) > limits.max_document_bytes:
                raise LimitExceededError("Document trop volumineux", CloseCode.DOCUMENT_TOO_LARGE)

    def _on_nothing_new(self, peer: Peer, update: bytes) -> None:
        # Nothing new: a duplicate (e.g. resent after a reconnection while the original is
        # still being committed) or content whose dependencies are missing (kept pending;
        # the durable state vector does not cover it, so the client resends it).
        self._hold_if_pending(peer, update)
        if self.uncommitted:
            peer.ack_gen = self._applied_gen
            peer.ack_pending = True
        else:
            self._ack(peer, self.durable_state_vector, None)

    def _accept(
        self,
        peer: Peer,
        update: bytes,
        captured: bytes,
        *,
        text_edit: bool,
        client_ids: str | None = None,
    ) -> None:
        """Queue the effective change ``captured`` of ``peer``'s ``update`` for the commit
        (``client_ids``: ``update``'s, when the guard read them)."""
        peer.writes += 1
        self.authors[peer.user_id] = None
        at = self._now()
        own = captured == update
        entries = [Entry(captured, peer.user_id, at, peer, own, client_ids if own else None)]
        if self._held:
            entries.extend(self._retry_held(at))
        if not own:  # the very bytes sent were integrated: nothing of it can be pending
            self._hold_if_pending(peer, update)
        for entry in entries:
            self._doc_bytes += len(entry.update)
        if self._gate is not None:
            self._gate.applied(peer, text_edit=text_edit, exact=own and len(entries) == 1)
        self._applied_gen += 1
        self._pending.extend(entries)
        peer.ack_gen = self._applied_gen
        peer.ack_pending = True
        self._request_commit()

    def _hold_if_pending(self, peer: Peer, update: bytes) -> None:
        # yrs (pycrdt 0.14) sometimes leaves pending structs unintegrated when their
        # dependencies arrive in a later update, where Yjs integrates them (see
        # tests/collab/test_upstream.py). Keep such updates (bounded) and apply them again after
        # the next write that integrates something.
        try:
            missing = get_update(update, self.doc.get_state())
        except ValueError:
            return
        if missing[:1] == b"\x00":
            return  # every struct is known: a duplicate
        self._held.append((update, peer.user_id))
        self._held_bytes += len(update)
        while self._held and (
            len(self._held) > _MAX_HELD or self._held_bytes > self.limits.max_message_bytes * 4
        ):
            dropped, _ = self._held.pop(0)
            self._held_bytes -= len(dropped)

    def _retry_held(self, at: datetime) -> list[Entry]:
        held, self._held, self._held_bytes = self._held, [], 0
        entries: list[Entry] = []
        for update, author in held:
            captured = self._apply(update)
            if captured is not None:
                entries.append(Entry(captured, author, at, None, False))
            else:
                missing = get_update(update, self.doc.get_state())
                if missing[:1] != b"\x00":
                    self._held.append((update, author))
                    self._held_bytes += len(update)
        if entries:
            log.info("collab.room.pending_integrated ppa=%s count=%d", self.ppa_id, len(entries))
            if self._gate is not None:  # never judged as they are now: check at this commit
                self._gate.applied(None, text_edit=False, exact=False)
        return entries

    def _guard_batch(self) -> list[Entry]:
        """The full check when one is due (:class:`GuardGate`), repaired in the same group
        commit, so that only the repaired document is ever relayed or stored."""
        if self._gate is None:
            return []
        writers = self._gate.due()
        return [] if writers is None else self._repair(writers)

    def _repair(self, writers: list[Peer]) -> list[Entry]:
        """Check the whole document; repair it with a compensating update (author
        :data:`GUARD_AUTHOR`), telling ``writers``; returns its entries."""
        if self._gate is None:
            return []
        guard = self._gate.guard
        violations = guard.check(self.doc)
        if not violations:
            return []
        log.warning(
            "collab.guard.violation ppa=%s writers=%s count=%d problems=%s",
            self.ppa_id,
            ",".join(p.user_id for p in writers),
            len(violations),
            codes(violations),
        )
        repair = guard.repair(self.doc)
        captured = None
        if repair is not None:
            try:
                captured = self._apply(repair)
            except MalformedMessageError:  # the room broke (a panic): it reloads from the store
                log.error("collab.guard.repair_refused ppa=%s", self.ppa_id)
        remaining = guard.check(self.doc)
        if remaining:
            log.error(
                "collab.guard.unrepaired ppa=%s count=%d problems=%s",
                self.ppa_id,
                len(remaining),
                codes(remaining),
            )
        notice = encode_notice(REPAIRED_NOTICE)
        for peer in writers:
            if not peer.closed:
                peer.channel.send(notice)
        if captured is None:
            return []
        return [Entry(captured, GUARD_AUTHOR, self._now(), None, False)]
