"""One error hierarchy, rendered as ``{"error": "<Code>", "detail": "<message>"}``."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import iter_route_contexts
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

log = structlog.get_logger(__name__)


class AppError(Exception):
    """Base of every error the API returns on purpose. ``detail`` is French, for people."""

    status_code: ClassVar[int] = 400
    code: ClassVar[str] = "BadRequest"

    def __init__(self, detail: str, *, extra: dict[str, Any] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra or {}


class Unauthenticated(AppError):  # noqa: N818 - named as its wire code
    status_code = 401
    code = "Unauthenticated"


class Forbidden(AppError):  # noqa: N818 - named as its wire code
    status_code = 403
    code = "Forbidden"


class NotFound(AppError):  # noqa: N818 - named as its wire code
    status_code = 404
    code = "NotFound"


class Conflict(AppError):  # noqa: N818 - named as its wire code
    status_code = 409
    code = "Conflict"


class Locked(Conflict):
    code = "Locked"


class InvalidInput(AppError):  # noqa: N818 - named as its wire code
    status_code = 422
    code = "InvalidInput"


class PayloadTooLarge(AppError):  # noqa: N818 - named as its wire code
    status_code = 413
    code = "PayloadTooLarge"


class Problem(BaseModel):
    """One invalid field of a refused request, or one blocking point of a refused validation."""

    path: str = Field(description="Dotted path of the field ('requête' for the whole request)")
    message: str = Field(description="What is wrong, in French")
    code: str | None = Field(
        default=None, description="Stable key of the content problem (refused validation only)"
    )
    severity: Literal["bloquant", "a_verifier"] | None = Field(
        default=None,
        description="'bloquant' for every problem of a refused validation (refused validation "
        "only)",
    )


class ErrorBody(BaseModel):
    """The one shape of every error answer (4xx and 5xx)."""

    # Some refusals add context (e.g. ``revision_url`` on a refused avenant).
    model_config = ConfigDict(extra="allow")

    error: str = Field(description="Machine code: Unauthenticated, Forbidden, NotFound, ...")
    detail: str = Field(description="Why, in French, for the person who will act on it")
    problems: list[Problem] | None = Field(
        default=None, description="The invalid fields, when the request was refused as invalid"
    )


def error_body(code: str, detail: str, **extra: Any) -> dict[str, Any]:
    return {"error": code, "detail": detail, **extra}


def _field_path(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "form")]
    return ".".join(parts) or "requête"


_PYDANTIC_FR = {
    "missing": "champ obligatoire manquant",
    "string_too_short": "texte trop court",
    "string_too_long": "texte trop long",
    "string_type": "texte attendu",
    "string_unicode": "caractère interdit (substitut isolé, demi-caractère) : retirez-le ou "
    "retapez le texte",
    "int_parsing": "nombre entier attendu",
    "date_from_datetime_parsing": "date attendue (AAAA-MM-JJ)",
    "date_parsing": "date attendue (AAAA-MM-JJ)",
    "date_type": "date attendue (AAAA-MM-JJ)",
    "enum": "valeur non autorisée",
    "literal_error": "valeur non autorisée",
    "extra_forbidden": "champ inconnu",
    "json_invalid": "JSON invalide",
    "model_attributes_type": "objet JSON attendu",
    "uuid_parsing": "identifiant invalide",
    "bool_parsing": "booléen attendu",
    "bool_type": "booléen attendu (true ou false)",
    "string_pattern_mismatch": "format invalide",
    "list_type": "liste attendue",
    "greater_than_equal": "valeur trop petite",
    "less_than_equal": "valeur trop grande",
}


def _subpath(err: dict[str, Any]) -> str:
    """The part of the path inside the field (a refused character deep in a PPA's content)."""
    return str((err.get("ctx") or {}).get("subpath", ""))


def _problem_message(err: dict[str, Any]) -> str:
    kind = str(err.get("type", ""))
    if kind == "value_error":
        ctx = err.get("ctx") or {}
        cause = ctx.get("error")
        return str(cause) if cause is not None else str(err.get("msg", ""))
    if kind in _PYDANTIC_FR:
        message = _PYDANTIC_FR[kind]
        if kind == "enum":
            expected = (err.get("ctx") or {}).get("expected")
            if expected:
                message += f" (attendu : {expected})"
        return message
    return str(err.get("msg", "valeur invalide"))


def allowed_methods(request: Request) -> str:
    """The ``Allow`` header of a 405: the methods of every route on this path, not only the
    first route Starlette tried (``GET /api/ppas/{id}`` and ``PATCH`` are two routes)."""
    matches: dict[int, set[str]] = {}  # path parameters -> methods
    for route in iter_route_contexts(request.app.routes):
        regex = getattr(route, "path_regex", None)
        if regex is not None and regex.match(request.scope["path"]):
            templated = str(route.path_format).count("{")
            matches.setdefault(templated, set()).update(route.methods or ())
    # As OpenAPI reads paths: a concrete one (/api/ppas/review-due) before a templated one.
    return ", ".join(sorted(matches[min(matches)])) if matches else ""


CONTENTION_MARKERS = (
    "database is locked",  # SQLite: busy timeout elapsed
    "could not serialize access",  # PostgreSQL serialization failure
    "deadlock detected",
    "lock timeout",
    "canceling statement due to lock timeout",
)


def is_contention(exc: OperationalError) -> bool:
    """Whether the database refused for lack of a lock (retryable), not because it is broken."""
    return any(marker in str(exc.orig) for marker in CONTENTION_MARKERS)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def _app_error(_request: Request, exc: AppError) -> JSONResponse:
        return JSONResponse(
            error_body(exc.code, exc.detail, **exc.extra), status_code=exc.status_code
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [
            {
                "path": _field_path(tuple(err.get("loc", ()))) + _subpath(err),
                "message": _problem_message(err),
            }
            for err in exc.errors()
        ]
        detail = " ; ".join(f"{p['path']} : {p['message']}" for p in problems)
        return JSONResponse(error_body("InvalidInput", detail, problems=problems), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        codes = {
            401: "Unauthenticated",
            403: "Forbidden",
            404: "NotFound",
            405: "MethodNotAllowed",
            409: "Conflict",
            413: "PayloadTooLarge",
        }
        detail = exc.detail if isinstance(exc.detail, str) else "Erreur"
        headers = getattr(exc, "headers", None)
        if exc.status_code == 400:
            # Starlette's "There was an error parsing the body": an invalid request like any other.
            problem = {"path": "requête", "message": "corps illisible (JSON ou formulaire attendu)"}
            body = error_body("InvalidInput", "requête : " + problem["message"], problems=[problem])
            return JSONResponse(body, status_code=422)
        if exc.status_code == 404 and detail == "Not Found":
            detail = "Ressource introuvable."
        if exc.status_code == 405:
            detail = "Méthode non autorisée sur cette adresse."
            headers = {**(headers or {}), "Allow": allowed_methods(request)}
        return JSONResponse(
            error_body(codes.get(exc.status_code, "HttpError"), detail),
            status_code=exc.status_code,
            headers=headers,
        )

    @app.exception_handler(IntegrityError)
    async def _integrity(request: Request, exc: IntegrityError) -> JSONResponse:
        # A constraint caught what a check should have: refuse clearly, nothing was written.
        log.warning("http.integrity_error", path=request.url.path)
        return JSONResponse(
            error_body(
                "Conflict",
                "La demande contredit des données existantes (doublon ou référence inconnue) : "
                "rien n'a été enregistré.",
            ),
            status_code=409,
        )

    @app.exception_handler(DataError)
    async def _data(request: Request, exc: DataError) -> JSONResponse:
        # A value the database cannot hold (PostgreSQL text refuses NUL): refused, nothing written.
        log.warning("http.data_error", path=request.url.path)
        return JSONResponse(
            error_body(
                "InvalidInput",
                "Une valeur ne peut pas être enregistrée (caractère nul ou valeur hors limites) : "
                "rien n'a été enregistré.",
            ),
            status_code=422,
        )

    @app.exception_handler(OperationalError)
    async def _operational(request: Request, exc: OperationalError) -> JSONResponse:
        if not is_contention(exc):
            return await _unexpected(request, exc)
        # Another writer held the database past the busy timeout (SQLite) or the transaction
        # lost a lock race (PostgreSQL): rolled back, nothing written; the client may retry.
        log.warning("http.database_busy", path=request.url.path)
        return JSONResponse(
            error_body(
                "Busy",
                "Le service est momentanément occupé : rien n'a été enregistré. "
                "Réessayez dans quelques secondes.",
            ),
            status_code=503,
            headers={"Retry-After": "2"},
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.error("http.unhandled_error", path=request.url.path, error_type=type(exc).__name__)
        return JSONResponse(
            error_body("InternalError", "Erreur interne du service. Réessayez plus tard."),
            status_code=500,
        )
