"""The browser's WebSocket: authenticated by the session cookie (no token in its URL), refused
(HTTP 403 before the handshake completes, traced denied) when another site's page opens it, and
closed (4401) once its session ends (logout, idle time)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from websockets.exceptions import InvalidStatus

from editor.collab.errors import CloseCode
from editor.collab.protocol import encode_query_awareness
from server.auth import browser_session
from server.collab import session_watch
from server.collab.session_watch import SESSION_ENDED_REASON
from server.db import utcnow
from tests.collab.app import audit_actions, fresh_ppa, token_of
from tests.collab.live import WsClient
from tests.conftest import Api, DatabaseInfo, LiveServer, browser_login
from tests.server.versions.helpers import COORD

FOREIGN = "https://evil.example"


def session_cookie(api: Api) -> str:
    value = api.client.cookies.get("ppa_session")
    assert value, "no session cookie"
    return f"ppa_session={value}"


def user_id(api_as: Any, username: str) -> str:
    me: str = api_as(username).get("/api/auth/me").json()["id"]
    return me


async def open_socket(
    clients: list[WsClient], live_server: LiveServer, ppa_id: str, headers: dict[str, str]
) -> WsClient:
    client = WsClient(f"{live_server.ws_url}/ws/ppa", ppa_id, "", headers=headers)
    clients.append(client)
    await client.connect()
    return client


async def test_the_session_cookie_opens_the_socket_from_the_editor_origin(
    live_server: LiveServer,
    api_as: Any,
    session_as: Any,
    demo: dict[str, Any],
    open_clients: list[WsClient],
) -> None:
    cercle = fresh_ppa(api_as, demo)
    headers = {"Cookie": session_cookie(session_as(COORD)), "Origin": live_server.url}
    client = await open_socket(open_clients, live_server, cercle.ppa_id, headers)
    await asyncio.wait_for(client.synced.wait(), 10)
    assert client.close_code is None


@pytest.mark.parametrize("credential", ["cookie", "token"])
async def test_a_foreign_origin_is_refused_before_the_handshake(
    credential: str,
    live_server: LiveServer,
    api_as: Any,
    session_as: Any,
    demo: dict[str, Any],
    database: DatabaseInfo,
    open_clients: list[WsClient],
) -> None:
    cercle = fresh_ppa(api_as, demo)
    headers = {"Origin": FOREIGN}
    token = ""
    if credential == "cookie":
        headers["Cookie"] = session_cookie(session_as(COORD))
    else:
        token = token_of(api_as, COORD)
    client = WsClient(f"{live_server.ws_url}/ws/ppa", cercle.ppa_id, token, headers=headers)
    with pytest.raises(InvalidStatus) as refused:
        await client.connect()
    assert refused.value.response.status_code == 403
    assert ("ppa.live_open", "denied", user_id(api_as, COORD)) in audit_actions(
        database, cercle.ppa_id
    )


@pytest.mark.parametrize("origin", ["http://localhost:1", "null", "http://127.0.0.1"])
async def test_other_ports_hosts_and_opaque_origins_are_foreign(
    origin: str, live_server: LiveServer, api_as: Any, demo: dict[str, Any]
) -> None:
    cercle = fresh_ppa(api_as, demo)
    client = WsClient(
        f"{live_server.ws_url}/ws/ppa",
        cercle.ppa_id,
        token_of(api_as, COORD),
        headers={"Origin": origin},
    )
    with pytest.raises(InvalidStatus) as refused:
        await client.connect()
    assert refused.value.response.status_code == 403


async def test_an_ended_session_is_4401(
    live_server: LiveServer,
    api_as: Any,
    demo: dict[str, Any],
    open_clients: list[WsClient],
) -> None:
    cercle = fresh_ppa(api_as, demo)
    passwords = {login["username"]: login["password"] for login in demo["logins"]}
    browser = Api(live_server)
    browser_login(browser, COORD, passwords[COORD])
    cookie = session_cookie(browser)
    assert browser.post("/api/auth/logout").status_code == 200
    headers = {"Cookie": cookie, "Origin": live_server.url}
    for extra in ({}, {"Cookie": "ppa_session=forged"}, {"Cookie": ""}):
        client = await open_socket(open_clients, live_server, cercle.ppa_id, headers | extra)
        assert await client.wait_closed() == CloseCode.UNAUTHENTICATED
        assert client.received_updates == []
    browser.client.close()


@pytest.fixture
def quick_checks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(session_watch, "CHECK_SECONDS", 0.2)


async def test_logout_closes_the_sessions_live_connections(
    live_server: LiveServer,
    api_as: Any,
    demo: dict[str, Any],
    open_clients: list[WsClient],
    quick_checks: None,
) -> None:
    cercle = fresh_ppa(api_as, demo)
    passwords = {login["username"]: login["password"] for login in demo["logins"]}
    browser = Api(live_server)
    browser_login(browser, COORD, passwords[COORD])
    headers = {"Cookie": session_cookie(browser), "Origin": live_server.url}
    client = await open_socket(open_clients, live_server, cercle.ppa_id, headers)
    await asyncio.wait_for(client.synced.wait(), 10)
    await asyncio.to_thread(browser.post, "/api/auth/logout")
    assert await client.wait_closed() == CloseCode.UNAUTHENTICATED
    assert client.close_reason == SESSION_ENDED_REASON
    browser.client.close()


async def test_a_connection_in_use_keeps_its_session_an_idle_one_ends(
    live_server: LiveServer,
    api_as: Any,
    demo: dict[str, Any],
    open_clients: list[WsClient],
    quick_checks: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    offset = [timedelta()]
    monkeypatch.setattr(browser_session, "utcnow", lambda: utcnow() + offset[0])
    cercle = fresh_ppa(api_as, demo)
    passwords = {login["username"]: login["password"] for login in demo["logins"]}
    browser = Api(live_server)
    browser_login(browser, COORD, passwords[COORD])
    headers = {"Cookie": session_cookie(browser), "Origin": live_server.url}
    client = await open_socket(open_clients, live_server, cercle.ppa_id, headers)
    await asyncio.wait_for(client.synced.wait(), 10)
    for _ in range(3):  # 87 minutes of typing, no REST call
        offset[0] += timedelta(minutes=29)
        await client.send(encode_query_awareness())
        await asyncio.sleep(0.6)  # a few checks
        assert client.close_code is None
    offset[0] += timedelta(minutes=31)  # then half an hour without a frame
    assert await client.wait_closed() == CloseCode.UNAUTHENTICATED
    assert client.close_reason == SESSION_ENDED_REASON
    response = await asyncio.to_thread(browser.get, "/api/auth/me")
    assert response.status_code == 401
    browser.client.close()
