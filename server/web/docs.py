"""The API documentation (/docs): Swagger UI served from the service itself, no CDN.

The assets come from the ``fastapi-offline`` package; the page loads them and a start-up script
from ``/api/docs-assets`` (no inline script: the Content-Security-Policy allows none).
``PPA_API_DOCS=false`` turns the page off (``/openapi.json`` stays).
"""

from __future__ import annotations

from html import escape
from pathlib import Path

import fastapi_offline
from fastapi import FastAPI
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

from server.config import Settings

ASSETS = Path(fastapi_offline.__file__).resolve().parent / "static"
PREFIX = "/api/docs-assets"

_INIT_JS = """window.ui = SwaggerUIBundle({
  url: %s,
  dom_id: "#swagger-ui",
  layout: "BaseLayout",
  deepLinking: true,
  showExtensions: true,
  showCommonExtensions: true,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset]
});
"""


def docs_page(title: str) -> str:
    return f"""<!doctype html>
<html lang="fr">
<head>
<meta charset="utf-8">
<title>{escape(title)} - API</title>
<link rel="icon" href="{PREFIX}/favicon.png">
<link rel="stylesheet" href="{PREFIX}/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="{PREFIX}/swagger-ui-bundle.js"></script>
<script src="{PREFIX}/swagger-init.js"></script>
</body>
</html>
"""


def install_docs(app: FastAPI, settings: Settings) -> None:
    """Add /docs and its assets (create the app with ``docs_url=None, redoc_url=None``)."""
    if not settings.api_docs or app.openapi_url is None:
        return
    import json

    init_js = _INIT_JS % json.dumps(app.openapi_url)
    page = docs_page(app.title)

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return HTMLResponse(page)

    @app.get(f"{PREFIX}/swagger-init.js", include_in_schema=False)
    async def swagger_init() -> Response:
        return Response(init_js, media_type="text/javascript")

    app.mount(PREFIX, StaticFiles(directory=ASSETS), name="docs-assets")
