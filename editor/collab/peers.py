"""A room's connections (:class:`Peer`), the entries of its group commit and the notices it
sends."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING, Final, NamedTuple

from editor.collab.ports import (
    Channel,
    WritePolicy,
)
from editor.collab.protocol import (
    Notice,
    NoticeCode,
)

log = logging.getLogger(__name__)


if TYPE_CHECKING:
    from editor.collab.room import Room

READ_ONLY_NOTICE: Final = Notice(
    NoticeCode.READ_ONLY, "Lecture seule : vos modifications ne sont ni enregistrées ni transmises."
)
LOCKED_NOTICE: Final = Notice(NoticeCode.LOCKED, "Document verrouillé (validé) : lecture seule.")
REPAIRED_NOTICE: Final = Notice(
    NoticeCode.LAYOUT_REPAIRED,
    "Modification non conforme au schéma du document : elle a été corrigée.",
)
LAYOUT_REFUSED_NOTICE: Final = Notice(
    NoticeCode.LAYOUT_REFUSED,
    "Modification refusée : elle ne respecte pas la structure du document. Elle n'est ni "
    "enregistrée ni transmise. Rechargez la page pour continuer.",
)
"""Told to a writer whose write the schema guard refused."""
ILLEGAL_TEXT_NOTICE: Final = Notice(
    NoticeCode.ILLEGAL_TEXT,
    "Modification refusée : le texte contient un caractère interdit (caractère de contrôle, "
    "non-caractère Unicode ou demi-caractère isolé). Elle n'est ni enregistrée ni transmise. "
    "Rechargez la page pour continuer.",
)
"""Told to a writer whose write brings a character ``editor.text_rules`` refuses (the rule of
the REST inputs)."""
REFUSED_NOTICES: Final = {n.code: n for n in (LAYOUT_REFUSED_NOTICE, ILLEGAL_TEXT_NOTICE)}


class Peer:
    """The room's state of one connection."""

    __slots__ = (
        "_tokens",
        "_tokens_at",
        "ack_gen",
        "ack_pending",
        "awareness_ids",
        "backlog",
        "base_read_only",
        "channel",
        "closed",
        "last_ack",
        "policy",
        "room",
        "told_read_only",
        "user_id",
        "writes",
    )

    def __init__(
        self,
        room: Room,
        channel: Channel,
        now: float,
        burst: int,
        *,
        base_read_only: bool,
        policy: WritePolicy | None = None,
    ) -> None:
        self.room = room
        self.channel = channel
        self.user_id = channel.user_id
        self.base_read_only = base_read_only
        """Read-only whatever the lock (role, or a refused write): stays so after an unlock."""
        self.policy = policy
        self.writes = 0
        """Writes of this connection applied to the document."""
        self.awareness_ids: set[int] = set()
        self.backlog: list[bytes] | None = []
        """Relayed updates held until this connection got its sync step 2 (then ``None``), so
        that every client receives the document in causal order."""
        self.ack_gen = 0
        self.ack_pending = False
        self.last_ack = b""
        self.told_read_only = False
        self.closed = False
        self._tokens = float(burst)
        self._tokens_at = now

    @property
    def read_only(self) -> bool:
        return self.channel.read_only

    def receive(self, data: bytes) -> None:
        self.room.receive(self, data)

    def take_token(self, now: float, rate: float, burst: int) -> bool:
        tokens = min(float(burst), self._tokens + (now - self._tokens_at) * rate)
        self._tokens_at = now
        if tokens < 1.0:
            self._tokens = tokens
            return False
        self._tokens = tokens - 1.0
        return True


class Entry(NamedTuple):
    update: bytes
    author: str
    at: datetime
    peer: Peer | None
    own: bool
    """The effective change is exactly what the peer sent (nothing of others integrated with it),
    so the peer needs no copy of it."""
    client_ids: str | None = None
    """``update``'s client ids as stored, when already read (:class:`StoredUpdate`)."""
