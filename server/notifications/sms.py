"""SMS through an HTTP gateway: ``POST PPA_SMS_URL`` with JSON ``{to, text}`` and a bearer token.

160 characters at most, no health data: the nature (plain French for the person and the
aidant), the person's initials and a link.
"""

from __future__ import annotations

import httpx

from server.models.notifications import Notice
from server.models.person import Role
from server.notifications.links import notice_path
from server.notifications.natures import label_for
from server.notifications.settings import NotificationSettings

SMS_MAX = 160


def text_of(notices: list[Notice], public_url: str, role: Role | None) -> str:
    """One SMS for one notice or a digest; cut to 160 characters (the link is kept whole)."""
    link = f"{public_url}/{notice_path(notices[0])}" if len(notices) == 1 else public_url
    if len(notices) == 1:
        who = f" ({notices[0].initials})" if notices[0].initials else ""
        body = f"PPA : {label_for(notices[0].nature, role)}{who}"
    else:
        body = f"PPA : {len(notices)} nouvelles notifications"
    room = SMS_MAX - len(link) - 1
    if room < 10:
        return body[:SMS_MAX]
    if len(body) > room:
        body = body[: room - 1].rstrip() + "…"
    return f"{body} {link}"


async def send(
    client: httpx.AsyncClient, settings: NotificationSettings, to: str, text: str
) -> None:
    """Raises when the gateway does not answer 2xx (the outbox retries)."""
    if not settings.sms_url:
        raise RuntimeError("no SMS gateway")
    headers = {"Content-Type": "application/json"}
    if settings.sms_token is not None:
        headers["Authorization"] = f"Bearer {settings.sms_token.get_secret_value()}"
    response = await client.post(settings.sms_url, json={"to": to, "text": text}, headers=headers)
    response.raise_for_status()
