"""Notice codes of the PPA server (the engine's own are :class:`editor.collab.protocol.NoticeCode`).

Every notice a connection receives is an :class:`editor.collab.protocol.Notice`; the browser
editor decides on its code (``editor/web/src/collab/notices.js``), people read its message.
The table of every code is in ``docs/collaboration.md``.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

from editor.collab.protocol import NoticeCode


class PpaNoticeCode(StrEnum):
    """Codes of the notices the PPA server adds to the engine's."""

    OWN_FIELDS_ONLY = "own_fields_only"
    """A person's or aidant's write outside their own fields was refused; read-only."""
    AVENANT_SCOPE = "avenant_scope"
    """A write beyond an avenant's scope (docs/domain-rules.md, rule 4) was refused; read-only."""
    WRITE_INCOMPLETE = "write_incomplete"
    """A write that depends on content unknown to the server was refused; read-only."""
    RIGHTS_REDUCED = "rights_reduced"
    """A change of the cercle reduced the connection's rights: read-only for good."""
    RIGHTS_CHANGED = "rights_changed"
    """A change of the cercle gives more rights to a new connection: reconnect to get them."""


ALL_NOTICE_CODES: Final = frozenset([*NoticeCode, *PpaNoticeCode])
"""Every code a connection of this server may be told."""
