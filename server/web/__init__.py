"""HTTP hardening around the app: body limit, trusted proxies, browser headers, local docs."""

from __future__ import annotations

from fastapi import FastAPI

from server.config import Settings
from server.web.body_limit import BodyLimitMiddleware
from server.web.headers import SecurityHeadersMiddleware
from server.web.proxy import install_trusted_proxies


def install_middleware(app: FastAPI, settings: Settings) -> None:
    """Register the hardening middleware (call after the app's own ones: these wrap them)."""
    app.add_middleware(BodyLimitMiddleware, limit=settings.max_body_bytes)
    install_trusted_proxies(app, settings)
    https = settings.resolved_public_url().startswith("https://")
    app.add_middleware(SecurityHeadersMiddleware, https=https)
