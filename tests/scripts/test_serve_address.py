"""./serve.sh prints the address it serves: --host / --port (also --x=value) win over
PPA_HOST / PPA_PORT (issue 17: `./serve.sh --port P` printed port 8000)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def listen(*args: str, env: dict[str, str] | None = None) -> str:
    script = (
        '. scripts/listen_address.sh && listen_address "$@" && echo "$LISTEN_HOST:$LISTEN_PORT"'
    )
    clean = {k: v for k, v in os.environ.items() if k not in ("PPA_HOST", "PPA_PORT")}
    result = subprocess.run(
        ["bash", "-c", script, "serve.sh", *args],
        cwd=ROOT,
        env={**clean, **(env or {})},
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip()


@pytest.mark.parametrize(
    ("args", "env", "expected"),
    [
        ((), {}, "127.0.0.1:8000"),
        (("--port", "8123"), {}, "127.0.0.1:8123"),
        (("--port=8124", "--host", "192.0.2.7"), {}, "192.0.2.7:8124"),
        (("--no-migrate", "--host=::1"), {"PPA_PORT": "9000"}, "::1:9000"),
        (("--port", "8125"), {"PPA_PORT": "9000", "PPA_HOST": "10.0.0.2"}, "10.0.0.2:8125"),
    ],
)
def test_the_printed_address_is_the_served_one(
    args: tuple[str, ...], env: dict[str, str], expected: str
) -> None:
    assert listen(*args, env=env) == expected


def test_serve_prints_that_address() -> None:
    serve = (ROOT / "serve.sh").read_text(encoding="utf-8")
    assert 'listen_address "$@"' in serve
    assert "http://${LISTEN_HOST}:${LISTEN_PORT}/" in serve
