"""A browser's live connection lasts no longer than its session: logged out, deactivated, idle
or past its absolute end, the connection is closed (4401) within a minute. Frames received count
as use of the session (an editor typing for an hour without a REST call stays logged in)."""

from __future__ import annotations

from datetime import timedelta

import anyio

from server.auth.browser_session import BrowserSessionInfo, keep_alive
from server.config import Settings
from server.db import Database, utcnow

CHECK_SECONDS = 60.0
"""How often a live connection asks whether its session still runs."""
SESSION_ENDED_REASON = "Session terminée"


class SessionWatch:
    """Watch one connection's browser session; :meth:`used` on each frame it receives."""

    def __init__(self, db: Database, settings: Settings, info: BrowserSessionInfo) -> None:
        self.db = db
        self.settings = settings
        self.info = info
        self._used = False

    def used(self) -> None:
        self._used = True

    async def ended(self) -> None:
        """Return once the session has ended."""
        while True:
            left = (self.info.expires_at - utcnow()) / timedelta(seconds=1)
            await anyio.sleep(max(0.0, min(CHECK_SECONDS, left)))
            used, self._used = self._used, False
            if not await keep_alive(self.db, self.settings, self.info.id, used=used):
                return
