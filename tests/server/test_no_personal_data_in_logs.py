"""Health data never reaches the logs: ids and hashes only."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from structlog.testing import capture_logs

from tests.server.helpers import person_body


def test_logs_hold_no_identity_no_content_no_token(
    api_as: Any, demo: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    coord = api_as("coordinatrice")
    body = person_body(birth_family_name="ZYXWORTH", first_names="Quentinella")
    secret_text = "Souhaite-un-secret-médical-XQZ"
    with capture_logs() as structured, caplog.at_level(logging.DEBUG):
        person = coord.post("/api/persons", json=body).json()
        ppa = coord.post(
            f"/api/persons/{person['id']}/ppas",
            json={"content": {"projet_de_vie": secret_text}},
        ).json()
        coord.get(f"/api/ppas/{ppa['id']}")
        coord.get("/api/persons", params={"token": coord.token})
        api_as("anonymous").post(
            "/api/auth/token", data={"username": "coordinatrice", "password": "wrong-pass"}
        )
        coord.post("/api/persons", json=person_body(ins_matricule="279035121518988"))
    assert structured, "the access log should have recorded the requests"
    text = " ".join(str(entry) for entry in structured)
    # httpx/httpcore are this test's own client, not the service.
    server_records = [r for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))]
    text += " ".join(f"{record.name} {record.getMessage()}" for record in server_records)
    for forbidden in (
        body["ins_matricule"],
        "279035121518988",
        "ZYXWORTH",
        "Quentinella",
        secret_text,
        str(coord.token),
        "wrong-pass",
    ):
        assert forbidden not in text
    assert person["id"] in text or ppa["id"] in text


@pytest.mark.parametrize("json_logs", [False, True])
def test_logged_tracebacks_hold_no_local_variables(
    json_logs: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    import structlog

    from server.logging import configure_logging

    def fails(person_name: str) -> None:
        document = f"Projet de vie de {person_name}"
        raise ValueError(len(document))

    name = "".join(("Quentinella ", "ZYX", "WORTH"))  # not in any source line shown
    saved = structlog.get_config()
    configure_logging(json=json_logs)
    try:
        try:
            fails(name)
        except ValueError:
            structlog.get_logger("t").exception("collab.audit_failed", ppa="p-1")
        err = capsys.readouterr().err
    finally:
        structlog.configure(**saved)
    assert "collab.audit_failed" in err
    assert "ValueError" in err
    assert "in fails" in err  # the traceback itself is there
    assert "ZYXWORTH" not in err
    assert "Projet de vie" not in err


def test_a_logger_cached_while_stderr_was_swapped_keeps_working() -> None:
    """A logger first used while a test swapped stderr must not keep that (later closed) stream."""
    import io
    import sys

    import structlog

    from server.logging import configure_logging

    saved = structlog.get_config()
    real = sys.stderr
    configure_logging()
    try:
        swapped = io.StringIO()
        sys.stderr = swapped
        logger = structlog.get_logger("t.cached")
        logger.info("first.use", ppa="p-1")  # cached now, with whatever stderr is
        sys.stderr = real
        swapped.close()
        logger.warning("after.close", ppa="p-1")  # raised ValueError with PrintLoggerFactory
        replacement = io.StringIO()
        sys.stderr = replacement
        logger.info("follows.stderr", ppa="p-1")
        assert "follows.stderr" in replacement.getvalue()
    finally:
        sys.stderr = real
        structlog.configure(**saved)
