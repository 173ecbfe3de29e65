"""Browser hardening: every answer carries a Content-Security-Policy without inline script,
frame-ancestors 'none', no-referrer, nosniff and a Permissions-Policy (HSTS when the public URL
is https); /docs loads its assets from the service itself (or is off with PPA_API_DOCS=false)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from server.app import WEB_DIST
from tests.conftest import DatabaseInfo, LiveServer, make_settings


def csp_directives(response: httpx.Response) -> dict[str, str]:
    policy = response.headers["content-security-policy"]
    return {
        part.strip().split(" ", 1)[0]: part.strip().partition(" ")[2]
        for part in policy.split(";")
        if part.strip()
    }


def assert_hardened(response: httpx.Response, *, https: bool = False) -> None:
    what = (response.request.method, response.request.url.path, response.status_code)
    directives = csp_directives(response)
    assert directives["script-src"] == "'self'", what
    assert directives["default-src"] == "'self'", what
    assert directives["frame-ancestors"] == "'none'", what
    assert directives["object-src"] == "'none'", what
    assert "unsafe-inline" not in response.headers["content-security-policy"], what
    assert "unsafe-eval" not in response.headers["content-security-policy"], what
    assert response.headers["referrer-policy"] == "no-referrer", what
    assert response.headers["x-content-type-options"] == "nosniff", what
    assert "camera=()" in response.headers["permissions-policy"], what
    assert ("strict-transport-security" in response.headers) is https, what


def test_every_answer_carries_the_headers(live_server: LiveServer, api_as: Any) -> None:
    coord = api_as("coordinatrice")
    anonymous = api_as("anonymous")
    answers = [
        anonymous.get("/"),
        anonymous.get("/api/health"),
        anonymous.get("/openapi.json"),
        anonymous.get("/docs"),
        anonymous.get("/api/persons"),  # 401
        anonymous.get("/api/nowhere"),  # 404
        anonymous.post("/api/auth/token", data={"username": "x", "password": "y"}),  # 401
        coord.get("/api/persons"),
        coord.post("/api/persons", json={"evil": 1}),  # 422
        coord.client.request("DELETE", "/api/persons"),  # 405
        anonymous.post("/api/persons", content=b"x" * (3 * 1024 * 1024)),  # 413
    ]
    assets = re.findall(r'(?:src|href)="(/assets/[^"]+)"', answers[0].text)
    answers += [anonymous.get(path) for path in assets]
    statuses = {r.status_code for r in answers}
    assert {200, 401, 404, 405, 413, 422} <= statuses
    for response in answers:
        assert_hardened(response)


def test_the_editor_page_needs_no_inline_script_or_style() -> None:
    html = (WEB_DIST / "index.html").read_text(encoding="utf-8")
    scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", html, re.S)
    assert scripts
    for attributes, body in scripts:
        assert 'src="/assets/' in attributes
        assert body.strip() == ""
    assert "<style" not in html
    assert not re.search(r"\sstyle=", html)
    assert not re.search(r"\son[a-z]+=", html)  # no inline event handler either


def test_docs_load_their_assets_from_the_service(live_server: LiveServer) -> None:
    page = httpx.get(f"{live_server.url}/docs", timeout=30)
    assert page.status_code == 200
    assert_hardened(page)
    scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", page.text, re.S)
    assert len(scripts) == 2
    assert all(body.strip() == "" for _, body in scripts)
    urls = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert urls
    assert all(url.startswith("/api/docs-assets/") for url in urls), urls
    for url in urls:
        asset = httpx.get(f"{live_server.url}{url}", timeout=30)
        assert asset.status_code == 200, url
        assert_hardened(asset)
    init = httpx.get(f"{live_server.url}/api/docs-assets/swagger-init.js", timeout=30)
    assert init.headers["content-type"].startswith("text/javascript")
    assert '"/openapi.json"' in init.text
    assert httpx.get(f"{live_server.url}/redoc", timeout=30).status_code == 404


@pytest.fixture
def server_with(database: DatabaseInfo, tmp_path: Path) -> Any:
    started: list[LiveServer] = []

    def start(**overrides: Any) -> LiveServer:
        server = LiveServer(make_settings(database, tmp_path, **overrides))
        server.start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def test_hsts_when_the_public_url_is_https(server_with: Any) -> None:
    server = server_with(public_url="https://ppa.example.org")
    for path in ("/api/health", "/api/nowhere", "/docs"):
        response = httpx.get(f"{server.url}{path}", timeout=30)
        assert_hardened(response, https=True)
        assert response.headers["strict-transport-security"].startswith("max-age=")


def test_docs_can_be_turned_off(server_with: Any) -> None:
    server = server_with(api_docs=False)
    for path in (
        "/docs",
        "/api/docs-assets/swagger-ui-bundle.js",
        "/api/docs-assets/swagger-init.js",
    ):
        response = httpx.get(f"{server.url}{path}", timeout=30)
        assert response.status_code == 404, path
        assert_hardened(response)
    assert httpx.get(f"{server.url}/openapi.json", timeout=30).status_code == 200
