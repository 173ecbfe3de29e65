"""``/`` serves the browser editor once its bundle is built (``editor/web/dist``), in French."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from tests.conftest import LiveServer

pytestmark = pytest.mark.browser


def test_root_serves_the_built_editor_in_french(web_bundle: Path, live_server: LiveServer) -> None:
    response = httpx.get(f"{live_server.url}/", follow_redirects=False)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["cache-control"] == "no-cache"
    assert response.text == web_bundle.read_text(encoding="utf-8")
    assert re.search(r'<html lang="fr">', response.text)
    assert "<title>PPA collaboratif</title>" in response.text

    # the script and the stylesheet it names are served too
    assets = re.findall(r'(?:src|href)="(/assets/[^"]+)"', response.text)
    assert sorted(Path(a).suffix for a in assets) == [".css", ".js"]
    for asset in assets:
        served = httpx.get(f"{live_server.url}{asset}")
        assert served.status_code == 200, asset
        assert served.content == (web_bundle.parent / asset.lstrip("/")).read_bytes()


def test_root_points_to_the_api_docs_without_a_bundle(
    live_server: LiveServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import server.app

    monkeypatch.setattr(server.app, "WEB_DIST", tmp_path / "dist")
    response = httpx.get(f"{live_server.url}/", follow_redirects=False)
    assert response.status_code in (302, 307), response.text
    assert response.headers["location"] == "/docs"
