"""Whose ``X-Forwarded-For`` is believed: the proxies of ``PPA_FORWARDED_ALLOW_IPS`` only.

The app resolves forwarded headers itself, so that the setting decides however it is served;
``ppa serve`` (and the tests' server) turn uvicorn's own proxy handling off: by default it
believes any client on loopback.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from server.config import Settings


def install_trusted_proxies(app: FastAPI, settings: Settings) -> None:
    """Resolve the client address from forwarded headers sent by the configured proxies only."""
    trusted = settings.trusted_proxies()
    if trusted:
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=trusted)


def uvicorn_options() -> dict[str, Any]:
    """Options every uvicorn serving the app gets: no forwarded-header handling of its own."""
    return {"proxy_headers": False, "forwarded_allow_ips": ""}
