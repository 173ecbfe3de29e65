"""The avenant's scope, live (docs/domain-rules.md, rule 4): a write to a PPA whose avenant is
being drafted is refused when it changes what only a revision may change.

The rule is :func:`versions.lifecycle.avenant_violations`, applied to the write alone (the
content before it and after it): adding or removing an objective, changing a besoin or an
objective beyond its follow-up, moving the period's start, its end beyond 12 months, or the next
review beyond 12 months after the last full validation. The avenant's validation checks the same
rule against the validated version (what reached the document another way, e.g. a restore).

Which PPAs are avenant drafts is kept per process (:class:`AvenantScopes`): read from the
database when a connection opens and whenever a room is unlocked (an avenant opens by unlocking
the validated PPA's room, in this process or, through the fan-out, in another one).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any, Final

from pycrdt import Doc, get_update
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from editor.collab.ports import WritePolicy
from editor.collab.protocol import Notice
from editor.collab.room import Room
from editor.collab.updates import EMPTY_UPDATE
from editor.crdt import doc_to_content_repaired
from editor.schema import PPAContent
from exports.local_time import PARIS
from server.collab.notices import PpaNoticeCode
from server.collab.policy import INCOMPLETE_NOTICE
from server.models import PPA, Version
from server.models.ppa import PPAStatus
from versions.chain import VersionKind
from versions.lifecycle import avenant_violations

NOT_IN_AN_AVENANT: Final = (
    "Avenant en cours : modification refusée et non enregistrée. {reason} "
    "Pour ce changement, créez une révision (nouveau PPA). Rechargez la page pour continuer."
)


class AvenantScopes:
    """Per process: PPA id -> the day of its last full validation, for avenant drafts only."""

    def __init__(self) -> None:
        self._drafts: dict[str, date | None] = {}
        self.enabled = True
        """Tests turn the live check off to reach the validation's own check."""

    def get(self, ppa_id: str) -> tuple[bool, date | None]:
        """Whether ``ppa_id`` is an avenant draft here, and its last full validation day."""
        if not self.enabled or ppa_id not in self._drafts:
            return False, None
        return True, self._drafts[ppa_id]

    async def refresh(self, session: AsyncSession, ppa_id: str) -> None:
        """Read the PPA's state from the database."""
        status = await session.scalar(select(PPA.status).where(PPA.id == ppa_id))
        if status != PPAStatus.AVENANT_DRAFT.value:
            self._drafts.pop(ppa_id, None)
            return
        full = await session.scalar(
            select(Version.created_at)
            .where(Version.ppa_id == ppa_id, Version.kind == VersionKind.VALIDATED.value)
            .order_by(Version.number.desc())
            .limit(1)
        )
        self._drafts[ppa_id] = None if full is None else full.astimezone(PARIS).date()


class AvenantScopePolicy:
    """Refuses a write beyond the avenant's scope (any connection that may write)."""

    def __init__(self, scopes: AvenantScopes) -> None:
        self._scopes = scopes
        self._cached: tuple[int, int, PPAContent] | None = None

    def _before(self, room: Room) -> PPAContent:
        key = (id(room.doc), room.version)
        if self._cached is not None and self._cached[:2] == key:
            return self._cached[2]
        content, _ = doc_to_content_repaired(room.doc)
        self._cached = (*key, content)
        return content

    def refuse(self, room: Room, update: bytes) -> Notice | None:
        avenant, full_on = self._scopes.get(room.ppa_id)
        if not avenant or update == EMPTY_UPDATE:
            return None
        scratch: Doc[Any] = Doc()
        scratch.apply_update(room.doc.get_update())
        try:
            scratch.apply_update(update)
            missing = get_update(update, scratch.get_state())
        except ValueError:
            return None  # unreadable: the room refuses it as malformed
        if missing[:1] != b"\x00":
            return INCOMPLETE_NOTICE
        after, _ = doc_to_content_repaired(scratch)
        violations = avenant_violations(self._before(room), after, full_validated_on=full_on)
        if not violations:
            return None
        return Notice(
            PpaNoticeCode.AVENANT_SCOPE,
            NOT_IN_AN_AVENANT.format(reason=violations[0].message),
        )


class AllPolicies:
    """Refuses a write when one of ``policies`` does (the first refusal is told)."""

    def __init__(self, *policies: WritePolicy) -> None:
        self._policies = policies

    def refuse(self, room: Room, update: bytes) -> Notice | None:
        for policy in self._policies:
            notice = policy.refuse(room, update)
            if notice is not None:
                return notice
        return None


class ScopedLocker:
    """The fan-out's locker: an ``unlock`` from another process reads the PPA's avenant scope
    before the room here gives writers back their rights."""

    def __init__(
        self,
        lock: Callable[[str], Awaitable[bool]],
        unlock: Callable[[str], bool],
        refresh: Callable[[str], Awaitable[None]],
    ) -> None:
        self._lock, self._unlock, self._refresh = lock, unlock, refresh
        self._pending: set[asyncio.Task[None]] = set()

    async def lock(self, ppa_id: str) -> bool:
        return await self._lock(ppa_id)

    def unlock(self, ppa_id: str) -> bool:
        async def refresh_then_unlock() -> None:
            try:
                await self._refresh(ppa_id)
            finally:
                self._unlock(ppa_id)

        task = asyncio.get_running_loop().create_task(refresh_then_unlock())
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)
        return True
