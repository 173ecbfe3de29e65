"""Your mobile number for SMS, verified by a code sent to it (the code hashed at rest)."""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
from datetime import UTC, datetime, timedelta
from typing import Annotated

import httpx
from fastapi import APIRouter, Request, Response, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select

from server.audit.trail import AuditTrail, audited
from server.authz import user_account
from server.db import utcnow
from server.deps import SessionDep
from server.errors import Conflict, InvalidInput, error_body
from server.models.audit import AuditEvent
from server.models.notifications import NotificationContact, NotificationPreference
from server.notifications import sms
from server.notifications.settings import NotificationSettings
from server.openapi import error_responses
from server.text_input import TextInput

router = APIRouter(tags=["notifications"])

CODE_MINUTES = 10
MAX_ATTEMPTS = 5
RESEND_SECONDS = 60
"""A new code not before a minute after the last one."""
CODES_PER_DAY = 5
"""At most 5 codes sent to an account in 24 hours (each is an SMS paid for; each gives 5 more
guesses): counted from the audit trail, where every code sent is traced."""
SET_ACTION = "notifications.mobile.set"
E164 = r"^\+[1-9][0-9]{7,14}$"


class MobileUpdate(TextInput):
    model_config = ConfigDict(extra="forbid")

    mobile: str = Field(pattern=E164, description="International format: +33612345678")


class MobileVerify(TextInput):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(pattern=r"^[0-9]{6}$", description="The 6 digits received by SMS")


class MobileState(BaseModel):
    mobile: str | None
    verified: bool


def code_hash(secret: str, user_id: str, code: str) -> str:
    key = hashlib.sha256(b"ppa-mobile-code-v1:" + secret.encode()).digest()
    return hmac.new(key, f"{user_id}:{code}".encode(), hashlib.sha256).hexdigest()


def _settings(request: Request) -> NotificationSettings:
    found: NotificationSettings | None = getattr(request.app.state, "notification_settings", None)
    return found or NotificationSettings()


async def _wait_before_code(
    session: SessionDep, user_id: str, contact: NotificationContact | None, now: datetime
) -> tuple[int, str] | None:
    """Seconds to wait before another code may be sent, and why (French); ``None``: now."""
    if contact is not None and contact.mobile_code_expires_at is not None:
        sent_at = contact.mobile_code_expires_at - timedelta(minutes=CODE_MINUTES)
        wait = (sent_at + timedelta(seconds=RESEND_SECONDS) - now).total_seconds()
        if wait > 0:
            return math.ceil(wait), (
                "Un code vient de vous être envoyé : attendez une minute avant d'en demander "
                "un autre."
            )
    since = now - timedelta(days=1)
    sent = (
        await session.execute(
            select(func.count(), func.min(AuditEvent.at)).where(
                AuditEvent.actor_id == user_id,
                AuditEvent.action == SET_ACTION,
                AuditEvent.outcome == "ok",
                AuditEvent.at > since,
            )
        )
    ).one()
    if sent[0] >= CODES_PER_DAY:
        oldest = sent[1] if sent[1].tzinfo else sent[1].replace(tzinfo=UTC)
        return max(1, math.ceil((oldest + timedelta(days=1) - now).total_seconds())), (
            f"Vous avez demandé {CODES_PER_DAY} codes en 24 heures : réessayez demain, ou "
            "contactez l'administrateur du service."
        )
    return None


@router.put(
    "/api/me/mobile",
    response_model=MobileState,
    status_code=status.HTTP_202_ACCEPTED,
    responses=error_responses(429),
)
async def set_mobile(
    body: MobileUpdate,
    request: Request,
    session: SessionDep,
    audit: Annotated[AuditTrail, audited(SET_ACTION, account=user_account)],
) -> MobileState | JSONResponse:
    """Record your mobile number and send it a verification code (valid 10 minutes); one code
    a minute at most, 5 in 24 hours (429 with ``Retry-After`` beyond)."""
    settings = _settings(request)
    if not settings.sms_enabled:
        raise Conflict("L'envoi de SMS n'est pas configuré sur ce service.")
    user_id = audit.principal.id
    now = utcnow()
    contact = await session.get(NotificationContact, user_id)
    wait = await _wait_before_code(session, user_id, contact, now)
    if wait is not None:
        audit.record("user", user_id, person_id=None, role=None, outcome="denied")
        await session.commit()  # the refusal is traced although the answer is one
        return JSONResponse(
            error_body("TooManyRequests", wait[1]),
            status_code=status.HTTP_429_TOO_MANY_REQUESTS,
            headers={"Retry-After": str(wait[0])},
        )
    if contact is None:
        contact = NotificationContact(user_id=user_id, mobile_code_attempts=0, updated_at=now)
        session.add(contact)
    code = f"{secrets.randbelow(1_000_000):06d}"
    contact.mobile = body.mobile
    contact.mobile_verified_at = None
    contact.mobile_code_hash = code_hash(
        request.app.state.settings.resolved_secret_key(), user_id, code
    )
    contact.mobile_code_expires_at = now + timedelta(minutes=CODE_MINUTES)
    contact.mobile_code_attempts = 0
    contact.updated_at = now
    audit.record("user", user_id, person_id=None, role=None)
    await session.flush()
    text = f"PPA collaboratif : votre code de vérification est {code} (valable {CODE_MINUTES} min)."
    try:
        async with httpx.AsyncClient(timeout=15) as client:
            await sms.send(client, settings, body.mobile, text)
    except httpx.HTTPError as exc:
        raise Conflict(
            "Le SMS de vérification n'a pas pu être envoyé : réessayez dans quelques minutes."
        ) from exc
    return MobileState(mobile=contact.mobile, verified=False)


@router.post("/api/me/mobile/verify", response_model=MobileState)
async def verify_mobile(
    body: MobileVerify,
    request: Request,
    session: SessionDep,
    audit: Annotated[AuditTrail, audited("notifications.mobile.verify", account=user_account)],
) -> MobileState:
    """Confirm your number with the code received (5 attempts)."""
    user_id = audit.principal.id
    contact = await session.get(NotificationContact, user_id)
    now = utcnow()
    if (
        contact is None
        or contact.mobile_code_hash is None
        or contact.mobile_code_expires_at is None
    ):
        raise Conflict("Aucun code en attente : indiquez d'abord votre numéro de mobile.")
    if contact.mobile_code_expires_at < now or contact.mobile_code_attempts >= MAX_ATTEMPTS:
        raise Conflict("Ce code n'est plus valable : demandez-en un nouveau.")
    expected = code_hash(request.app.state.settings.resolved_secret_key(), user_id, body.code)
    if not hmac.compare_digest(expected, contact.mobile_code_hash):
        contact.mobile_code_attempts += 1
        audit.record("user", user_id, person_id=None, role=None, outcome="denied")
        await session.commit()  # the attempt counts even though the answer is a refusal
        raise InvalidInput("code : code incorrect, vérifiez le SMS reçu.")
    contact.mobile_verified_at = now
    contact.mobile_code_hash = None
    contact.mobile_code_expires_at = None
    contact.updated_at = now
    audit.record("user", user_id, person_id=None, role=None)
    return MobileState(mobile=contact.mobile, verified=True)


@router.delete("/api/me/mobile", status_code=status.HTTP_204_NO_CONTENT)
async def delete_mobile(
    session: SessionDep,
    audit: Annotated[AuditTrail, audited("notifications.mobile.delete", account=user_account)],
) -> Response:
    """Forget your mobile number (no more SMS: SMS is removed from your choices)."""
    user_id = audit.principal.id
    contact = await session.get(NotificationContact, user_id)
    if contact is not None:
        contact.mobile = None
        contact.mobile_verified_at = None
        contact.mobile_code_hash = None
        contact.mobile_code_expires_at = None
        contact.updated_at = utcnow()
    for pref in await session.scalars(
        select(NotificationPreference).where(NotificationPreference.user_id == user_id)
    ):
        if "sms" in pref.channels:
            pref.channels = [c for c in pref.channels if c != "sms"]
    audit.record("user", user_id, person_id=None, role=None)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
