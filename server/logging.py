"""Structured logging: ids and hashes only, never document content or personal data."""

from __future__ import annotations

import logging
import sys

import structlog


class StderrLogger:
    """Writes each line to ``sys.stderr`` as it is at call time, never to a stream kept from before.

    structlog's ``PrintLogger`` keeps the file it was created with; a logger cached while a test
    (or a CLI runner) had swapped ``sys.stderr`` would then write to a closed file for ever.
    """

    def msg(self, message: str) -> None:
        stream = sys.stderr
        try:
            print(message, file=stream, flush=True)
        except ValueError:  # closed by whoever swapped it in: the line goes to the real stderr
            print(message, file=sys.__stderr__, flush=True)

    log = debug = info = warn = warning = msg
    error = err = critical = exception = fatal = failure = msg


def _stderr_logger(*_args: object) -> StderrLogger:
    return StderrLogger()


def configure_logging(json: bool = False, level: int = logging.INFO) -> None:
    logging.basicConfig(format="%(message)s", stream=sys.stderr, level=level)
    # Alembic reports each plugin and its migration context at INFO: noise for the CLI's users.
    logging.getLogger("alembic").setLevel(max(level, logging.WARNING))
    # Tracebacks as plain text, never with the frames' local variables (structlog's default
    # console formatter, rich's, prints them: they may hold a person's identity or a document).
    processors: list[structlog.typing.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    if json:
        processors += [structlog.processors.format_exc_info, structlog.processors.JSONRenderer()]
    else:
        processors.append(
            structlog.dev.ConsoleRenderer(
                colors=False, exception_formatter=structlog.dev.plain_traceback
            )
        )
    structlog.configure(
        processors=processors,
        wrapper_class=structlog.make_filtering_bound_logger(level),
        # Logs go to stderr: stdout is for command output (``ppa demo --json``).
        logger_factory=_stderr_logger,
        cache_logger_on_first_use=True,
    )


SECRET_PATH_PREFIXES = ("/api/agenda/", "/api/notifications/unsubscribe/")
"""Paths whose last segment is a credential (agenda feed tokens: calendar apps send no header;
the one-click unsubscribe links of emails)."""


def loggable_path(path: str) -> str:
    """The request path as logged: credential segments replaced by ``<token>``."""
    for prefix in SECRET_PATH_PREFIXES:
        if path.startswith(prefix) and len(path) > len(prefix):
            return prefix + "<token>"
    return path
