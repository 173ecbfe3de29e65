"""Read receipts (RFC 8098 MDN) of MSSanté transmissions, read back over IMAP over TLS.

An MDN is a ``multipart/report; report-type=disposition-notification`` whose
``message/disposition-notification`` part names the ``Original-Message-ID`` and a
``Disposition``: ``displayed`` (read: ``lu``), ``processed`` (delivered to and processed by the
recipient's system: ``recu``), or an error, written by MSSanté as ``processed/Error: code^libellé``
(or an ``Error:`` field, RFC 3798; ``failed``): ``erreur`` with that code and label.
"""

from __future__ import annotations

import email
import email.policy
import imaplib
import re
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from email.message import Message

from sqlalchemy import select

from server.audit.service import trace
from server.db import Database, utcnow
from server.models.transmissions import Transmission, TransmissionStatus
from server.transmissions import service
from server.transmissions.settings import TransmissionSettings, client_tls

S = TransmissionStatus
_ERROR = re.compile(r"error\s*:\s*(?P<code>[^^\r\n]*)(\^(?P<label>[^\r\n]*))?", re.IGNORECASE)
RANK = {S.EN_ATTENTE: 0, S.ENVOYE: 1, S.RECU: 2, S.LU: 3}


@dataclass(frozen=True)
class Disposition:
    original_message_id: str
    status: TransmissionStatus
    error_code: str | None = None
    error_label: str | None = None


def _report_fields(msg: Message) -> Message | None:
    for part in msg.walk():
        if part.get_content_type() == "message/disposition-notification":
            payload = part.get_payload()
            if isinstance(payload, list) and payload:
                first = payload[0]
                return first if isinstance(first, Message) else None
            raw = part.get_payload(decode=True)
            if isinstance(raw, bytes):
                return email.message_from_bytes(raw, policy=email.policy.default)
    return None


def parse_mdn(raw: bytes) -> Disposition | None:
    """The disposition an MDN reports, or ``None`` when ``raw`` is not an MDN."""
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    fields = _report_fields(msg)
    if fields is None:
        return None
    original = str(fields.get("Original-Message-ID", "")).strip()
    disposition = str(fields.get("Disposition", "")).strip()
    if not original or not disposition:
        return None
    kind = disposition.split(";", 1)[-1].strip()
    kind_lower = kind.lower()
    error_field = str(fields.get("Error", "")).strip()
    error = _ERROR.search(kind) or (_ERROR.search("Error: " + error_field) if error_field else None)
    if error or kind_lower.startswith("failed") or "/error" in kind_lower:
        code = (error.group("code").strip() if error else "") or "MDN_ERREUR"
        label = (error.group("label") or "").strip() if error else ""
        return Disposition(
            original, S.ERREUR, code[:60], (label or "Erreur signalée par le destinataire")[:300]
        )
    if kind_lower.startswith("displayed"):
        return Disposition(original, S.LU)
    if kind_lower.startswith(("processed", "dispatched")):
        return Disposition(original, S.RECU)
    return None


async def apply(db: Database, d: Disposition) -> bool:
    """Move the transmission's status forward (never back); ``True`` if it was ours."""
    now = utcnow()
    async with db.transaction() as session:
        t = await session.scalar(
            select(Transmission).where(Transmission.message_id == d.original_message_id)
        )
        if t is None:
            return False
        current = S(t.status)
        if current in (S.ERREUR, S.EN_ATTENTE):
            return True
        if d.status is S.ERREUR:
            t.status = S.ERREUR.value
            t.error_code, t.error_label = d.error_code, d.error_label
        elif RANK[d.status] > RANK[current]:
            t.status = d.status.value
            t.received_at = t.received_at or now
            if d.status is S.LU:
                t.read_at = now
        else:
            return True
        t.updated_at = now
        trace(
            session,
            service.actor(t),
            f"ppa.transmission.{t.status}:mdn:v{t.version_number}",
            "transmission",
            t.id,
            person_id=t.person_id,
            role="coordinator",
            outcome="ok" if d.status is not S.ERREUR else "error",
        )
    return True


@contextmanager
def _mailbox(settings: TransmissionSettings) -> Iterator[imaplib.IMAP4_SSL]:
    """The applicative mailbox's folder, over TLS with the structure's certificate; logged in
    with ``PPA_MSS_IMAP_USER``/``_PASSWORD``, else SASL EXTERNAL (the certificate alone)."""
    context = client_tls(settings.mss_cert, settings.mss_key, settings.mss_ca_file)
    imap = imaplib.IMAP4_SSL(
        settings.mss_imap_host or "",
        settings.mss_imap_port,
        ssl_context=context,
        timeout=settings.transmit_timeout_seconds,
    )
    try:
        if settings.mss_imap_user:
            imap.login(settings.mss_imap_user, settings.mss_imap_password or "")
        else:
            imap.authenticate("EXTERNAL", lambda _: b"")
        imap.select(settings.mss_imap_folder)
        yield imap
    finally:
        with suppress(OSError, imaplib.IMAP4.error):
            imap.logout()


def fetch_mdns(settings: TransmissionSettings) -> list[tuple[bytes, bytes]]:
    """Unseen MDNs of the applicative mailbox (blocking): [(IMAP UID, raw message)].

    UIDs, not message numbers: the MDNs are flagged seen over another connection, after they are
    applied, and an expunge in between (another client deleting a message) renumbers the
    messages, which would flag the wrong ones and hide a receipt for good."""
    out: list[tuple[bytes, bytes]] = []
    with _mailbox(settings) as imap:
        _, found = imap.uid(
            "SEARCH", "UNSEEN", "HEADER", "Content-Type", "disposition-notification"
        )
        for uid in (found[0] or b"").split():
            _, data = imap.uid("FETCH", uid.decode(), "(BODY.PEEK[])")
            out += [(uid, item[1]) for item in data if isinstance(item, tuple)]
    return out


def mark_seen(settings: TransmissionSettings, uids: list[bytes]) -> None:
    """Flag the MDNs applied (by UID) as seen: not read again."""
    if uids:
        with _mailbox(settings) as imap:
            imap.uid("STORE", b",".join(uids).decode(), "+FLAGS", "(\\Seen)")
