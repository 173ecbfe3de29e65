"""One WebSocket connection as the room sees it (:class:`editor.collab.ports.Channel`).

The room sends the same ``bytes`` object to every recipient of a broadcast; server frames are not
masked, so the WebSocket frame is built once and written to each connection's transport directly
(no task, no coroutine per recipient): that is what keeps a relay to 200 clients cheap. This fast
path needs uvicorn's default WebSocket protocol (``websockets-sansio``), whose instance
:class:`RawSendMiddleware` finds; under any other server the channel falls back to a queue and a
writer task per connection. Frames written directly are never compressed (permitted with
permessage-deflate: RSV1 unset means an uncompressed message).

A client that does not read is closed (4408) once its unsent bytes pass the limit.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable
from typing import Any, Final

from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket

from editor.collab.errors import CloseCode

try:
    from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
except ImportError:  # pragma: no cover - another ASGI server
    WebSocketsSansIOProtocol = None  # type: ignore[assignment,misc]
from websockets.protocol import State
from websockets.streams import StreamReader

try:
    from websockets.speedups import apply_mask
except ImportError:  # pragma: no cover - websockets without its C extension
    from websockets.utils import apply_mask

log = logging.getLogger(__name__)

RAW_PROTOCOL_KEY = "ppa.collab.ws_protocol"
_CLOSE_TIMEOUT = 5.0


class RawSendMiddleware:
    """Puts uvicorn's WebSocket protocol instance in the scope (before any middleware wraps
    ``send``), for :class:`WebSocketChannel`'s direct writes."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket" and WebSocketsSansIOProtocol is not None:
            protocol = getattr(send, "__self__", None)
            if isinstance(protocol, WebSocketsSansIOProtocol):
                scope[RAW_PROTOCOL_KEY] = protocol
        await self.app(scope, receive, send)


def frame(payload: bytes) -> bytes:
    """A final, unmasked, binary WebSocket frame (server to client)."""
    size = len(payload)
    if size < 126:
        return bytes((0x82, size)) + payload
    if size < 65536:
        return b"\x82\x7e" + size.to_bytes(2, "big") + payload
    return b"\x82\x7f" + size.to_bytes(8, "big") + payload


class _FrameCache:
    """The frame of the last message sent: a broadcast frames its message once."""

    __slots__ = ("frame", "message")

    def __init__(self) -> None:
        self.message: bytes | None = None
        self.frame = b""

    def get(self, message: bytes) -> bytes:
        if message is not self.message:
            self.frame = frame(message)
            self.message = message
        return self.frame


_frames = _FrameCache()

_BINARY_FINAL: Final = 0x82
"""The first byte of a final binary frame with no extension bit (RSV1-3 unset)."""
_AT_FRAME_START: Final = StreamReader.at_eof.__code__
"""Where websockets' parser waits between two frames (``yield from reader.at_eof()``)."""


def _between_frames(parser: Any) -> bool:
    """Whether websockets' parser (a chain of generators: the server's handshake parser, the
    frame parser, the stream reader's wait) waits for the first byte of a frame."""
    while (inner := getattr(parser, "gi_yieldfrom", None)) is not None:
        parser = inner
    return getattr(parser, "gi_code", None) is _AT_FRAME_START


def binary_messages(data: bytes, max_size: int | None) -> list[bytes] | None:
    """The payloads of ``data`` if it is nothing but complete, final, masked binary frames of at
    most ``max_size`` bytes (client to server, no extension bit), unmasked; else ``None``
    (anything else: a control, text, fragmented or compressed frame, a frame cut by the TCP
    segment, an unmasked or too large one), for websockets to parse as usual."""
    messages: list[bytes] = []
    pos, end = 0, len(data)
    while pos < end:
        if end - pos < 6 or data[pos] != _BINARY_FINAL:
            return None
        length = data[pos + 1]
        if length < 0x80:  # unmasked: websockets refuses it
            return None
        length &= 0x7F
        pos += 2
        if length == 126:
            length = int.from_bytes(data[pos : pos + 2], "big")
            pos += 2
        elif length == 127:
            return None
        stop = pos + 4 + length
        if stop > end or (max_size is not None and length > max_size):
            return None
        messages.append(apply_mask(data[pos + 4 : stop], data[pos : pos + 4]))
        pos = stop
    return messages


class WebSocketChannel:
    def __init__(
        self,
        websocket: WebSocket,
        user_id: str,
        read_only: bool,
        *,
        max_buffer: int,
    ) -> None:
        self._websocket = websocket
        self._user_id = user_id
        self.read_only = read_only
        self._max_buffer = max_buffer
        self.closing = False
        self.close_code: int | None = None
        self.received_directly = 0
        """Binary messages the protocol handed over without the ASGI queue."""
        protocol: Any = websocket.scope.get(RAW_PROTOCOL_KEY)
        self._protocol = protocol
        self._transport: asyncio.Transport | None = protocol.transport if protocol else None
        self._closer: asyncio.Task[None] | None = None
        # Fallback (no direct transport): a queue drained by one writer task.
        self._queue: deque[bytes] = deque()
        self._queued = 0
        self._ready = asyncio.Event()
        self._writer: asyncio.Task[None] | None = None
        self._close_request: tuple[int, str] | None = None
        if self._transport is None:
            self._writer = asyncio.ensure_future(self._write_queue())

    @property
    def user_id(self) -> str:
        return self._user_id

    @property
    def direct(self) -> bool:
        """Frames are written to the transport directly (the fast path)."""
        return self._transport is not None

    def send(self, message: bytes) -> None:
        if self.closing:
            return
        transport = self._transport
        if transport is not None:
            if self._protocol.close_sent or transport.is_closing():
                self.closing = True  # the client is gone; the reader sees the disconnect
                return
            data = _frames.get(message)
            transport.write(data)
            if transport.get_write_buffer_size() > self._max_buffer:
                self.close(CloseCode.SLOW_CONSUMER, "Client trop lent")
            return
        self._queue.append(message)
        self._queued += len(message)
        self._ready.set()
        if self._queued > self._max_buffer:
            self.close(CloseCode.SLOW_CONSUMER, "Client trop lent")

    def receive_directly(self, handler: Callable[[bytes], None]) -> Callable[[], None] | None:
        """From now on, binary messages go to ``handler`` as soon as uvicorn's protocol has
        parsed them: no ASGI queue, no task switch, no pause and resume of the socket's reads
        per message (the receive side of the fast path); text messages and the disconnect still
        go through ``websocket.receive()``. Only on the direct transport and while nothing is
        queued, so that messages keep their order; returns how to turn it off (``None``: not on).
        """
        protocol = self._protocol
        if protocol is None or not protocol.queue.empty():
            return None
        queued = protocol.send_receive_event_to_app
        parsed = protocol.data_received
        conn = protocol.conn
        limits = [n for n in (conn.max_message_size, conn.max_fragment_size) if n is not None]
        max_size = min(limits) if limits else None
        on = True

        def deliver() -> None:
            if not on or protocol.curr_msg_data_type != "bytes" or protocol.close_sent:
                queued()  # text (refused by the reader), or past our close: uvicorn's own way
                return
            frames = protocol.frames
            protocol.frames = []
            self.received_directly += 1
            handler(frames[0] if len(frames) == 1 else b"".join(frames))

        def data_received(data: bytes) -> None:
            # The frames of a segment read in one pass when it holds nothing but whole final
            # binary frames and websockets' parser waits between two frames (nothing buffered,
            # no fragmented message): what websockets would hand over, without its per-frame
            # parser; anything else goes to websockets (and still reaches ``deliver``).
            if (
                on
                and not protocol.close_sent
                and conn.state is State.OPEN
                and conn.current_size is None
                and not conn.reader.buffer
                and _between_frames(conn.parser)
            ):
                messages = binary_messages(data, max_size)
                if messages is not None:
                    for message in messages:
                        self.received_directly += 1
                        handler(message)
                    return
            parsed(data)

        protocol.send_receive_event_to_app = deliver
        protocol.data_received = data_received
        transport = self._transport
        if transport is not None:  # uvloop keeps the protocol's data_received: tell it anew
            transport.set_protocol(protocol)

        def off() -> None:
            nonlocal on
            on = False
            protocol.send_receive_event_to_app = queued

        return off

    def close(self, code: int, reason: str) -> None:
        if self.closing:
            return
        self.closing = True
        self.close_code = code
        if self._writer is not None:
            self._close_request = (code, reason)
            self._ready.set()
        else:
            self._closer = asyncio.ensure_future(self._close(code, reason))

    async def _close(self, code: int, reason: str) -> None:
        try:
            async with asyncio.timeout(_CLOSE_TIMEOUT):
                await self._websocket.close(code, reason)
        except TimeoutError:
            if self._transport is not None:
                self._transport.abort()  # its buffer never drained: drop it
        except Exception:
            log.debug("collab.channel.close_failed code=%d", code)

    async def _write_queue(self) -> None:
        try:
            while True:
                await self._ready.wait()
                self._ready.clear()
                while self._queue and self._close_request is None:
                    message = self._queue.popleft()
                    self._queued -= len(message)
                    await self._websocket.send_bytes(message)
                if self._close_request is not None:
                    if self._close_request[0] == CloseCode.SLOW_CONSUMER:
                        self._queue.clear()
                    while self._queue:
                        await self._websocket.send_bytes(self._queue.popleft())
                    await self._websocket.close(*self._close_request)
                    return
        except Exception:  # the client went away: the reader sees it too
            self.closing = True

    async def finish(self) -> None:
        """Wait until a close requested by the room is sent (called when the endpoint ends)."""
        if self._writer is not None:
            if self._close_request is None:
                self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._writer
        if self._closer is not None:
            with contextlib.suppress(Exception):
                await self._closer
