"""Give the memory a room freed back to the operating system once it unloads.

A document's CRDT structures live in native memory (yrs, through the C allocator). glibc keeps
what is freed in its arenas (one per thread that allocated: the event loop, the merge and store
threads) and returns it only from the top of a heap: after a 100,000-update document unloaded,
the process kept about 60 MiB more than while it was loaded. ``malloc_trim(0)`` releases the free
pages of every arena. Elsewhere than glibc there is nothing to do.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
from collections.abc import Callable

import anyio

log = logging.getLogger(__name__)


def _malloc_trim() -> Callable[[], int] | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        trim = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):  # not glibc
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int

    def run() -> int:
        return int(trim(0))

    return run


_TRIM = _malloc_trim()


async def release_freed_memory(ppa_id: str) -> None:
    """``malloc_trim(0)`` in a worker thread (it walks every arena: milliseconds)."""
    if _TRIM is not None:
        released = await anyio.to_thread.run_sync(_TRIM)
        log.debug("collab.memory.trimmed ppa=%s released=%d", ppa_id, released)
