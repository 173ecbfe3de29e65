"""The one SSE loop (server.web.sse): sends a block when it changes, ends with ``event: closed``,
and a wake from another thread makes it look again at once."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from typing import Any

from server.web.sse import Listeners, follow


class _Request:
    def __init__(self) -> None:
        self.gone = False

    async def is_disconnected(self) -> bool:
        return self.gone


async def _take(lines: AsyncIterator[str], n: int) -> list[str]:
    return [await anext(lines) for _ in range(n)]


async def test_changes_only_then_closed() -> None:
    blocks = iter(["event: a\n\n", "event: a\n\n", "event: b\n\n", None])

    async def look() -> str | None:
        return next(blocks)

    request: Any = _Request()
    lines = follow(request, Listeners(), "k", look, look_seconds=0.01)
    got = [line async for line in lines]
    assert got == ["retry: 3000\n\n", "event: a\n\n", "event: b\n\n", "event: closed\ndata: {}\n\n"]


async def test_a_wake_from_another_thread_looks_again_and_the_listener_goes() -> None:
    listeners = Listeners()
    count = 0

    async def look() -> str:
        nonlocal count
        count += 1
        return f"event: n\ndata: {count}\n\n"

    request: Any = _Request()
    lines = follow(request, listeners, "ppa-1", look, look_seconds=3600.0)
    assert await _take(lines, 2) == ["retry: 3000\n\n", "event: n\ndata: 1\n\n"]
    following = asyncio.ensure_future(anext(lines))
    await asyncio.sleep(0)
    listeners.wake("other-ppa")  # another key wakes nothing
    await asyncio.sleep(0.1)
    assert not following.done()
    thread = threading.Thread(target=listeners.wake, args=("ppa-1",))
    thread.start()
    thread.join()
    # without the wake this would wait for the hour-long look
    assert await asyncio.wait_for(following, timeout=30) == "event: n\ndata: 2\n\n"
    request.gone = True
    await lines.aclose()  # type: ignore[attr-defined]
    assert listeners._events == {}
