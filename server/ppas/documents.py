"""Where a PPA's current document state comes from.

The foundation reads the stored Yjs state; the collaboration engine replaces the source on
``app.state.documents`` so REST reads see the live room (stored state + update log tail).
Content is read as the layout rule allows it (``editor.layout_rule``): whatever a document holds
beyond it (stored before the rule was enforced live) is left out, never a reason to fail a read.
"""

from __future__ import annotations

from typing import Protocol

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from editor.crdt import doc_from_state, doc_to_content_repaired
from editor.schema import PPAContent
from server.errors import NotFound
from server.models import PPADocument, Version
from versions.canonical import content_from_canonical
from versions.chain import VALIDATED_KINDS

log = structlog.get_logger(__name__)


class DocumentSource(Protocol):
    async def current_state(self, session: AsyncSession, ppa_id: str) -> bytes: ...


class StoredDocumentSource:
    """Reads the snapshot stored in ``ppa_documents``."""

    async def current_state(self, session: AsyncSession, ppa_id: str) -> bytes:
        document = await session.get(PPADocument, ppa_id)
        if document is None:
            raise NotFound("Document du PPA introuvable.")
        return document.state


async def load_content(source: DocumentSource, session: AsyncSession, ppa_id: str) -> PPAContent:
    state = await source.current_state(session, ppa_id)
    content, problems = doc_to_content_repaired(doc_from_state(state))
    if problems:
        codes = sorted({p.code for p in problems})
        log.warning("ppa.document.layout_problems", ppa=ppa_id, count=len(problems), codes=codes)
    return content


async def last_validated_content(session: AsyncSession, ppa_id: str) -> PPAContent | None:
    """Content of the PPA's last validated version (validation or avenant), if any."""
    canonical = await session.scalar(
        select(Version.content)
        .where(Version.ppa_id == ppa_id, Version.kind.in_([k.value for k in VALIDATED_KINDS]))
        .order_by(Version.number.desc())
        .limit(1)
    )
    return None if canonical is None else content_from_canonical(canonical)
