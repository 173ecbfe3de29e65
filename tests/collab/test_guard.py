"""Schema guard hook: writes that break the documented layout are repaired in the same commit."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from pycrdt import Array, Doc, Map, Text

from editor.collab.manager import RoomManager
from editor.collab.ports import GUARD_AUTHOR, Limits
from editor.collab.protocol import encode_update
from editor.collab.room import REPAIRED_NOTICE
from editor.crdt import check_layout, content_to_doc, doc_to_content, doc_to_content_repaired
from editor.layout_guard import LayoutGuard
from tests.collab.channels import CountingGuard, Session, SimClient, join
from tests.collab.conftest import running_manager
from tests.collab.stores import MemoryStore
from tests.factories import small_ppa


class Clock:
    now = 0.0

    def __call__(self) -> float:
        return self.now


def sample_doc() -> Doc[Any]:
    return content_to_doc(small_ppa())


@pytest.fixture
def guard() -> CountingGuard:
    return CountingGuard()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def guarded(
    store: MemoryStore, guard: CountingGuard, clock: Clock
) -> AsyncIterator[RoomManager]:
    limits = Limits(guard_interval=10.0)
    async with running_manager(store, limits=limits, guard=guard, monotonic=clock) as manager:
        yield manager


async def setup(manager: RoomManager) -> tuple[Session, Session]:
    writer = await join(manager, "g", "alice")
    writer.client.apply_remote(sample_doc().get_update())
    writer.client.outbox.append(encode_update(writer.client.doc.get_update()))
    writer.pump()
    other = await join(manager, "g", "bruno", client=SimClient())
    await settle(manager, writer, other)
    return writer, other


async def settle(manager: RoomManager, *sessions: Session) -> None:
    room = manager.room("g")
    assert room is not None
    for _ in range(5):
        for session in sessions:
            session.pump()
        await room.flush()
    for session in sessions:
        session.pump()


def assert_sound(*docs: Doc[Any]) -> None:
    # An emptied unknown root stays in a Yjs document (roots cannot be deleted): the guard
    # ignores it, editor.crdt.check_layout still names it.
    for doc in docs:
        assert LayoutGuard().check(doc) == []
        assert {p.code for p in check_layout(doc)} <= {"unknown_root"}
        doc_to_content_repaired(doc)


async def test_text_edits_skip_the_check(guarded: RoomManager, guard: CountingGuard) -> None:
    writer, other = await setup(guarded)
    checks = guard.checks
    titre = writer.client.doc.get("objectifs", type=Array)[0]["titre"]
    for char in "abc":
        titre.insert(len(titre), char)
        await settle(guarded, writer, other)
    writer.client.doc.get("projet_de_vie", type=Text).insert(0, "« ")
    await settle(guarded, writer, other)
    assert guard.checks == checks
    assert str(other.client.doc.get("objectifs", type=Array)[0]["titre"]).endswith("abc")


async def test_unknown_root_is_emptied_before_anyone_sees_it(
    guarded: RoomManager, store: MemoryStore
) -> None:
    writer, other = await setup(guarded)
    writer.client.doc.get("pirate", type=Map)["x"] = "y"
    await settle(guarded, writer, other)
    room = guarded.room("g")
    assert room is not None
    assert_sound(room.doc, other.client.doc, writer.client.doc)
    assert REPAIRED_NOTICE in writer.client.denied
    assert REPAIRED_NOTICE not in other.client.denied
    assert store.authors("g")[-2:] == ["alice", GUARD_AUTHOR]


@pytest.mark.parametrize(
    "breakage",
    [
        "item_without_id",
        "duplicate_id",
        "wrong_type_value",
        "unknown_key",
        "bad_date",
        "not_a_map_item",
        "rich_text",
        "root_of_wrong_type",
    ],
)
async def test_broken_writes_are_repaired(
    guarded: RoomManager, store: MemoryStore, breakage: str
) -> None:
    writer, other = await setup(guarded)
    doc = writer.client.doc
    objectifs = doc.get("objectifs", type=Array)
    projet = doc.get("projet", type=Map)
    if breakage == "item_without_id":
        objectifs.append(Map({"titre": Text("sans id")}))
    elif breakage == "duplicate_id":
        objectifs.append(Map({"id": "o1", "titre": Text("doublon")}))
    elif breakage == "wrong_type_value":
        objectifs[0]["titre"] = 42
    elif breakage == "unknown_key":
        projet["couleur"] = "bleu"
    elif breakage == "bad_date":
        projet["date_debut"] = "31/12/2026"
    elif breakage == "not_a_map_item":
        objectifs.append("une chaîne")
    elif breakage == "rich_text":
        doc.get("projet_de_vie", type=Text).format(0, 5, {"bold": True})
    elif breakage == "root_of_wrong_type":
        doc.get("projet_de_vie", type=Map)["x"] = 1
    await settle(guarded, writer, other)
    room = guarded.room("g")
    assert room is not None
    assert_sound(room.doc, other.client.doc, writer.client.doc)
    assert REPAIRED_NOTICE in writer.client.denied
    assert store.authors("g")[-1] == GUARD_AUTHOR
    kept = doc_to_content(room.doc)
    assert [o.id for o in kept.objectifs][:2] == ["o1", "o2"]
    assert kept.projet_de_vie.startswith("Vivre")


async def test_a_sneaked_id_deletion_is_caught_by_the_periodic_check(
    guarded: RoomManager, guard: CountingGuard, clock: Clock
) -> None:
    writer, other = await setup(guarded)
    objectif = writer.client.doc.get("objectifs", type=Array)[1]
    del objectif["id"]  # a delete-only update: classified as a text edit
    await settle(guarded, writer, other)
    room = guarded.room("g")
    assert room is not None
    assert check_layout(room.doc) != []
    clock.now += 11
    titre = writer.client.doc.get("objectifs", type=Array)[0]["titre"]
    titre.insert(0, "x")
    await settle(guarded, writer, other)
    assert_sound(room.doc, other.client.doc)
    assert [o.id for o in doc_to_content(room.doc).objectifs] == ["o1"]
