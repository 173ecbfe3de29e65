"""``ppa demo`` seeds notification settings and notices: every personal login of the demo finds
unread notices in its bell (the coordinator too), and the coordinator's email and choices."""

from __future__ import annotations

from pathlib import Path

from server.demo.notifications import DEMO_CHOICES, DEMO_EMAIL
from tests.server.notifications.support import module_server


def test_the_demo_bell_is_not_empty(tmp_path: Path) -> None:
    with module_server(tmp_path, notify_enabled=False) as ms:
        logins = [row["username"] for row in ms.demo["logins"] if row["username"] != "admin"]
        assert {"coordinatrice", "infirmier", "usager", "aidant"} <= set(logins)
        for username in logins:
            page = ms.api_as(username).get("/api/me/notifications").json()
            assert page["unread"] >= 1, username
            assert all(n["link"].startswith("#/") for n in page["items"])
        coord = ms.api_as("coordinatrice").get("/api/me/notification-preferences").json()
        assert coord["email"] == DEMO_EMAIL
        custom = {p["nature"]: p for p in coord["natures"] if p["custom"]}
        assert set(custom) == set(DEMO_CHOICES)
        for nature, (channels, frequency) in DEMO_CHOICES.items():
            assert (custom[nature]["channels"], custom[nature]["frequency"]) == (
                channels,
                frequency,
            )
