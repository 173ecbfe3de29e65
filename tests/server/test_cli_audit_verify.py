"""``ppa audit verify`` never raises: any malformed bundle exits 1 naming a broken link."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from hypothesis import given
from typer.testing import CliRunner

from server.cli import app
from tests.versions.test_bundle_malformed import HUGE, SETTINGS, inputs, intact
from versions.bundle import zip_members

runner = CliRunner()


def verify_cli(data: bytes) -> tuple[int, str, BaseException | None]:
    """Run ``ppa audit verify`` in process on ``data``; return exit code, output, exception."""
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "audit.zip"
        path.write_bytes(data)
        result = runner.invoke(app, ["audit", "verify", str(path)])
    exception = result.exception if not isinstance(result.exception, SystemExit) else None
    return result.exit_code, result.output, exception


@SETTINGS
@given(inputs)
def test_any_bundle_exits_1_with_a_finding(data: bytes) -> None:
    code, output, exception = verify_cli(data)
    assert exception is None, repr(exception)
    assert code == 1, output
    assert "premier maillon rompu" in output
    assert "first broken link" in output


def test_a_huge_integer_in_the_manifest_exits_1_as_a_process(tmp_path: Path) -> None:
    members = dict(intact())
    members["manifest.json"] = members["manifest.json"].replace(
        b'"versions":2', b'"versions":' + HUGE.encode()
    )
    path = tmp_path / "audit.zip"
    path.write_bytes(zip_members(members))
    done = subprocess.run(
        [sys.executable, "-m", "server.cli", "audit", "verify", str(path)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert "premier maillon rompu : manifeste : illisible" in done.stdout


def test_an_intact_bundle_exits_0() -> None:
    code, output, exception = verify_cli(zip_members(intact()))
    assert (code, exception) == (0, None), output
    assert "Bundle d'audit intègre" in output


def test_a_malformed_known_head_is_refused_without_a_traceback(tmp_path: Path) -> None:
    """The auditor's own --known-head file: a usage error (exit 2) naming the file."""
    bundle = tmp_path / "audit.zip"
    bundle.write_bytes(zip_members(intact()))
    for number, text in enumerate(["[" * 100_000 + "]" * 100_000, HUGE, "[]", "{"]):
        head = tmp_path / f"sth-{number}.json"
        head.write_text(text)
        result = runner.invoke(app, ["audit", "verify", str(bundle), "--known-head", str(head)])
        assert isinstance(result.exception, SystemExit | None), repr(result.exception)
        assert result.exit_code == 2, result.output
        assert "tête signée illisible" in result.output
