"""SMS through an HTTP gateway: ``POST PPA_SMS_URL`` with JSON ``{to, text}`` and a bearer token.

One SMS, no health data: the nature (plain French for the person and the aidant), the person's
initials and a link. One SMS is 160 characters of the GSM 03.38 alphabet only: a single other
character (``ô``, ``ê``, ``…``, ``’``) turns the whole text into UCS-2, 70 characters a segment,
and a 160-character text into 3 SMS. So every text is written in that alphabet (``rôle`` ->
``role``, ``…`` -> ``...``) and cut at 160 septets (``€``, ``[``... count 2).
"""

from __future__ import annotations

import unicodedata

import httpx

from server.models.notifications import Notice
from server.models.person import Role
from server.notifications.links import notice_path
from server.notifications.natures import label_for
from server.notifications.settings import NotificationSettings

SMS_MAX = 160
"""Septets of one SMS (GSM 03.38, 7 bits)."""
GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡"
    "ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENSION = frozenset("^{}\\[~]|€")
"""Characters of the extension table: an escape and the character, 2 septets each."""
SUBSTITUTES = {
    "…": "...",
    "’": "'",
    "‘": "'",
    "«": '"',
    "»": '"',
    "œ": "oe",
    "Œ": "OE",
    "–": "-",
    "—": "-",
    "\u00a0": " ",
    "\u202f": " ",
}


def gsm7(text: str) -> str:
    """``text`` in the GSM 03.38 alphabet: French accents it lacks lose their accent (``ô`` ->
    ``o``, ``ç`` -> ``c``), typographic signs become plain ones; anything else becomes ``?``."""
    out = []
    for char in text:
        if char in GSM_BASIC or char in GSM_EXTENSION:
            out.append(char)
            continue
        found = SUBSTITUTES.get(char)
        if found is None:
            base = unicodedata.normalize("NFKD", char)[:1]
            found = base if base in GSM_BASIC else "?"
        out.append(found)
    return "".join(out)


def septets(text: str) -> int:
    return sum(2 if char in GSM_EXTENSION else 1 for char in text)


def _cut(text: str, room: int) -> str:
    """The longest start of ``text`` within ``room`` septets."""
    while septets(text) > room:
        text = text[:-1]
    return text


def text_of(notices: list[Notice], public_url: str, role: Role | None) -> str:
    """One SMS for one notice or a digest, in the GSM alphabet; cut to 160 septets (the link
    is kept whole)."""
    link = gsm7(f"{public_url}/{notice_path(notices[0])}" if len(notices) == 1 else public_url)
    if len(notices) == 1:
        about = notices[0].initials if role is not Role.PERSON else None  # the person: them
        who = f" ({about})" if about else ""
        body = gsm7(f"PPA : {label_for(notices[0].nature, role)}{who}")
    else:
        body = f"PPA : {len(notices)} nouvelles notifications"
    room = SMS_MAX - septets(link) - 1
    if room < 10:
        return _cut(body, SMS_MAX)
    if septets(body) > room:
        body = _cut(body, room - 3).rstrip() + "..."
    return f"{body} {link}"


async def send(
    client: httpx.AsyncClient, settings: NotificationSettings, to: str, text: str
) -> None:
    """Raises when the gateway does not answer 2xx (the outbox retries). ``text`` is sent in
    the GSM alphabet (one SMS holds 160 of its characters)."""
    if not settings.sms_url:
        raise RuntimeError("no SMS gateway")
    text = gsm7(text)
    headers = {"Content-Type": "application/json"}
    if settings.sms_token is not None:
        headers["Authorization"] = f"Bearer {settings.sms_token.get_secret_value()}"
    response = await client.post(settings.sms_url, json={"to": to, "text": text}, headers=headers)
    response.raise_for_status()
