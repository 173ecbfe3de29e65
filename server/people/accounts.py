"""Account administration shared by the admin routes and the ``ppa`` command line: deactivate or
reactivate a login, revoke an API client. The server refuses a deactivated user's tokens and
logins and a revoked client's token at the next request (server.auth.service).

Live collaboration connections opened before the change are closed (4401 with
:data:`DEACTIVATED_REASON` / :data:`REVOKED_REASON`) once it is committed: by the admin route
through :func:`end_live_sessions` (this server process, and the others over Redis when
``PPA_REDIS_URL`` is set), by the command line through :func:`end_live_sessions_from_cli`
(Redis only: without Redis, a ``ppa`` command cannot reach the server's connections, which stay
open until they disconnect; the admin route, called again, closes them)."""

from __future__ import annotations

from typing import Any, Protocol

from server.config import Settings
from server.db import utcnow
from server.models import ApiClient, User

ADMIN_ROLE = "admin"
"""The role of every trace of an account administration (account kind, not a cercle role)."""
DEACTIVATED_REASON = "Compte désactivé"
"""Close reason of a deactivated user's live connections."""
REVOKED_REASON = "Accès révoqué"
"""Close reason of a revoked API client's live connections."""


class LiveSessions(Protocol):
    """What ends a principal's live connections (:class:`server.collab.service.CollabService`)."""

    async def end_principal(self, principal_id: str, reason: str) -> int: ...


def user_action(active: bool) -> str:
    """The audit action of (re)activating or deactivating a login."""
    return "user.activate" if active else "user.deactivate"


def set_user_active(user: User, active: bool) -> bool:
    """Activate or deactivate ``user``; ``True`` when that changed anything."""
    if user.is_active == active:
        return False
    user.is_active = active
    return True


def revoke_client(client: ApiClient) -> bool:
    """Revoke ``client`` (its token stops working); ``True`` unless it was revoked already."""
    if client.revoked_at is not None:
        return False
    client.revoked_at = utcnow()
    return True


async def end_live_sessions(state: Any, principal_id: str, reason: str) -> None:
    """Close the live connections of ``principal_id`` through the app's collaboration engine
    (``state.collab``, if running). Call it after the change is committed: a connection closed
    earlier could reconnect with the still-valid token."""
    sessions: LiveSessions | None = getattr(state, "collab", None)
    if sessions is not None:
        await sessions.end_principal(principal_id, reason)


async def end_live_sessions_from_cli(settings: Settings, principal_id: str, reason: str) -> None:
    """From another process: ask the servers over Redis (no-op without ``PPA_REDIS_URL``)."""
    if settings.redis_url:
        from server.collab.fanout import publish_end_principal

        await publish_end_principal(
            settings.redis_url, settings.redis_channel_prefix, principal_id, reason
        )
