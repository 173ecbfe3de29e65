"""The ``ppa`` command line run in this process through Typer's runner (no interpreter start-up
per call); ``ppa serve`` and terminal tests stay real processes."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from unittest import mock


@dataclass(frozen=True)
class CliResult:
    """What a command left: its exit code and its two output streams."""

    returncode: int
    stdout: str
    stderr: str


def invoke(args: Sequence[str], env: Mapping[str, str], *, inherit: bool = True) -> CliResult:
    """``ppa <args>`` with ``env`` set; unless ``inherit``, every other ``PPA_`` variable unset."""
    import structlog
    from typer.testing import CliRunner

    from server import cli
    from server import logging as server_logging
    from server.config import get_settings

    overrides: dict[str, str | None] = {}
    if not inherit:
        overrides = {key: None for key in os.environ if key.startswith("PPA_")}
    overrides.update(env)
    configure = server_logging.configure_logging

    def configure_uncached(*a: Any, **kw: Any) -> None:
        # The command logs to the runner's stderr; loggers first used now must not keep it.
        configure(*a, **kw)
        structlog.configure(cache_logger_on_first_use=False)

    saved = structlog.get_config()
    get_settings.cache_clear()
    try:
        with mock.patch.object(server_logging, "configure_logging", configure_uncached):
            result = CliRunner().invoke(cli.app, list(args), env=overrides, catch_exceptions=False)
    finally:
        structlog.configure(**saved)
        get_settings.cache_clear()
    return CliResult(result.exit_code, result.stdout, result.stderr)
