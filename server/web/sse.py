"""Server-Sent Events streams that follow a value in the database (the bell's unread count, a
PPA's comments): one loop, woken at once by a commit of this process and looking again every few
seconds for the commits of other processes."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

import anyio
from fastapi import Request
from fastapi.responses import StreamingResponse

PING_SECONDS = 25.0
"""A comment line this often keeps proxies from closing an idle stream."""


class Listeners:
    """The open streams per key (e.g. a PPA id), woken from any thread after a commit."""

    def __init__(self) -> None:
        self._events: dict[str, set[tuple[asyncio.AbstractEventLoop, asyncio.Event]]] = {}

    def wake(self, key: str) -> None:
        for loop, event in list(self._events.get(key, ())):
            if not loop.is_closed():
                loop.call_soon_threadsafe(event.set)

    @contextlib.contextmanager
    def listening(self, key: str) -> Iterator[asyncio.Event]:
        """An event set by :meth:`wake` of ``key`` while the block runs."""
        entry = (asyncio.get_running_loop(), asyncio.Event())
        self._events.setdefault(key, set()).add(entry)
        try:
            yield entry[1]
        finally:
            entry_set = self._events.get(key)
            if entry_set is not None:
                entry_set.discard(entry)
                if not entry_set:
                    self._events.pop(key, None)


async def follow(
    request: Request,
    listeners: Listeners,
    key: str,
    look: Callable[[], Awaitable[str | None]],
    *,
    look_seconds: float,
) -> AsyncIterator[str]:
    """The stream's text: ``look()`` gives the current event block (``event: ...\\ndata: ...``),
    sent when it differs from the last one sent; ``None`` ends the stream with ``event: closed``
    (e.g. the caller lost access)."""
    with listeners.listening(key) as woken:
        last: str | None = None
        quiet = 0.0
        yield "retry: 3000\n\n"
        while not await request.is_disconnected():
            woken.clear()
            block = await look()
            if block is None:
                yield "event: closed\ndata: {}\n\n"
                return
            if block != last:
                last = block
                quiet = 0.0
                yield block
            elif quiet >= PING_SECONDS:
                quiet = 0.0
                yield ": ping\n\n"
            with anyio.move_on_after(look_seconds):
                await woken.wait()
            quiet += look_seconds


def event_stream(lines: AsyncIterator[str]) -> StreamingResponse:
    """The response of an SSE stream (never cached, never buffered by a proxy)."""
    return StreamingResponse(
        lines,
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
