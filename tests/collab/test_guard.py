"""Schema guard hook: writes that break the documented layout or bring a refused character are
refused before they touch the document; what slips by (or was stored broken) is repaired in the
same commit."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

import anyio
import pytest
from pycrdt import Array, Doc, Map, Text

from editor.collab.manager import RoomManager
from editor.collab.ports import GUARD_AUTHOR, Limits
from editor.collab.protocol import Notice, encode_update
from editor.collab.room import ILLEGAL_TEXT_NOTICE, LAYOUT_REFUSED_NOTICE, REPAIRED_NOTICE
from editor.crdt import check_layout, content_to_doc, doc_to_content
from editor.layout_guard import LayoutGuard
from tests.collab.channels import CountingGuard, Session, SimClient, join
from tests.collab.conftest import running_manager
from tests.collab.stores import MemoryStore, StoredDoc
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
    for doc in docs:
        assert LayoutGuard().check(doc) == []
        assert check_layout(doc) == []
        doc_to_content(doc)


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


async def assert_refused(
    manager: RoomManager, store: MemoryStore, writer: Session, other: Session, notice: Notice
) -> None:
    """The write just made by ``writer`` reached nobody, and the connection is read-only."""
    room = manager.room("g")
    assert room is not None
    before, rows = room.doc.get_update(), len(store.authors("g"))
    relayed = len(other.client.doc.get_update())
    await settle(manager, writer, other)
    assert writer.client.denied == [notice]
    assert room.doc.get_update() == before
    assert len(store.authors("g")) == rows
    assert len(other.client.doc.get_update()) == relayed
    assert other.client.denied == []
    assert_sound(room.doc, other.client.doc)
    # Read-only for good: even a plain text edit of that connection is dropped now.
    writer.client.doc.get("projet_de_vie", type=Text).insert(0, "ensuite ")
    await settle(manager, writer, other)
    assert room.doc.get_update() == before
    assert len(store.authors("g")) == rows
    assert writer.client.denied == [notice]


async def test_unknown_root_is_refused_before_anyone_sees_it(
    guarded: RoomManager, store: MemoryStore
) -> None:
    writer, other = await setup(guarded)
    writer.client.doc.get("pirate", type=Map)["x"] = "y"
    await assert_refused(guarded, store, writer, other, LAYOUT_REFUSED_NOTICE)


BREAKAGES = [
    "item_without_id",
    "duplicate_id",
    "wrong_type_value",
    "unknown_key",
    "bad_date",
    "not_a_map_item",
    "rich_text",
    "root_of_wrong_type",
    "id_deleted_with_a_value_set",
]


@pytest.mark.parametrize("breakage", BREAKAGES)
async def test_broken_writes_are_refused(
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
    else:
        with doc.transaction():
            del objectifs[1]["id"]
            objectifs[1]["statut"] = "termine"
    await assert_refused(guarded, store, writer, other, LAYOUT_REFUSED_NOTICE)
    room = guarded.room("g")
    assert room is not None
    kept = doc_to_content(room.doc)
    assert [o.id for o in kept.objectifs] == ["o1", "o2"]
    assert kept.projet_de_vie.startswith("Vivre")


def _lone_surrogate_insert(doc: Doc[Any]) -> bytes:
    """An update typing a lone surrogate (no pycrdt or Yjs client can: crafted bytes)."""
    before = doc.get_state()
    doc.get("projet_de_vie", type=Text).insert(0, "\ufffd")
    update = doc.get_update(before)
    return update.replace("\ufffd".encode(), "\ud800".encode("utf-8", "surrogatepass"))


@pytest.mark.parametrize(
    "where", ["typed", "typed_ffff", "new_text", "value", "key", "array", "lone_surrogate"]
)
async def test_illegal_characters_are_refused(
    guarded: RoomManager, store: MemoryStore, where: str
) -> None:
    writer, other = await setup(guarded)
    doc = writer.client.doc
    # Tab and line ends are ordinary text (as in the REST inputs) ...
    doc.get("projet_de_vie", type=Text).insert(0, "a\tb\r\nc\n")
    await settle(guarded, writer, other)
    assert writer.client.denied == []
    assert str(other.client.doc.get("projet_de_vie", type=Text)).startswith("a\tb\r\nc\n")
    # ... the other control characters, noncharacters and lone surrogates are not.
    objectif = doc.get("objectifs", type=Array)[0]
    if where == "typed":
        doc.get("projet_de_vie", type=Text).insert(3, "a\x00b")
    elif where == "typed_ffff":
        objectif["titre"].insert(0, "\uffff")
    elif where == "new_text":
        objectif["description"] = Text("ligne\x1bsuite")
    elif where == "value":
        objectif["statut"] = "atteint\x07"
    elif where == "key":
        objectif["\x01"] = "x"
    elif where == "array":
        objectif["besoin_ids"] = Array(["b1\ufffe"])
    else:
        spare = SimClient()
        spare.apply_remote(doc.get_update())
        writer.peer.receive(encode_update(_lone_surrogate_insert(spare.doc)))
    await assert_refused(guarded, store, writer, other, ILLEGAL_TEXT_NOTICE)


async def test_content_integrated_after_it_was_judged_is_checked_at_once(
    guarded: RoomManager, store: MemoryStore
) -> None:
    writer, other = await setup(guarded)
    author = SimClient()
    author.apply_remote(writer.client.doc.get_update())
    doc = author.doc
    titre = doc.get("objectifs", type=Array)[0]["titre"]
    start = doc.get_state()
    titre.insert(0, "ab")
    typed = doc.get_update(start)
    middle = doc.get_state()
    titre.format(0, 2, {"bold": True})
    broken = doc.get_update(middle)
    # The broken part comes first: its dependency (same client, earlier clock) is unknown, so it
    # waits unjudged; the text edit that completes it is judged by its characters alone.
    writer.peer.receive(encode_update(broken))
    writer.peer.receive(encode_update(typed))
    await settle(guarded, writer, other)
    room = guarded.room("g")
    assert room is not None
    assert_sound(room.doc, other.client.doc)
    assert store.authors("g")[-1] == GUARD_AUTHOR
    assert REPAIRED_NOTICE in writer.client.denied


async def test_a_document_stored_broken_is_repaired_when_loaded(store: MemoryStore) -> None:
    broken = sample_doc()
    broken.get("pirate", type=Map)["x"] = "y"
    broken.get("objectifs", type=Array)[0]["couleur"] = "bleu"
    store.docs["g"] = StoredDoc(state=broken.get_update())
    ended: list[tuple[str, list[str]]] = []
    session_ended = anyio.Event()

    async def on_session_end(ppa_id: str, authors: Sequence[str]) -> None:
        ended.append((ppa_id, list(authors)))
        session_ended.set()

    limits = Limits(unload_after=0.01)
    async with running_manager(
        store, limits=limits, guard=LayoutGuard(), on_session_end=on_session_end
    ) as manager:
        reader = await join(manager, "g", "bruno", read_only=True)
        room = manager.room("g")
        assert room is not None
        await settle(manager, reader)
        assert_sound(room.doc, reader.client.doc)
        assert store.authors("g") == [GUARD_AUTHOR]
        assert doc_to_content(room.doc) == doc_to_content(sample_doc())
        manager.leave(reader.peer)
        with anyio.fail_after(10):
            await session_ended.wait()
    assert ended == [("g", [GUARD_AUTHOR])]
    reloaded: Doc[Any] = Doc()
    reloaded.apply_update(store.stored_state("g"))
    assert_sound(reloaded)
