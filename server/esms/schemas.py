"""API schemas of the ESMS import: feed items, webhooks, deliveries."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from server.text_input import TextInput


class FeedItem(BaseModel):
    """A validated version (validation or avenant) the caller may import."""

    position: int
    ppa_id: str
    person_id: str
    version: int
    kind: str
    """``validated`` or ``avenant``."""
    content_hash: str
    """SHA-256 of the version's canonical content."""
    hash: str
    """The version's chain hash: the ``ETag`` of every export of this version."""
    validated_at: datetime
    exports: dict[str, str]
    """Format name -> path of the download (relative to the service's base URL)."""


class FeedPage(BaseModel):
    items: list[FeedItem]
    next_cursor: str
    """Pass it as ``cursor`` next time; it only moves forward."""
    has_more: bool


CURSOR_PATTERN = r"^[0-9]{0,18}$"
"""A feed cursor: the ``next_cursor`` of a previous page (empty: from the start)."""

WEBHOOK_URL_PATTERN = (
    r"^(https://[A-Za-z0-9._~%!$&'()*+,;=-]+|http://(localhost|127\.0\.0\.1))"
    r"(:[0-9]{1,5})?([/?#]\S*)?$"
)
"""The documented form of a webhook address (a host name or IPv4 address; the server also
takes an IPv6 literal in brackets); whether its host may be private is the server's setting."""


class WebhookCreate(TextInput):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(
        min_length=8, max_length=2000, json_schema_extra={"pattern": WEBHOOK_URL_PATTERN}
    )
    """``https://`` at a public address (private, loopback and link-local addresses, and
    ``http://`` on loopback, only with ``PPA_WEBHOOK_ALLOW_PRIVATE_NETWORKS``)."""
    secret: str = Field(min_length=16, max_length=200)
    """Key of the HMAC-SHA256 signature of every body (``X-PPA-Signature: sha256=<hex>``)."""


class WebhookRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    url: str
    created_at: datetime
    disabled_at: datetime | None


class AttemptRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    number: int
    at: datetime
    status_code: int | None
    error: str | None
    duration_ms: int


class DeliveryRead(BaseModel):
    id: str
    event: str
    feed_position: int
    status: str
    """``pending``, ``delivered``, ``failed`` (given up) or ``cancelled``."""
    attempts: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None
    log: list[AttemptRead]
