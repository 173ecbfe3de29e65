"""Refuse request bodies over ``PPA_MAX_BODY_BYTES`` before reading them (413).

A declared ``Content-Length`` over the limit is answered at once, without reading a byte of the
body; a body without one (chunked) is counted as it streams in and refused as soon as it passes
the limit. Authenticated or not: the check runs before any route, and the server closes the
connection instead of reading the rest.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.errors import PayloadTooLarge, error_body


def too_large_detail(limit: int) -> str:
    return (
        f"Requête trop volumineuse : le corps dépasse {limit} octets "
        f"({limit / (1024 * 1024):.1f} Mio). Réduisez les données envoyées."
    )


class BodyLimitMiddleware:
    """Pure ASGI middleware: 413 ``PayloadTooLarge`` for bodies over ``limit`` bytes."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.limit:
            await self._refuse(send)
            return
        # The body (at most ``limit`` bytes) is read here, then handed to the app whole: a
        # route that would not read it (or read it lazily) cannot let a larger one through.
        parts: list[bytes] = []
        received = 0
        first: Message | None = None
        while True:
            message = await receive()
            if message["type"] != "http.request":
                first = message  # the client left: the app sees it at once
                break
            chunk = message.get("body", b"")
            received += len(chunk)
            if received > self.limit:
                await self._refuse(send)
                return
            parts.append(chunk)
            if not message.get("more_body", False):
                break
        replay: list[Message] = (
            [first] if first else [{"type": "http.request", "body": b"".join(parts)}]
        )

        async def replaying_receive() -> Message:
            if replay:
                return replay.pop(0)
            return await receive()

        await self.app(scope, replaying_receive, send)

    async def _refuse(self, send: Send) -> None:
        body = json.dumps(
            error_body(PayloadTooLarge.code, too_large_detail(self.limit)), ensure_ascii=False
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": PayloadTooLarge.status_code,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
