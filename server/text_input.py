"""Base of every request body: no text in it may hold a character ``editor.text_rules`` refuses.

One ``field_validator("*")`` walks each field's validated value (nested models and lists
included, e.g. a PPA's initial content) and refuses the first offending text with a French
reason; the error handler names the exact field (``content.objectifs[<id>].titre``). Responses
never derive from it: a stored text that predates the rule still reads back.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from editor.text_rules import illegal_text_paths
from server.errors import InvalidInput, error_body

ILLEGAL_TEXT = "illegal_character"
"""Pydantic error type of a refused character; its ``ctx["subpath"]`` extends the field path."""


class TextInput(BaseModel):
    """Request body whose texts hold no control character, lone surrogate or noncharacter."""

    @field_validator("*", mode="after")
    @classmethod
    def _legal_text(cls, value: Any, _info: ValidationInfo) -> Any:
        for subpath, illegal in illegal_text_paths(value):
            raise PydanticCustomError(
                ILLEGAL_TEXT, "{message}", {"message": illegal.message(), "subpath": subpath}
            )
        return value


def illegal_fields(fields: dict[str, str]) -> list[dict[str, str]]:
    """``problems`` entries (path, French message) for the refused texts among ``fields``."""
    return [
        {"path": name + subpath, "message": illegal.message()}
        for name, value in fields.items()
        for subpath, illegal in illegal_text_paths(value)
    ]


def refuse_illegal_fields(fields: dict[str, str]) -> None:
    """422 ``InvalidInput`` naming every field of ``fields`` (a form, a URL) that holds a
    refused character; nothing happens otherwise."""
    problems = illegal_fields(fields)
    if problems:
        detail = " ; ".join(f"{p['path']} : {p['message']}" for p in problems)
        raise InvalidInput(detail, extra={"problems": problems})


def install_url_guard(app: FastAPI) -> None:
    """Refuse (422) a request whose path or query string holds a refused character, before any
    route sees it (an id holding NUL would reach the database)."""

    @app.middleware("http")
    async def url_guard(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        fields = {"adresse": request.url.path}
        fields |= {f"paramètre {key}": value for key, value in request.query_params.multi_items()}
        fields |= {f"nom de paramètre {i + 1}": key for i, key in enumerate(request.query_params)}
        problems = illegal_fields(fields)
        if not problems:
            return await call_next(request)
        detail = " ; ".join(f"{p['path']} : {p['message']}" for p in problems)
        return JSONResponse(error_body("InvalidInput", detail, problems=problems), status_code=422)
