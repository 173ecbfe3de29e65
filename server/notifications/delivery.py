"""Sending one outbox message: an email over SMTP or an SMS through the HTTP gateway."""

from __future__ import annotations

import smtplib
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from email.message import EmailMessage

import anyio
import httpx
import structlog
from sqlalchemy import select

from server.auth.service import user_principal
from server.db import Database, utcnow
from server.models import User
from server.models.identity import UserKind
from server.models.notifications import (
    Channel,
    Frequency,
    Notice,
    NoticeDispatch,
    NotificationContact,
    NotificationOutbox,
    OutboxStatus,
)
from server.models.person import Role
from server.notifications import mail, sms
from server.notifications.links import notice_path
from server.notifications.natures import label_for
from server.notifications.service import audit_sent, visible_to
from server.notifications.settings import NotificationSettings

log = structlog.get_logger(__name__)

SETTINGS_PATH = "/#/notifications"


def backoff(settings: NotificationSettings, attempts: int) -> timedelta:
    """Delay before the next attempt once ``attempts`` attempts failed."""
    seconds = settings.notify_retry_base_seconds * 2 ** max(attempts - 1, 0)
    return timedelta(seconds=min(seconds, settings.notify_retry_max_seconds))


SMS_FINAL_STATUSES = frozenset({400, 422})
"""Gateway answers no retry changes (a malformed request, a number it will never take); an
authentication or address error (401, 403, 404) is the service's configuration: retried, so
that messages go once it is fixed."""


def refusal(exc: Exception) -> tuple[str, bool]:
    """What to record of a failed send (no address, no content), and whether it is final: an
    SMTP 5xx to the recipient or to the message (unknown address, message refused), or a final
    gateway answer. A 4xx, a timeout, a closed connection or the server's login are retried."""
    name = type(exc).__name__
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = sorted({code for code, _text in exc.recipients.values()})
        return f"{name} {codes[0] if codes else ''}".strip(), bool(codes) and codes[0] >= 500
    if isinstance(exc, smtplib.SMTPDataError):
        return f"{name} {exc.smtp_code}", exc.smtp_code >= 500
    if isinstance(exc, httpx.HTTPStatusError):
        status = exc.response.status_code
        return f"{name} {status}", status in SMS_FINAL_STATUSES
    return name, False


def notice_link(public_url: str, notice: Notice) -> str:
    """The absolute link of a notice (emails, SMS): ``PPA_PUBLIC_URL`` + its editor route."""
    return f"{public_url}/{notice_path(notice)}"


def role_of(user: User) -> Role | None:
    """Plain French for the person and the aidant (the wording follows the account's kind)."""
    if user.kind == UserKind.PERSON.value:
        return Role.PERSON
    if user.kind == UserKind.AIDANT.value:
        return Role.AIDANT
    return None


DIGEST_TITLES = {
    Frequency.IMMEDIATE: "",
    Frequency.DAILY: "quotidien",
    Frequency.WEEKLY: "hebdomadaire",
}


class Sender:
    def __init__(
        self,
        db: Database,
        settings: NotificationSettings,
        *,
        service_secret: str,
        public_url: str,
        http: httpx.AsyncClient,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.db = db
        self.settings = settings
        self.secret = service_secret
        self.public_url = public_url.rstrip("/")
        self.http = http
        self.clock = clock

    async def _load(
        self, outbox_id: str
    ) -> tuple[NotificationOutbox, User, NotificationContact | None, list[Notice]] | None:
        async with self.db.transaction() as session:
            outbox = await session.get(NotificationOutbox, outbox_id)
            if outbox is None or outbox.status != OutboxStatus.PENDING.value:
                return None
            user = await session.get(User, outbox.recipient_id)
            contact = await session.get(NotificationContact, outbox.recipient_id)
            if user is None:
                raise RuntimeError(f"recipient of outbox {outbox_id} not found")
            notices = list(
                await session.scalars(
                    select(Notice)
                    .join(NoticeDispatch, NoticeDispatch.notice_id == Notice.id)
                    .where(NoticeDispatch.outbox_id == outbox_id, visible_to(user_principal(user)))
                    .order_by(Notice.created_at, Notice.id)
                )
            )
            return outbox, user, contact, notices

    def _address(self, channel: Channel, user: User, contact: NotificationContact | None) -> str:
        """The address to send to, or ``""`` when this channel cannot reach the user."""
        if contact is None or not user.is_active:
            return ""
        if channel is Channel.EMAIL and self.settings.email_enabled:
            return contact.email or ""
        if channel is Channel.SMS and self.settings.sms_enabled:
            return (
                contact.mobile if contact.mobile_verified_at is not None and contact.mobile else ""
            )
        return ""

    async def send(self, outbox_id: str) -> None:
        loaded = await self._load(outbox_id)
        if loaded is None:
            return
        outbox, user, contact, notices = loaded
        channel = Channel(outbox.channel)
        address = self._address(channel, user, contact)
        if not address or not notices:
            reason = "canal désactivé ou adresse absente" if notices else "aucune notification"
            await self._record(outbox_id, OutboxStatus.CANCELLED, reason)
            return
        now = self.clock()
        started = time.perf_counter()
        error: str | None = None
        final = False
        try:
            if channel is Channel.EMAIL:
                msg = self._email(outbox, user, address, notices, now)
                await anyio.to_thread.run_sync(mail.smtp_send, self.settings, msg)
            else:
                text = sms.text_of(notices, self.public_url, role_of(user))
                await sms.send(self.http, self.settings, address, text)
        except Exception as exc:  # a refusal or a network error: retried unless final
            error, final = refusal(exc)
        log.info(
            "notifications.send",
            outbox_id=outbox_id,
            channel=channel.value,
            error=error,
            final=final,
            ms=round((time.perf_counter() - started) * 1000),
        )
        status = OutboxStatus.SENT if error is None else OutboxStatus.FAILED if final else None
        await self._record(outbox_id, status, error, [n.id for n in notices])

    def _email(
        self,
        outbox: NotificationOutbox,
        user: User,
        address: str,
        notices: list[Notice],
        now: datetime,
    ) -> EmailMessage:
        role = role_of(user)
        zone = self.settings.schedule().zone
        lines = [
            mail.Line(
                label_for(n.nature, role),
                None if role is Role.PERSON else n.initials,  # the person: about them
                n.actor_name,
                n.created_at,
                notice_link(self.public_url, n),
                zone,
            )
            for n in notices
        ]
        frequency = Frequency(outbox.frequency)
        if frequency is Frequency.IMMEDIATE:
            subject = f"[PPA] {lines[0].label}"
            intro = "Bonjour, voici une nouvelle qui vous concerne dans le PPA collaboratif."
        else:
            count = len(lines)
            plural = "s" if count > 1 else ""
            subject = (
                f"[PPA] Votre résumé {DIGEST_TITLES[frequency]} : {count} notification{plural}"
            )
            intro = f"Bonjour, voici ce qui a changé ({count} notification{plural})."
        token = mail.unsubscribe_token(
            self.secret, user.id, Channel.EMAIL, [n.nature for n in notices]
        )
        return mail.build_email(
            settings=self.settings,
            to=address,
            subject=subject,
            intro=intro,
            lines=lines,
            unsubscribe_url=f"{self.public_url}/api/notifications/unsubscribe/{token}",
            settings_url=f"{self.public_url}{SETTINGS_PATH}",
            message_key=f"{outbox.id}",
            public_url=self.public_url,
            now=now,
        )

    async def _record(
        self,
        outbox_id: str,
        status: OutboxStatus | None,
        error: str | None,
        notice_ids: list[str] | None = None,
    ) -> None:
        now = self.clock()
        async with self.db.transaction() as session:
            outbox = await session.get(NotificationOutbox, outbox_id)
            if outbox is None or outbox.status != OutboxStatus.PENDING.value:
                return
            outbox.lease_until = None
            outbox.last_error = error
            if status is OutboxStatus.CANCELLED:
                outbox.status = status.value
                return
            outbox.attempts += 1
            if status is OutboxStatus.SENT:
                outbox.status = status.value
                outbox.sent_at = now
                notices = await session.scalars(
                    select(Notice).where(Notice.id.in_(notice_ids or []))
                )
                for notice in notices:  # the notices the message told
                    audit_sent(session, notice, outbox.channel)
            elif (
                status is OutboxStatus.FAILED
                or outbox.attempts >= self.settings.notify_max_attempts
            ):
                outbox.status = OutboxStatus.FAILED.value
            else:
                outbox.next_attempt_at = now + backoff(self.settings, outbox.attempts)
