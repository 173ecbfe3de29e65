"""Notification emails: what they say (never health data), one-click unsubscribe, SMTP.

Plain email is not a secure channel: a message says the nature of what happened, the person's
initials, who acted and when, and a link into the service (``PPA_PUBLIC_URL``); never the
PPA's content, the person's name or anything else about their health. Text and HTML parts,
French; ``List-Unsubscribe`` + ``List-Unsubscribe-Post`` (RFC 8058) with a signed token naming
the recipient, the channel and the natures of the message; a ``Message-ID`` per message (one
per notice when immediate), stable across retries.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import smtplib
import ssl
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime
from html import escape
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from server.models.notifications import Channel
from server.notifications.settings import NotificationSettings

PARIS = ZoneInfo("Europe/Paris")


@dataclass(frozen=True)
class Line:
    """One notice as a message shows it."""

    label: str
    initials: str | None
    actor: str | None
    at: datetime
    link: str
    zone: ZoneInfo = PARIS
    """The service's zone (``PPA_NOTIFY_TIMEZONE``: a service in La Réunion writes its times)."""

    def what(self) -> str:
        """The nature, about whom, as one sentence: ``Le PPA a été validé (personne J. D.).``;
        no initials for the person (it is about them) nor for a notice about nobody."""
        if not self.initials:
            return self.label if self.label.endswith(".") else self.label + "."
        if self.label.endswith("."):  # plain French (the aidant): sentences of their own
            return f"{self.label} Cela concerne {self.initials}"
        return f"{self.label} (personne {self.initials})."

    def when(self) -> str:
        """Who and when, a sentence of its own (short sentences: plain French for the person)."""
        return f"Par {self.actor or 'le service'}, le {local_time(self.at, self.zone)}."

    def text(self) -> str:
        return f"{self.what()}\n{self.when()}\n{self.link}"


def local_time(at: datetime, zone: ZoneInfo = PARIS) -> str:
    return at.astimezone(zone).strftime("%d/%m/%Y à %H:%M")


def _key(secret: str) -> bytes:
    return hashlib.sha256(b"ppa-notify-unsubscribe-v1:" + secret.encode()).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def unsubscribe_token(secret: str, user_id: str, channel: Channel, natures: list[str]) -> str:
    """``<payload>.<HMAC-SHA256>``: who, which channel, which natures (no expiry: RFC 8058
    links must keep working in old messages; changing the service key revokes them all)."""
    payload = json.dumps({"u": user_id, "c": channel.value, "n": sorted(set(natures))})
    body = _b64(payload.encode())
    mac = hmac.new(_key(secret), body.encode(), hashlib.sha256).digest()
    return f"{body}.{_b64(mac)}"


def read_unsubscribe_token(secret: str, token: str) -> tuple[str, Channel, list[str]] | None:
    try:
        body, mac = token.split(".", 1)
        expected = hmac.new(_key(secret), body.encode(), hashlib.sha256).digest()
        if not hmac.compare_digest(expected, _unb64(mac)):
            return None
        data = json.loads(_unb64(body))
        return str(data["u"]), Channel(data["c"]), [str(n) for n in data["n"]]
    except (ValueError, KeyError, TypeError):
        return None


def message_domain(public_url: str) -> str:
    return urlsplit(public_url).hostname or "localhost"


def build_email(
    *,
    settings: NotificationSettings,
    to: str,
    subject: str,
    intro: str,
    lines: list[Line],
    unsubscribe_url: str,
    settings_url: str,
    message_key: str,
    public_url: str,
    now: datetime,
) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = settings.mail_from
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = format_datetime(now)
    # Stable across retries: a receiver may drop a message it already has.
    msg["Message-ID"] = f"<{message_key}@{message_domain(public_url)}>"
    msg["List-Unsubscribe"] = f"<{unsubscribe_url}>"
    msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    msg["Auto-Submitted"] = "auto-generated"
    footer = (
        "Ce message ne contient aucune information de santé : connectez-vous pour en savoir "
        "plus.\nPour choisir ce que vous recevez : " + settings_url
    )
    text = intro + "\n\n" + "\n\n".join(line.text() for line in lines) + "\n\n-- \n" + footer
    msg.set_content(text)
    items = "".join(
        f"<li><p>{escape(line.what())}<br>{escape(line.when())}</p>"
        f'<p><a href="{escape(line.link)}">Ouvrir dans le PPA collaboratif</a></p></li>'
        for line in lines
    )
    html = (
        '<!DOCTYPE html><html lang="fr"><head><meta charset="utf-8">'
        f"<title>{escape(subject)}</title></head><body>"
        f"<p>{escape(intro)}</p><ul>{items}</ul><hr>"
        "<p>Ce message ne contient aucune information de santé : connectez-vous pour en savoir "
        f'plus. <a href="{escape(settings_url)}">Choisir ce que je reçois</a> · '
        f'<a href="{escape(unsubscribe_url)}">Ne plus recevoir ces courriels</a></p>'
        "</body></html>"
    )
    msg.add_alternative(html, subtype="html")
    return msg


def tls_context(settings: NotificationSettings) -> ssl.SSLContext:
    """The server's certificate and host name checked (``PPA_SMTP_CA_FILE`` or the system's
    trust store): ``smtplib``'s own default checks neither, and the connection carries the SMTP
    password and the messages."""
    context = ssl.create_default_context(cafile=settings.smtp_ca_file)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def smtp_send(settings: NotificationSettings, msg: EmailMessage) -> None:
    """Send one message (blocking: run it in a thread). Raises on any refusal, on a server that
    offers no STARTTLS when it is required and on a certificate that does not check out."""
    if not settings.smtp_host:
        raise RuntimeError("no SMTP host")
    with smtplib.SMTP(
        settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout_seconds
    ) as smtp:
        if settings.smtp_starttls:
            smtp.starttls(context=tls_context(settings))
        if settings.smtp_username:
            password = settings.smtp_password.get_secret_value() if settings.smtp_password else ""
            smtp.login(settings.smtp_username, password)
        smtp.send_message(msg)
