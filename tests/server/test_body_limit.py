"""Request bodies over ``PPA_MAX_BODY_BYTES`` (2 MiB) are refused with 413 before they are read,
authenticated or not, with or without a Content-Length.

A raw socket offers a 100 MB body against the real uvicorn server and counts the bytes the
server let it send before answering: the server reads no more than the limit plus what the
kernel's socket buffers hold, never the 100 MB.
"""

from __future__ import annotations

import json
import select
import socket
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import DatabaseInfo, LiveServer, make_settings

HUNDRED_MB = 100 * 1024 * 1024
CHUNK = 64 * 1024
SOCKET_BUFFERS_AT_MOST = 32 * 1024 * 1024
"""Bytes the client may push into loopback socket buffers before the server's answer is seen."""


def _headers(path: str, extra: dict[str, str]) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", *(f"{k}: {v}" for k, v in extra.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _read_response(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    data = b""
    sock.settimeout(30)
    while b"\r\n\r\n" not in data:
        part = sock.recv(65536)
        if not part:
            break
        data += part
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        part = sock.recv(65536)
        if not part:
            break
        body += part
    return status, headers, body


def offer_body(
    server: LiveServer, path: str, *, chunked: bool, extra: dict[str, str] | None = None
) -> tuple[int, dict[str, Any], int]:
    """POST a 100 MB body, stopping as soon as the server answers: (status, JSON, bytes sent)."""
    headers = {"Content-Type": "application/json", **(extra or {})}
    if chunked:
        headers["Transfer-Encoding"] = "chunked"
    else:
        headers["Content-Length"] = str(HUNDRED_MB)
    sent = 0
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        sock.sendall(_headers(path, headers))
        payload = b"a" * CHUNK
        frame = f"{CHUNK:x}\r\n".encode() + payload + b"\r\n" if chunked else payload
        try:
            while sent < HUNDRED_MB:
                readable, _, _ = select.select([sock], [], [], 0)
                if readable:
                    break
                sock.sendall(frame)
                sent += CHUNK
            else:
                if chunked:
                    sock.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass
        status, _, body = _read_response(sock)
    return status, json.loads(body), sent


def assert_refused(status: int, body: dict[str, Any], sent: int) -> None:
    assert status == 413, (status, body)
    assert body["error"] == "PayloadTooLarge"
    assert "trop volumineuse" in body["detail"]
    assert sent < SOCKET_BUFFERS_AT_MOST, sent


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_anonymous_100_mb_body_is_refused_before_it_is_read(
    live_server: LiveServer, chunked: bool
) -> None:
    assert_refused(*offer_body(live_server, "/api/auth/token", chunked=chunked))
    assert_refused(*offer_body(live_server, "/api/persons", chunked=chunked))


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_authenticated_100_mb_body_is_refused_before_it_is_read(
    live_server: LiveServer, api_as: Any, chunked: bool
) -> None:
    token = api_as("coordinatrice").token
    auth = {"Authorization": f"Bearer {token}"}
    assert_refused(*offer_body(live_server, "/api/persons", chunked=chunked, extra=auth))


def test_the_declared_length_alone_is_refused_without_a_byte_of_body(
    live_server: LiveServer,
) -> None:
    with socket.create_connection(("127.0.0.1", live_server.port), timeout=30) as sock:
        sock.sendall(_headers("/api/persons", {"Content-Length": str(2 * 1024 * 1024 + 1)}))
        status, headers, body = _read_response(sock)
    assert status == 413
    assert json.loads(body)["error"] == "PayloadTooLarge"
    assert "content-security-policy" in headers


def test_bodies_within_the_limit_reach_the_route(live_server: LiveServer, api_as: Any) -> None:
    coord = api_as("coordinatrice")
    big = {"note": "x" * (1024 * 1024)}  # 1 MiB: validated (unknown field), not refused for size
    response = coord.post("/api/persons", json=big)
    assert response.status_code == 422, response.text


def test_the_limit_is_configurable(database: DatabaseInfo, tmp_path: Path) -> None:
    server = LiveServer(make_settings(database, tmp_path, max_body_bytes=4096))
    server.start()
    try:
        url = f"{server.url}/api/auth/token"
        small = httpx.post(url, data={"username": "u", "password": "p" * 3000}, timeout=30)
        assert small.status_code == 401, small.text
        large = httpx.post(url, data={"username": "u", "password": "p" * 5000}, timeout=30)
        assert large.status_code == 413, large.text

        def stream() -> Any:
            for _ in range(4):
                yield b"p" * 2000

        chunked = httpx.post(
            url,
            content=stream(),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            timeout=30,
        )
        assert chunked.status_code == 413, chunked.text
    finally:
        server.stop()
