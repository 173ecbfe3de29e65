"""Account administration shared by the admin routes and the ``ppa`` command line: deactivate or
reactivate a login, revoke an API client. The server refuses a deactivated user's tokens and
logins and a revoked client's token at the next request (server.auth.service)."""

from __future__ import annotations

from server.db import utcnow
from server.models import ApiClient, User

ADMIN_ROLE = "admin"
"""The role of every trace of an account administration (account kind, not a cercle role)."""


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
