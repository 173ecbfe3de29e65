"""A notice waits for its digest; before the digest goes, the person opposes one recipient and the
coordinator removes another from the cercle: neither is emailed anything about the person (nor
shown it in the bell), the others get their digest. A real SMTP server on loopback."""

from __future__ import annotations

import asyncio
from typing import Any

from server.notifications.service import Event, emit
from server.notifications.settings import NotificationSettings
from tests.server.helpers import build_cercle
from tests.server.notifications.support import module_server, smtp_server
from tests.server.notifications.test_digest import Clock, Process, utc
from tests.server.notifications.test_emission import notices_about

NATURE = "ppa.revision_started"
ADDRESSES = {
    "infirmier": "infirmier@example.org",
    "ergotherapeute": "ergotherapeute@example.org",
    "assistante-sociale": "assistante-sociale@example.org",
}


def test_opposed_or_removed_before_the_digest_gets_nothing(tmp_path: Any) -> None:
    with (
        smtp_server() as (sink, port),
        module_server(tmp_path, notify_enabled=False) as ms,
    ):
        for username, address in ADDRESSES.items():
            response = ms.api_as(username).put(
                "/api/me/notification-preferences",
                json={
                    "email": address,
                    "natures": [
                        {"nature": NATURE, "channels": ["app", "email"], "frequency": "daily"}
                    ],
                },
            )
            assert response.status_code == 200, response.text
        cercle = build_cercle(ms.api_as, ms.demo)
        settings = NotificationSettings(smtp_host="127.0.0.1", smtp_port=port, smtp_starttls=False)
        # Tuesday 12 January 2027, noon UTC: the event; its daily digest is due at 17:00 UTC
        clock = Clock(utc(2027, 1, 12, 12))

        async def told() -> int:
            process = Process(ms, settings, clock)
            try:
                async with process.db.transaction() as session:
                    ev = Event(
                        NATURE,
                        "ppa",
                        cercle.ppa_id,
                        person_id=cercle.person_id,
                        ppa_id=cercle.ppa_id,
                    )
                    return len(await emit(session, ev, now=clock.now))
            finally:
                await process.close()

        assert asyncio.run(told()) >= 3
        for username in ADDRESSES:
            assert [n["nature"] for n in notices_about(ms.api_as(username), cercle.person_id)]
        opposed = ms.api_as("usager").put(
            f"/api/persons/{cercle.person_id}/cercle/{cercle.members['ergotherapeute']}/opposition",
            json={"opposed": True},
        )
        assert opposed.status_code == 200, opposed.text
        removed = ms.api_as("coordinatrice").delete(
            f"/api/persons/{cercle.person_id}/cercle/{cercle.members['assistante-sociale']}"
        )
        assert removed.status_code == 204, removed.text

        async def digest() -> None:
            clock.now = utc(2027, 1, 12, 17)
            process = Process(ms, settings, clock)
            try:
                await process.worker.run_once()
            finally:
                await process.close()

        asyncio.run(digest())
        (nurse,) = sink.to(ADDRESSES["infirmier"])
        assert nurse.message["Subject"] == "[PPA] Votre résumé quotidien : 1 notification"
        assert sink.to(ADDRESSES["ergotherapeute"]) == []
        assert sink.to(ADDRESSES["assistante-sociale"]) == []
        assert notices_about(ms.api_as("ergotherapeute"), cercle.person_id) == []
        assert notices_about(ms.api_as("assistante-sociale"), cercle.person_id) == []
