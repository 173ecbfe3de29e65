"""Compaction: the log folds into the stored state; authorship stays."""

from __future__ import annotations

from typing import Any

from pycrdt import Doc, Text

from editor.collab.ports import Limits
from editor.collab.updates import fold_updates
from tests.collab.channels import join
from tests.collab.conftest import running_manager
from tests.collab.stores import MemoryStore


def text_of(update: bytes) -> str:
    doc: Doc[Any] = Doc()
    doc.apply_update(update)
    return str(doc.get("t", type=Text))


def test_fold_updates_equals_applying_them() -> None:
    doc: Doc[Any] = Doc()
    text = doc.get("t", type=Text)
    updates = []
    state = doc.get_state()
    for word in ("un", " deux", " trois"):
        text += word
        updates.append(doc.get_update(state))
        state = doc.get_state()
    folded = fold_updates(None, updates[:2])
    assert text_of(fold_updates(folded, updates[2:])) == "un deux trois"


async def test_room_compacts_every_n_updates_and_keeps_authors() -> None:
    store = MemoryStore()
    async with running_manager(store, limits=Limits(compact_every=10)) as manager:
        alice = await join(manager, "c1", "alice")
        bruno = await join(manager, "c1", "bruno")
        room = manager.room("c1")
        assert room is not None
        for i in range(25):
            session = alice if i % 2 else bruno
            session.client.text += str(i % 10)
            session.pump()
            await room.flush()
            alice.pump()
            bruno.pump()
        await room.settle()
        doc = store.docs["c1"]
        assert doc.state is not None
        assert doc.state_seq >= 20
        assert len(doc.rows) == 25
        assert [row.author for row in doc.rows][:4] == ["bruno", "alice", "bruno", "alice"]
        assert all(row.update is None for row in doc.rows if row.seq <= doc.state_seq)
        assert text_of(store.stored_state("c1")) == str(room.doc.get("t", type=Text))

    async with running_manager(store) as manager:
        late = await join(manager, "c1", "claire")
        assert late.text == "".join(str(i % 10) for i in range(25))
