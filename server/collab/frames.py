"""What one collaboration connection does with each binary message it receives: through its
reading task, or called by uvicorn's protocol directly (the receive fast path,
:meth:`server.collab.channel.WebSocketChannel.receive_directly`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import structlog

from editor.collab.errors import CloseCode, SyncError
from editor.collab.room import Peer
from server.collab.channel import WebSocketChannel

if TYPE_CHECKING:
    from server.collab.service import Access

log = structlog.get_logger(__name__)


class Frames:
    """What one connection does with each binary message: through its reading task, or called
    by the protocol directly (:meth:`WebSocketChannel.receive_directly`)."""

    def __init__(
        self,
        peer: Peer,
        channel: WebSocketChannel,
        access: Access,
        on_frame: Callable[[], None] | None,
        trace_first_write: Callable[[], None],
    ) -> None:
        self.peer, self.channel, self.access = peer, channel, access
        self.on_frame = on_frame
        self.trace_first_write: Callable[[], None] | None = trace_first_write

    def received(self, data: bytes) -> None:
        if self.on_frame is not None:
            self.on_frame()
        self.peer.receive(data)
        if self.peer.writes and self.trace_first_write is not None:
            self.trace_first_write()
            self.trace_first_write = None

    def received_directly(self, data: bytes) -> None:
        """:meth:`received`, outside the reading task: its errors close the connection."""
        if self.channel.closing:
            return
        try:
            self.received(data)
        except SyncError as error:
            self.closed(error)
        except Exception:
            log.exception(
                "collab.receive_failed", ppa=self.access.ppa_id, user=self.access.principal.id
            )
            self.channel.close(CloseCode.INTERNAL_ERROR, "Erreur interne, reconnexion")

    def closed(self, error: SyncError) -> None:
        access = self.access
        log.info("collab.closed", ppa=access.ppa_id, user=access.principal.id, code=int(error.code))
        self.channel.close(error.code, error.reason)
