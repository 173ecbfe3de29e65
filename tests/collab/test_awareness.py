"""Presence: relayed to the others, owned by one connection, cleaned up on disconnect."""

from __future__ import annotations

from editor.collab.manager import RoomManager
from editor.collab.protocol import (
    AwarenessEntry,
    AwarenessMessage,
    decode_awareness,
    decode_messages,
    encode_awareness,
    encode_query_awareness,
)
from tests.collab.channels import join


def entries(frames: list[bytes]) -> list[AwarenessEntry]:
    out: list[AwarenessEntry] = []
    for frame in frames:
        for message in decode_messages(frame):
            if isinstance(message, AwarenessMessage):
                out.extend(message.entries)
    return out


async def test_presence_is_relayed_once_encoded_to_the_others(manager: RoomManager) -> None:
    alice = await join(manager, "a1", "alice")
    bruno = await join(manager, "a1", "bruno")
    claire = await join(manager, "a1", "claire")
    for s in (alice, bruno, claire):
        s.channel.take()
    frame = encode_awareness([AwarenessEntry(11, 1, '{"user":{"name":"Alice"}}')])
    alice.peer.receive(frame)
    assert alice.channel.sent == []
    assert bruno.channel.sent == [frame]
    assert claire.channel.sent == [frame]
    assert bruno.channel.sent[0] is claire.channel.sent[0]


async def test_joiner_and_query_get_current_presence(manager: RoomManager) -> None:
    alice = await join(manager, "a2", "alice")
    alice.peer.receive(encode_awareness([AwarenessEntry(11, 1, '{"n":1}')]))
    bruno = await join(manager, "a2", "bruno")
    assert bruno.client.awareness
    assert decode_awareness(bruno.client.awareness[-1]) == (AwarenessEntry(11, 1, '{"n":1}'),)
    bruno.channel.take()
    bruno.peer.receive(encode_query_awareness())
    assert entries(bruno.channel.sent) == [AwarenessEntry(11, 1, '{"n":1}')]


async def test_presence_of_another_connection_cannot_be_overwritten(
    manager: RoomManager,
) -> None:
    alice = await join(manager, "a3", "alice")
    mallory = await join(manager, "a3", "mallory")
    alice.peer.receive(encode_awareness([AwarenessEntry(11, 1, '{"n":"alice"}')]))
    alice.channel.take()
    mallory.peer.receive(encode_awareness([AwarenessEntry(11, 5, '{"n":"faux"}')]))
    assert alice.channel.sent == []


async def test_stale_clock_is_dropped(manager: RoomManager) -> None:
    alice = await join(manager, "a4", "alice")
    bruno = await join(manager, "a4", "bruno")
    alice.peer.receive(encode_awareness([AwarenessEntry(11, 3, '{"n":3}')]))
    bruno.channel.take()
    alice.peer.receive(encode_awareness([AwarenessEntry(11, 2, '{"n":2}')]))
    assert bruno.channel.sent == []


async def test_leaving_removes_presence_for_the_others(manager: RoomManager) -> None:
    alice = await join(manager, "a5", "alice")
    bruno = await join(manager, "a5", "bruno")
    alice.peer.receive(encode_awareness([AwarenessEntry(11, 4, '{"n":1}')]))
    bruno.channel.take()
    manager.leave(alice.peer)
    assert entries(bruno.channel.sent) == [AwarenessEntry(11, 5, "null")]
    carol = await join(manager, "a5", "carol")
    assert carol.client.awareness == []
