"""An MSSanté message carrying documents, and its submission over SMTP with mutual TLS.

Conventions (ANS, see docs/transmissions.md): subject ``XDM/1.0/DDM+<libellé> <NOM> <prénom>
<date de naissance>``; attachments ``IHE_XDM.zip`` (``application/zip``) and the PDF;
``Disposition-Notification-To`` asks for a read receipt (RFC 8098); ``X-MSS-CODECDA`` (the CDA
``code``) and ``X-MSS-INS``. The ``Message-ID`` is the transmission's, the same at every attempt.
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime

from exports.context import ExportInput
from exports.dispatch import Documents
from server.db import utcnow
from server.transmissions.settings import TransmissionSettings, client_tls


def subject(inp: ExportInput, docs: Documents) -> str:
    p = inp.person
    born = p.birth_date.strftime("%d/%m/%Y")
    return f"XDM/1.0/DDM+{docs.label} {p.birth_family_name.upper()} {p.first_names[0]} {born}"


def build_message(
    inp: ExportInput,
    docs: Documents,
    *,
    sender: str,
    recipients: list[str],
    message_id: str,
) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = ", ".join(recipients)
    msg["Subject"] = subject(inp, docs)
    msg["Date"] = format_datetime(utcnow())
    msg["Message-ID"] = message_id
    msg["Disposition-Notification-To"] = sender
    msg["X-MSS-CODECDA"] = docs.cda.doc_type.code
    msg["X-MSS-INS"] = f"{inp.person.ins}^^^&{inp.person.ins_oid.value}&ISO^NH"
    msg.set_content(
        f"Bonjour,\n\nVeuillez trouver ci-joint le document « {docs.label} » "
        f"({inp.structure.name}), au format IHE XDM (IHE_XDM.zip) et en PDF.\n\n"
        "Ce message a été envoyé par un logiciel (boîte applicative) : merci de ne pas y "
        "répondre.\n"
    )
    msg.add_attachment(docs.xdm, maintype="application", subtype="zip", filename="IHE_XDM.zip")
    pdf_name = f"{inp.version.ppa_id}-v{inp.version.number}.pdf"
    msg.add_attachment(docs.pdf, maintype="application", subtype="pdf", filename=pdf_name)
    return msg


@dataclass(frozen=True)
class SmtpOutcome:
    ok: bool
    permanent: bool
    code: int | None
    reason: str
    """Technical reason (no content, no address)."""


def _connect(settings: TransmissionSettings, context: ssl.SSLContext) -> smtplib.SMTP:
    host = settings.mss_smtp_host or ""
    timeout = settings.transmit_timeout_seconds
    if settings.mss_smtp_tls == "implicit":
        return smtplib.SMTP_SSL(host, settings.mss_smtp_port, timeout=timeout, context=context)
    smtp = smtplib.SMTP(host, settings.mss_smtp_port, timeout=timeout)
    try:
        smtp.ehlo()
        if not smtp.has_extn("starttls"):
            raise smtplib.SMTPNotSupportedError("STARTTLS not offered: refusing to send in clear")
        smtp.starttls(context=context)
        smtp.ehlo()
    except BaseException:
        smtp.close()  # a refused handshake (wrong CA, no client certificate) leaves no socket
        raise
    return smtp


def send(settings: TransmissionSettings, msg: EmailMessage, recipients: list[str]) -> SmtpOutcome:
    """Submit ``msg`` (blocking: run in a worker thread). 5xx: permanent; anything else that
    fails (4xx, network, TLS): temporary."""
    context = client_tls(settings.mss_cert, settings.mss_key, settings.mss_ca_file)
    try:
        smtp = _connect(settings, context)
    except smtplib.SMTPResponseException as exc:
        return SmtpOutcome(False, 500 <= exc.smtp_code < 600, exc.smtp_code, "SMTP connect")
    except (OSError, smtplib.SMTPException) as exc:
        return SmtpOutcome(False, False, None, type(exc).__name__)
    try:
        refused = smtp.send_message(msg, settings.mss_from, recipients)
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        permanent = all(500 <= c < 600 for c in codes)
        return SmtpOutcome(False, permanent, max(codes, default=None), "recipients refused")
    except smtplib.SMTPResponseException as exc:
        return SmtpOutcome(False, 500 <= exc.smtp_code < 600, exc.smtp_code, "SMTP refused")
    except (OSError, smtplib.SMTPException) as exc:
        return SmtpOutcome(False, False, None, type(exc).__name__)
    finally:
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            smtp.close()
    if refused:
        # Accepted for the others: sending again would send it twice to them.
        codes = [code for code, _ in refused.values()]
        return SmtpOutcome(True, True, max(codes), "some recipients refused")
    return SmtpOutcome(True, False, 250, "")
