"""The ASGI application: REST API, WebSocket collaboration, the browser editor's assets."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import structlog
from fastapi import FastAPI, Request, Response
from fastapi.responses import FileResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

from server.agenda.endpoints import router as agenda_router
from server.audit.endpoints import router as audit_router
from server.auth.browser_session import BrowserSessionMiddleware
from server.cercle.endpoints import router as cercle_router
from server.collab import endpoint as collab_endpoint
from server.collab.service import collaboration
from server.comments.endpoints import router as comments_router
from server.comments.live import router as live_comments_router
from server.comments.suggestions import router as suggestions_router
from server.config import Settings, get_settings
from server.db import Database
from server.errors import install_error_handlers
from server.esms.endpoints import router as esms_router
from server.exports_api.draft import router as draft_export_router
from server.exports_api.endpoints import router as exports_router
from server.fhir.endpoints import router as fhir_router
from server.fhir.import_routes import fhir_router as fhir_import_router
from server.fhir.import_routes import rest_router as import_router
from server.fhir.outcome import install_fhir_errors
from server.fhir.subscriptions import router as fhir_subscriptions_router
from server.files import private_data_dir
from server.logging import loggable_path
from server.login.endpoints import router as auth_router
from server.notifications.endpoints import router as notifications_router
from server.notifications.live import router as live_notifications_router
from server.notifications.mobile import router as mobile_router
from server.oidc.endpoints import router as oidc_router
from server.openapi import install_openapi
from server.people.endpoints import router as people_router
from server.ppas.documents import StoredDocumentSource
from server.ppas.endpoints import router as ppas_router
from server.terminology_api import router as terminology_router
from server.text_input import install_url_guard
from server.transmissions.endpoints import router as transmissions_router
from server.versions_api.content_patch import router as content_router
from server.versions_api.endpoints import router as versions_router
from server.versions_api.online_endpoints import router as online_agreement_router
from server.versions_api.service import SessionCheckpoints
from server.web import install_middleware
from server.web.docs import install_docs

log = structlog.get_logger(__name__)
WEB_DIST = Path(__file__).resolve().parent.parent / "editor" / "web" / "dist"


# Drivers that log statement parameters at DEBUG level (personal data) are capped at WARNING.
QUIET_LOGGERS = ("aiosqlite", "sqlalchemy.engine", "psycopg")


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        private_data_dir(settings.data_dir)
        app.state.db = Database(settings.resolved_database_url(), settings.pool_sizing())
        app.state.documents = StoredDocumentSource()
        try:
            checkpoints = SessionCheckpoints(app.state)
            async with collaboration(app, settings, app.state.db, checkpoints):
                yield
        finally:
            await app.state.db.dispose()

    app = FastAPI(
        title="ppa-collab",
        summary="Projet Personnalisé d'Accompagnement collaboratif",
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,  # served by server.web.docs without a CDN (or off: PPA_API_DOCS=false)
        redoc_url=None,
        swagger_ui_oauth2_redirect_url=None,
    )
    app.state.settings = settings
    install_error_handlers(app)
    install_openapi(app)
    install_url_guard(app)
    collab_endpoint.install(app)

    @app.middleware("http")
    async def access_log(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        # Our own access log: path only (ids, never query strings: they may carry tokens).
        started = time.perf_counter()
        response = await call_next(request)
        log.info(
            "http.request",
            method=request.method,
            path=loggable_path(request.url.path),
            status=response.status_code,
            ms=round((time.perf_counter() - started) * 1000, 1),
        )
        return response

    install_fhir_errors(app)  # errors under /fhir as OperationOutcome
    app.add_middleware(BrowserSessionMiddleware)  # the session cookie of API calls, WebSockets
    install_middleware(app, settings)  # after access_log: the hardening wraps it

    for router in (
        auth_router,
        oidc_router,
        people_router,
        cercle_router,
        versions_router,  # before ppas_router: /api/ppas/review-due is not a PPA id
        online_agreement_router,
        ppas_router,
        content_router,
        comments_router,
        suggestions_router,
        live_comments_router,
        terminology_router,
        audit_router,
        exports_router,
        draft_export_router,
        esms_router,
        transmissions_router,
        agenda_router,
        notifications_router,
        mobile_router,
        live_notifications_router,
        fhir_router,
        fhir_import_router,
        import_router,
        fhir_subscriptions_router,
    ):
        app.include_router(router)

    @app.get("/api/health", tags=["meta"])
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    install_docs(app, settings)

    # The browser editor (built by `npm run build` in editor/web, see scripts/bootstrap.sh):
    # looked up per request, so a bundle built after start-up is served; asset names carry a
    # content hash, index.html is revalidated. Client-side routes are URL fragments (#/ppa/<id>).
    app.mount("/assets", StaticFiles(directory=WEB_DIST / "assets", check_dir=False))

    @app.get("/", include_in_schema=False, response_model=None)
    async def index() -> FileResponse | RedirectResponse:
        if not (WEB_DIST / "index.html").is_file():
            return RedirectResponse("/docs")
        return FileResponse(WEB_DIST / "index.html", headers={"Cache-Control": "no-cache"})

    return app
