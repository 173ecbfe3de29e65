"""A minimal y-websocket client (pycrdt) editing a PPA through the real app's collaboration
endpoint, as the browser editor does: edits land in the update log under the user's id."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from pycrdt import Doc
from websockets.asyncio.client import ClientConnection, connect

from editor.collab.protocol import (
    AuthMessage,
    Notice,
    SyncStep1,
    SyncStep2,
    SyncUpdate,
    decode_messages,
    decode_state_vector,
    encode_sync_step1,
    encode_sync_step2,
    encode_update,
)
from editor.crdt import doc_to_content, write_content
from editor.schema import PPAContent


class LiveEditor:
    """One connection: sync, edit the content, wait until the server says it is stored."""

    def __init__(self, ws_base: str, ppa_id: str, token: str) -> None:
        self.url = f"{ws_base}/ws/ppa/{ppa_id}?token={token}"
        self.doc: Doc[Any] = Doc()
        self.durable: bytes | None = None
        self.synced = False
        self.denied: list[Notice] = []
        self.ws: ClientConnection | None = None

    async def __aenter__(self) -> LiveEditor:
        self.ws = await connect(self.url, max_size=None, compression=None)
        await self.ws.send(encode_sync_step1(self.doc.get_state()))
        await self.pump_until(lambda: self.synced)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.ws is not None:
            await self.ws.close()

    async def pump_until(self, done: Callable[[], bool], within: float = 15.0) -> None:
        assert self.ws is not None
        async with asyncio.timeout(within):
            while not done():
                frame = await self.ws.recv()
                assert isinstance(frame, bytes)
                for message in decode_messages(frame):
                    if isinstance(message, SyncStep1):
                        self.durable = message.state_vector
                        reply = encode_sync_step2(self.doc.get_update(message.state_vector))
                        await self.ws.send(reply)
                    elif isinstance(message, SyncStep2 | SyncUpdate):
                        self.doc.apply_update(message.update)
                        self.synced = self.synced or isinstance(message, SyncStep2)
                    elif isinstance(message, AuthMessage) and message.reason is not None:
                        self.denied.append(Notice.parse(message.reason))

    def content(self) -> PPAContent:
        return doc_to_content(self.doc)

    def stored(self) -> bool:
        mine = decode_state_vector(self.doc.get_state()).get(self.doc.client_id, 0)
        durable = decode_state_vector(self.durable) if self.durable is not None else {}
        return durable.get(self.doc.client_id, 0) >= mine

    async def send_edit(self, mutate: Callable[[PPAContent], Any]) -> None:
        assert self.ws is not None
        before = self.doc.get_state()
        content = self.content()
        mutate(content)
        write_content(self.doc, content)
        await self.ws.send(encode_update(self.doc.get_update(before)))

    async def edit(self, mutate: Callable[[PPAContent], Any]) -> None:
        """Edit and wait until the server acknowledged the edit as durably stored."""
        await self.send_edit(mutate)
        await self.pump_until(self.stored)


def edit_over_websocket(
    ws_base: str, ppa_id: str, token: str, mutate: Callable[[PPAContent], Any]
) -> None:
    async def run() -> None:
        async with LiveEditor(ws_base, ppa_id, token) as editor:
            await editor.edit(mutate)

    asyncio.run(run())
