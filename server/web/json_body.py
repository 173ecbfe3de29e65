"""A JSON request body read by hand, for routes whose media type FastAPI does not parse
(``application/merge-patch+json``, ``application/fhir+json``): size, media type, then syntax,
each refused with the one error shape."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request

from server.errors import InvalidInput, PayloadTooLarge


async def read_json(
    request: Request,
    *,
    media_types: tuple[str, ...],
    max_bytes: int,
    too_large: str,
    wrong_type: str,
    root: str = "requête",
) -> Any:
    """The parsed body; ``too_large`` and ``wrong_type`` are the French details of those
    refusals, ``root`` the problem's path for a body that is not JSON."""
    raw = await request.body()
    if len(raw) > max_bytes:
        raise PayloadTooLarge(too_large)
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind not in media_types:
        expected = " ou ".join(media_types)
        message = f"type de contenu non pris en charge : {expected} attendu"
        raise InvalidInput(
            wrong_type, extra={"problems": [{"path": "requête", "message": message}]}
        )
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise InvalidInput(
            "requête : JSON invalide",
            extra={"problems": [{"path": root, "message": "JSON invalide"}]},
        ) from exc
