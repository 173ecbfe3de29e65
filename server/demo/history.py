"""Demo history: the demo person's previous PPA (2025-2026), validated after two checkpoints,
with an avenant in progress - through the same service functions as the API, on a past clock.

Idempotent: the history PPA is found again by the label of its first version.
"""

from __future__ import annotations

import copy
import re
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import ColumnElement, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from editor.crdt import doc_from_state, write_content
from editor.schema import PPAContent
from exports.sample_content import avenant_content
from server.auth.principal import Principal, PrincipalType
from server.collab.store import client_ids_of, stored_state
from server.models import PPA, Person, PPAUpdate, User, Version
from server.ppas.documents import DocumentSource
from server.ppas.service import create_ppa
from server.versions_api import repository, service
from server.versions_api.authorship import authors_since
from server.versions_api.runtime import LifecycleGuard, VersionsRuntime
from versions.chain import AccordMode, VersionKind

HISTORY_TITLE = "Projet personnalisé d'accompagnement 2025-2026"
FIRST_LABEL = "Fin de session d'édition (démo : premier jet)"

_DATE = re.compile(r"^(\d{4})(-\d{2}-\d{2})$")


def is_history() -> ColumnElement[bool]:
    """SQL condition on ``ppas``: this PPA is the demo history (not the editable demo draft)."""
    return exists().where(
        Version.ppa_id == PPA.id, Version.number == 1, Version.label == FIRST_LABEL
    )


def _year_before(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _year_before(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_year_before(v) for v in value]
    if isinstance(value, str) and (match := _DATE.match(value)):
        return f"{int(match.group(1)) - 1}{match.group(2)}"
    return value


def history_stages(current: PPAContent) -> list[PPAContent]:
    """Three states of last year's PPA: first draft, completed draft, validated content."""
    final = PPAContent.model_validate(_year_before(current.model_dump(mode="json")))
    final.projet.titre = HISTORY_TITLE
    final.bilan.prochaine_revision = final.projet.date_fin and final.projet.date_fin.replace(day=1)
    first = copy.deepcopy(final)
    kept = {o.id for o in first.objectifs[:2]}
    first.objectifs = first.objectifs[:2]
    first.besoins = [b for b in first.besoins if any(b.id in o.besoin_ids for o in first.objectifs)]
    first.actions = [a for a in first.actions if set(a.objectif_ids) <= kept][:2]
    first.moyens = []
    second = copy.deepcopy(final)
    second.actions = second.actions[:-1]
    return [first, second, final]


def _principal(user: User) -> Principal:
    return Principal(
        type=PrincipalType.USER,
        id=user.id,
        kind=user.kind,
        display_name=user.display_name,
        professional_id=user.professional_id,
    )


class _StoredAndLogged:
    """The stored document plus the update log tail (what a room would load)."""

    async def current_state(self, session: AsyncSession, ppa_id: str) -> bytes:
        return await stored_state(session, ppa_id)


class _Clock:
    def __init__(self) -> None:
        self.now = datetime(2025, 11, 4, 17, 30, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


async def _info(session: AsyncSession, ppa_id: str) -> dict[str, object]:
    ppa = await session.get(PPA, ppa_id)
    if ppa is None:
        raise RuntimeError("ppa is None")
    versions = await repository.all_versions(session, ppa_id)
    validated = [v.number for v in versions if v.kind in repository.VALIDATED_KIND_VALUES]
    return {
        "validated_ppa_id": ppa_id,
        "validated_version": validated[-1] if validated else None,
        "checkpoint_versions": [v.number for v in versions if v.kind == "checkpoint"],
        "avenant_in_progress": ppa.status == "avenant_draft",
        "history": {
            "ppa_id": ppa_id,
            "title": ppa.title,
            "status": ppa.status,
            "versions": [{"number": v.number, "kind": v.kind, "label": v.label} for v in versions],
        },
    }


async def _log_edit(
    session: AsyncSession, ppa_id: str, content: PPAContent, author: str, when: datetime
) -> None:
    """An edit as the collaboration engine logs it (``ppa_updates``: author, time)."""
    doc = doc_from_state(await stored_state(session, ppa_id))
    before = doc.get_state()
    write_content(doc, content)
    update = doc.get_update(before)
    last = await session.scalar(select(func.max(PPAUpdate.seq)).where(PPAUpdate.ppa_id == ppa_id))
    session.add(
        PPAUpdate(
            ppa_id=ppa_id,
            seq=(last or 0) + 1,
            data=update,
            author=author,
            created_at=when,
            client_ids=client_ids_of(update),
            size=len(update),
        )
    )
    await session.flush()


async def seed_history(
    session: AsyncSession,
    documents: DocumentSource,
    key: Ed25519PrivateKey,
    *,
    person: Person,
    users: dict[str, User],
    current: PPAContent,
) -> dict[str, object]:
    """Create the demo history if absent; return its ids for ``ppa demo --json`` either way."""
    found = await session.scalar(
        select(Version.ppa_id)
        .join(PPA, PPA.id == Version.ppa_id)
        .where(PPA.person_id == person.id, Version.number == 1, Version.label == FIRST_LABEL)
    )
    if found is not None:
        return await _info(session, found)

    clock = _Clock()
    rt = VersionsRuntime(key=key, documents_of=_StoredAndLogged, clock=clock)
    first, second, final = history_stages(current)
    coordinator = users["coordinatrice"]
    ppa = await create_ppa(
        session,
        documents,
        person=person,
        created_by=coordinator.id,
        title=HISTORY_TITLE,
        content=first,
        previous=None,
    )
    # Last year's PPA: created before the current draft, so "the latest PPA" stays the draft.
    ppa.created_at = datetime(2025, 10, 20, 9, 0, tzinfo=UTC)
    await session.flush()

    async def edit(content: PPAContent, author: str, when: datetime) -> None:
        await _log_edit(session, ppa.id, content, author, when)

    async def end_of_session(label: str, authors: list[str] | None, when: datetime) -> None:
        clock.now = when
        state = await service.read_state(session, rt, ppa.id)
        if authors is None:
            latest = await repository.latest_version(session, ppa.id)
            since = None if latest is None else latest.created_at
            authors = await authors_since(session, ppa.id, since, when, service.SYSTEM_CHECKPOINT)
        await service.record_version(
            session,
            rt,
            ppa.id,
            service.NewVersion(
                kind=VersionKind.CHECKPOINT,
                label=label,
                state=state,
                content=service.content_of_state(state),
                created_by=service.SYSTEM_CHECKPOINT,
                authors=authors,
            ),
            when,
        )

    ids = {key_: user.id for key_, user in users.items()}
    await end_of_session(
        FIRST_LABEL,
        [ids["coordinatrice"], ids["infirmier"]],
        datetime(2025, 11, 4, 17, 30, tzinfo=UTC),
    )
    plan = copy.deepcopy(second)
    plan.actions = first.actions
    await edit(plan, ids["psychologue"], datetime(2025, 11, 18, 10, 0, tzinfo=UTC))
    await edit(second, ids["ergotherapeute"], datetime(2025, 11, 18, 11, 20, tzinfo=UTC))
    await end_of_session(
        "Fin de session d'édition", None, datetime(2025, 11, 18, 11, 45, tzinfo=UTC)
    )
    await edit(final, ids["coordinatrice"], datetime(2025, 11, 28, 15, 0, tzinfo=UTC))

    clock.now = datetime(2025, 12, 1, 10, 0, tzinfo=UTC)
    guard = LifecycleGuard(rt)
    try:
        await service.validate(
            session,
            rt,
            guard,
            _principal(coordinator),
            ppa,
            service.AccordInput(
                AccordMode.SIGNE,
                "Claire Durand, coordinatrice, par délégation de la direction du FAM",
            ),
            service.AccordInput(AccordMode.SIGNE, "Léa Martin"),
        )
    finally:
        guard.release()
    clock.now = datetime(2026, 10, 12, 9, 0, tzinfo=UTC)
    guard = LifecycleGuard(rt)
    try:
        await service.open_avenant(session, rt, guard, _principal(coordinator), ppa)
    finally:
        guard.release()
    await edit(
        avenant_content(final), ids["ergotherapeute"], datetime(2026, 10, 12, 9, 30, tzinfo=UTC)
    )
    await end_of_session(
        "Fin de session d'édition (avenant)", None, datetime(2026, 10, 12, 10, 15, tzinfo=UTC)
    )
    await session.flush()
    return await _info(session, ppa.id)
