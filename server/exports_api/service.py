"""Export a stored version in one format: authorised, frozen input, rendered in a worker thread."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import anyio
import anyio.to_thread
from sqlalchemy.ext.asyncio import AsyncSession

from exports import registry
from exports.context import ExportInput
from exports.errors import ExportNotAllowedError
from exports.registry import ExportFormat
from server.errors import Conflict, NotFound
from server.exports_api.context import export_input, export_kind
from server.models import PPA, Version

RENDER_LIMITER = anyio.CapacityLimiter(4)
"""At most this many renderings at once per process (they are CPU-bound)."""


def get_format(name: str) -> ExportFormat:
    fmt = registry.FORMATS.get(name)
    if fmt is None:
        known = ", ".join(registry.FORMATS)
        raise NotFound(f"Format d'export inconnu : « {name} » (formats : {known}).")
    return fmt


def check_allowed(fmt: ExportFormat, version: Version) -> None:
    """409 before any work when a draft is asked in a format reserved to validated versions."""
    if export_kind(version.kind).is_draft and not fmt.drafts_allowed:
        raise Conflict(registry.draft_refusal(fmt))


def etag_of(version: Version) -> str:
    """The version's chain hash (covers its content hash and metadata), quoted."""
    return f'"{version.chain_hash}"'


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    candidates = [c.strip() for c in if_none_match.split(",")]
    return "*" in candidates or etag in candidates or f"W/{etag}" in candidates


@dataclass(frozen=True)
class Rendered:
    data: bytes
    media_type: str
    filename: str
    """Named by ids (bulk exports, files kept on a server)."""
    download_name: str
    """Named after the person (``PPA-Lea-MARTIN-2026-v4.pdf``): what a browser saves."""


class RenderCache:
    """Recently rendered files, by (version chain hash, format): a version is immutable and its
    context frozen, so its bytes never change within a process. Bounded in bytes (LRU)."""

    def __init__(self, max_bytes: int = 64 * 1024 * 1024) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[tuple[str, str], Rendered] = OrderedDict()
        self._size = 0

    def get(self, key: tuple[str, str]) -> Rendered | None:
        item = self._items.get(key)
        if item is not None:
            self._items.move_to_end(key)
        return item

    def put(self, key: tuple[str, str], item: Rendered) -> None:
        if len(item.data) > self.max_bytes // 8 or key in self._items:
            return
        self._items[key] = item
        self._size += len(item.data)
        while self._size > self.max_bytes:
            _, old = self._items.popitem(last=False)
            self._size -= len(old.data)


CACHE = RenderCache()


async def render(fmt: ExportFormat, inp: ExportInput) -> Rendered:
    """Render in a worker thread; refusals of the renderer (MDPH without avenant) become 409."""
    try:
        data = await anyio.to_thread.run_sync(
            registry.render, fmt.name, inp, limiter=RENDER_LIMITER
        )
    except ExportNotAllowedError as exc:
        raise Conflict(str(exc)) from exc
    return Rendered(
        data,
        fmt.media_type,
        registry.filename(fmt.name, inp),
        registry.person_filename(fmt.name, inp),
    )


async def export_version(
    session: AsyncSession, ppa: PPA, version: Version, format_name: str
) -> Rendered:
    """Bytes of ``version`` (already authorised) in ``format_name`` (from the cache if there)."""
    fmt = get_format(format_name)
    check_allowed(fmt, version)
    key = (version.chain_hash, fmt.name)
    cached = CACHE.get(key)
    if cached is None:
        cached = await render(fmt, await export_input(session, ppa, version))
        CACHE.put(key, cached)
    return cached
