"""Demo notification settings: the coordinator's email address and a few choices of hers.

The demo's notices themselves come from its history (the validation and the avenant opened by
:mod:`server.demo.history` are told to the cercle like any other), so the bell is not empty.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from server.db import utcnow
from server.models import User
from server.models.notifications import NotificationContact, NotificationPreference

DEMO_EMAIL = "coordinatrice@demo.ppa.invalid"
DEMO_CHOICES = {
    "ppa.iteration": (["app", "email"], "daily"),
    "ppa.review_due": (["app", "email"], "weekly"),
}


async def seed_notification_settings(session: AsyncSession, coordinator: User) -> None:
    """Idempotent: a row already there (the demo seeded, or changed by hand) is kept."""
    now = utcnow()
    if await session.get(NotificationContact, coordinator.id) is None:
        session.add(
            NotificationContact(
                user_id=coordinator.id, email=DEMO_EMAIL, mobile_code_attempts=0, updated_at=now
            )
        )
    for nature, (channels, frequency) in DEMO_CHOICES.items():
        if await session.get(NotificationPreference, (coordinator.id, nature)) is None:
            session.add(
                NotificationPreference(
                    user_id=coordinator.id,
                    nature=nature,
                    channels=channels,
                    frequency=frequency,
                    updated_at=now,
                )
            )
    await session.flush()
