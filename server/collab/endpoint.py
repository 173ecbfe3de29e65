"""The WebSocket endpoint of the live PPA documents (y-websocket protocol)."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, WebSocket

from server.collab.channel import RawSendMiddleware
from server.collab.service import CollabService, hide_websocket_tokens

router = APIRouter(tags=["collaboration"])


@router.websocket("/ws/ppa/{ppa_id}")
async def ppa_socket(websocket: WebSocket, ppa_id: str) -> None:
    """Edit the PPA's document live: stock ``y-websocket`` ``WebsocketProvider(
    'ws(s)://HOST/ws/ppa', ppaId, doc, {params: {token}})``. See ``docs/collaboration.md``."""
    service: CollabService = websocket.app.state.collab
    await service.serve(websocket, ppa_id)


def install(app: FastAPI) -> None:
    """Route, direct-write middleware and token-free WebSocket logs."""
    app.include_router(router)
    app.add_middleware(RawSendMiddleware)
    hide_websocket_tokens()
