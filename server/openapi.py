"""The OpenAPI document: one error shape, documented for every status each route answers.

FastAPI documents only what a route declares; our errors come from shared dependencies and
handlers, so the statuses are derived here from what a route depends on (rules below) and
added to the generated document, with :class:`~server.errors.ErrorBody` as their schema in
place of FastAPI's ``HTTPValidationError``. A route declares with ``responses=`` only what
these rules cannot see (a 404 for an id in its body, a description of its own 409).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Annotated, Any, Protocol, cast

from fastapi import FastAPI, Path
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.security.base import SecurityBase
from pydantic import BaseModel

from editor.text_rules import SCHEMA_PATTERN
from server.auth.deps import get_principal
from server.errors import ErrorBody

ERROR_REF = "#/components/schemas/ErrorBody"
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

SQL_INT_MAX = 2**63 - 1
"""The largest integer SQLite and PostgreSQL (BIGINT) store: the bound of integer parameters
(beyond it the drivers fail before the query: a 500, not a 404)."""
SQL_INTEGER_MAX = 2**31 - 1
"""The largest INTEGER (version numbers): PostgreSQL casts the parameter, a larger one fails."""
VersionNumber = Annotated[
    int, Path(ge=1, le=SQL_INTEGER_MAX, description="Version number (1, 2, ...)")
]
TreeSize = Annotated[int, Path(ge=0, le=SQL_INT_MAX, description="Size of the log (its leaves)")]

NON_BLANK = r"[^\t\n\v\f\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]"
r"""JSON Schema pattern of a text that is not blank: one character out of ECMA-262's ``\s``
(the patterns' dialect, whose white space is not quite Python's ``str.strip``)."""
TEXT: dict[str, Any] = {"type": "string", "pattern": NON_BLANK}


def is_blank(text: str) -> bool:
    """No character but white space, as :data:`NON_BLANK` has it (server and document agree)."""
    return re.search(NON_BLANK, text) is None


DESCRIPTIONS = {
    401: "No bearer token, or an invalid or expired one",
    403: "The account's kind or its role in the cercle does not allow this",
    404: "Not found, or not shared with this account",
    400: "Invalid request (FHIR search): OperationOutcome",
    409: "Conflicts with the current state (duplicate, locked or changed PPA)",
    412: "If-Match: a field the request changes was changed since that state",
    413: "Request too large",
    422: "Invalid request: `problems` lists the fields to correct",
    429: "Too many requests: retry later",
    500: "Internal error (nothing was written)",
}


class RouteLike(Protocol):
    """What FastAPI resolves for a route (prefix and router-level settings applied)."""

    path_format: str
    methods: set[str]
    responses: dict[int | str, dict[str, Any]]
    dependant: Dependant
    include_in_schema: bool


def api_routes(app: FastAPI) -> list[RouteLike]:
    """The application's API routes, as included (full path, router dependencies)."""
    return [
        cast(RouteLike, context)
        for context in iter_route_contexts(app.routes)
        if isinstance(context.original_route, APIRoute)
    ]


def _dependants(dependant: Dependant) -> Iterator[Dependant]:
    yield dependant
    for sub in dependant.dependencies:
        yield from _dependants(sub)


def _refers_by_id(body_params: list[Any]) -> bool:
    """A body field names another object by its id (``structure_id``, ``person_id``, ...)."""
    models = [param.field_info.annotation for param in body_params]
    return any(
        isinstance(model, type)
        and issubclass(model, BaseModel)
        and any(name.endswith("_id") for name in model.model_fields)
        for model in models
    )


def error_statuses(route: RouteLike) -> set[int]:
    """The error statuses the shared mechanisms give a route.

    - 401 and 403: it needs a principal (no or bad token; the account kind or the cercle role
      refuses; the account checks of :mod:`server.authz` sit on top of ``get_principal``);
    - 404: it has a path parameter or a body field ``*_id`` (an id that may not exist or not be
      shared);
    - 409: it writes (the integrity handler turns a constraint violation into 409);
    - 413: it takes a body (the body limit of :mod:`server.web.body_limit`);
    - 422: it takes parameters or a body (request validation);
    - whatever its own ``responses=`` declares.
    """
    dependants = list(_dependants(route.dependant))
    statuses = {int(code) for code in route.responses if str(code).isdigit()}
    # A bearer scheme among the dependencies (get_principal, the audit trail) means a principal.
    if any(d.call is get_principal or isinstance(d.call, SecurityBase) for d in dependants):
        statuses |= {401, 403}
    if route.dependant.path_params or _refers_by_id(route.dependant.body_params):
        statuses.add(404)
    if route.methods & WRITE_METHODS:
        statuses.add(409)
    if any(d.path_params or d.query_params or d.header_params or d.body_params for d in dependants):
        statuses.add(422)
    if route.dependant.body_params:
        statuses.add(413)
    return {status for status in statuses if status >= 400}


OUTCOME_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "FHIR R4 OperationOutcome (issue[].diagnostics in French)",
    "required": ["resourceType", "issue"],
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for statuses the rules of :func:`error_statuses` cannot see."""
    return {
        status: {"model": ErrorBody, "description": DESCRIPTIONS[status]} for status in statuses
    }


def _document_errors(schema: dict[str, Any], routes: list[RouteLike]) -> None:
    for route in routes:
        operations = schema["paths"].get(route.path_format, {})
        for method in route.methods:
            operation = operations.get(method.lower())
            if operation is None:
                continue
            responses = operation.setdefault("responses", {})
            for status in sorted(error_statuses(route)):
                entry = responses.setdefault(str(status), {})
                if entry.get("description") in (None, "Validation Error"):
                    entry["description"] = DESCRIPTIONS[status]
                if route.path_format == "/fhir" or route.path_format.startswith("/fhir/"):
                    # errors of the FHIR API are OperationOutcomes (server.fhir.outcome)
                    entry["content"] = {"application/fhir+json": {"schema": OUTCOME_SCHEMA}}
                else:
                    entry["content"] = {"application/json": {"schema": {"$ref": ERROR_REF}}}
            operation["responses"] = dict(sorted(responses.items()))


def _add_error_schemas(schema: dict[str, Any]) -> None:
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    body = ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}")
    components.update(body.pop("$defs", {}))
    components["ErrorBody"] = body
    text = json.dumps(schema["paths"])
    for unused in ("HTTPValidationError", "ValidationError"):
        if f'"#/components/schemas/{unused}"' not in text:
            components.pop(unused, None)


def _restrict_text(node: Any) -> None:
    """Give every free string of the document the text rule of :mod:`editor.text_rules` as its
    ``pattern`` (a string with a pattern, a format, an enum or a const is narrower already)."""
    if isinstance(node, dict):
        if node.get("type") == "string" and not {"pattern", "format", "enum", "const"} & set(node):
            node["pattern"] = SCHEMA_PATTERN
        for value in node.values():
            _restrict_text(value)
    elif isinstance(node, list):
        for value in node:
            _restrict_text(value)


def install_openapi(app: FastAPI) -> None:
    """Make ``app.openapi()`` (served at /openapi.json) document the error answers."""
    generate = app.openapi
    documented: list[dict[str, Any]] = []  # FastAPI caches the document: complete it once

    def openapi() -> dict[str, Any]:
        schema = generate()
        if not documented or documented[0] is not schema:
            _document_errors(schema, [r for r in api_routes(app) if r.include_in_schema])
            _add_error_schemas(schema)
            _restrict_text(schema["paths"])
            _restrict_text(schema["components"]["schemas"])
            documented[:] = [schema]
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
