"""FHIR answers: ``application/fhir+json`` bodies, and every error under ``/fhir`` as an
``OperationOutcome`` with its French diagnostics (the API's own errors, 401/403/404, validation)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request, Response

FHIR_JSON = "application/fhir+json"
PREFIX = "/fhir"

ISSUE_CODES = {
    400: "invalid",
    401: "login",
    403: "forbidden",
    404: "not-found",
    405: "not-supported",
    406: "not-supported",
    409: "conflict",
    412: "conflict",
    413: "too-costly",
    415: "not-supported",
    422: "invalid",
    423: "lock-error",
}


PARAM_HELP = {
    "patient.identifier": "attendu <système INS>|<matricule INS>, le système étant "
    "urn:oid:1.2.250.1.213.1.4.8 (NIR), .9 (NIA), .10 (test) ou .11 (démo), par exemple "
    "urn:oid:1.2.250.1.213.1.4.10|298046912304540",
}
"""What a search parameter expects, added to the diagnostics of a refused value."""


def fhir_response(
    body: dict[str, Any], status_code: int = 200, *, headers: dict[str, str] | None = None
) -> Response:
    """A FHIR JSON answer (compact UTF-8)."""
    data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return Response(data, status_code=status_code, media_type=FHIR_JSON, headers=headers)


def operation_outcome(
    status_code: int, detail: str, problems: list[tuple[str, str]] | None = None
) -> dict[str, Any]:
    """An OperationOutcome: one issue per problem (``(path, message)``), else one for ``detail``."""
    code = ISSUE_CODES.get(status_code, "exception" if status_code >= 500 else "processing")
    issues = [
        {
            "severity": "error",
            "code": code,
            "diagnostics": message,
            **({"expression": [path]} if path else {}),
        }
        for path, message in (problems or [("", detail)])
    ]
    return {"resourceType": "OperationOutcome", "issue": issues}


JSON_FORMATS = (
    "json",
    "application/json",
    "application/fhir+json",
    "application/json+fhir",
    "*/*",
    "application/*",
)


def _acceptable(media: str) -> bool:
    """Whether one media range (``_format`` value or ``Accept`` item) admits our JSON."""
    kind = media.split(";")[0].strip().lower()
    params = [p.strip().replace(" ", "") for p in media.split(";")[1:]]
    return kind in JSON_FORMATS and "q=0" not in params


def _json_acceptable(request: Request) -> bool:
    """FHIR http.html: ``_format`` overrides ``Accept``; a server that cannot answer in the
    format asked for answers 406. We answer JSON only."""
    fmt = request.query_params.get("_format")
    if fmt is not None:
        return _acceptable(fmt)
    accept = request.headers.get("accept", "").strip()
    return not accept or any(_acceptable(item) for item in accept.split(","))


def install_fhir_errors(app: FastAPI) -> None:
    """Rewrite the API's error answers (``{"error", "detail", "problems"}``) under ``/fhir`` as
    OperationOutcomes, keeping status and headers (``WWW-Authenticate``, ``Allow``); refuse
    (406) a request asking for a format other than JSON."""

    @app.middleware("http")
    async def fhir_errors(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        path = request.url.path
        if (path == PREFIX or path.startswith(PREFIX + "/")) and not _json_acceptable(request):
            return fhir_response(
                operation_outcome(
                    406,
                    "Format non pris en charge : ce serveur FHIR répond en JSON uniquement "
                    "(application/fhir+json, _format=json).",
                ),
                406,
            )
        response = await call_next(request)
        if not (path == PREFIX or path.startswith(PREFIX + "/")) or response.status_code < 400:
            return response
        if response.headers.get("content-type", "").startswith(FHIR_JSON):
            return response
        raw = b""
        async for chunk in response.body_iterator:  # type: ignore[attr-defined]
            raw += chunk if isinstance(chunk, bytes) else chunk.encode("utf-8")
        try:
            body = json.loads(raw)
        except ValueError:
            body = {}
        detail = str(body.get("detail") or "Erreur") if isinstance(body, dict) else "Erreur"
        problems = [
            (path, f"{message} : {PARAM_HELP[path]}" if path in PARAM_HELP else message)
            for path, message in (
                (str(p.get("path", "")), str(p.get("message", "")))
                for p in (body.get("problems") or [] if isinstance(body, dict) else [])
            )
        ]
        headers = {
            k: v
            for k, v in response.headers.items()
            if k.lower() not in ("content-length", "content-type")
        }
        return fhir_response(
            operation_outcome(response.status_code, detail, problems or None),
            response.status_code,
            headers=headers,
        )
