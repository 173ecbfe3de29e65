"""Serving (late) joiners: the reply to a sync step 1, encoded in a worker thread
(:class:`~editor.collab.served.ServedDocument`) and sent once what it holds is durable."""

from __future__ import annotations

import logging

import anyio

from editor.collab.errors import (
    CloseCode,
)
from editor.collab.peers import Peer
from editor.collab.protocol import (
    decode_state_vector,
)
from editor.collab.room_core import RoomCore
from editor.collab.served import ServedDocument

log = logging.getLogger(__name__)


class ServingMixin(RoomCore):
    def _on_sync_step1(self, peer: Peer, state_vector: bytes) -> None:
        """Answer with the whole document as of now, diffed against ``state_vector``, in one
        sync step 2 encoded in a worker thread (:class:`ServedDocument`) and sent once what it
        holds is committed (only durable content may be shown)."""
        decode_state_vector(state_vector)  # raises MalformedMessageError
        self._served.request(peer, state_vector)
        self._start_refresh()

    def _start_refresh(self) -> None:
        if not self._refreshing and self._task_group is not None:
            self._refreshing = True
            self._refreshed = anyio.Event()
            self._task_group.start_soon(self._refresh_served)

    async def _refresh_served(self) -> None:
        """The work of :class:`ServedDocument`, one job at a time, in a worker thread; each
        reply is sent once the writes applied before its job started are committed."""
        failures = 0
        try:
            while (job := (served := self._served).next_job()) is not None:
                gen = self._applied_gen  # the job holds every transaction applied so far
                try:
                    install = await anyio.to_thread.run_sync(job)
                except Exception:
                    failures += 1
                    log.exception("collab.room.served_failed ppa=%s", self.ppa_id)
                    # The replica missed what the job held: start again from the document
                    # (encoded here, once), with the requests the job was to answer.
                    self._served = ServedDocument([self.doc.get_update()])
                    for peer, state_vector in [*served.in_flight, *served.requests]:
                        if failures > 1:
                            self._drop(peer, CloseCode.INTERNAL_ERROR, "Erreur interne")
                        else:
                            self._served.request(peer, state_vector)
                    continue
                if self._served is not served or self.broken:
                    continue
                for peer, reply in install():
                    if peer.closed:
                        continue
                    if reply is None:
                        self._drop(peer, CloseCode.MALFORMED_MESSAGE, "Vecteur d'état illisible")
                    elif self._committed_gen >= gen:
                        self._send_step2(peer, [reply])
                    else:
                        self._deferred.append((gen, peer, [reply]))
        finally:
            self._refreshing = False
            self._refreshed.set()
