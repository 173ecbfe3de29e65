"""``ppa export`` on the test database, as an operator runs it: in process through Typer's
runner, and as a subprocess on a pseudo-terminal for the progress bar."""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from exports import registry
from tests.cli import CliResult, invoke
from tests.conftest import Api
from tests.server.exports_api.support import COORD, Validated, new_validated


@pytest.fixture(scope="module")
def ppa(api_as: Callable[[str], Api], demo: dict[str, Any]) -> Validated:
    return new_validated(api_as, demo)


SUMMARY = re.compile(r"(\d+) fichier\(s\) écrit\(s\), (\d+) ignoré\(s\)\.")


def summary(stdout: str) -> tuple[int, int]:
    """(files written, PPAs skipped) from the command's last line."""
    found = SUMMARY.fullmatch(stdout.strip())
    assert found is not None, stdout
    return int(found[1]), int(found[2])


def cli_env(settings: Any) -> dict[str, str]:
    return {
        **os.environ,
        "PPA_DATA_DIR": str(settings.data_dir),
        "PPA_DATABASE_URL": settings.resolved_database_url(),
    }


def run(settings: Any, *args: str) -> CliResult:
    """``ppa export <args>`` in process (the terminal test below runs a real process)."""
    env = {
        "PPA_DATA_DIR": str(settings.data_dir),
        "PPA_DATABASE_URL": settings.resolved_database_url(),
    }
    return invoke(["export", *args], env)


@pytest.mark.parametrize("fmt", ["pdf", "fhir", "cda"])
def test_export_one_version_gives_the_api_bytes(
    ppa: Validated, api_as: Callable[[str], Api], settings: Any, tmp_path: Path, fmt: str
) -> None:
    target = tmp_path / f"out.{fmt}"
    done = run(settings, ppa.ppa_id, "--version", str(ppa.validated), "-f", fmt, "-o", str(target))
    assert done.returncode == 0, done.stderr
    assert "1 fichier(s) écrit(s)" in done.stdout
    api = api_as(COORD).get(f"/api/ppas/{ppa.ppa_id}/versions/{ppa.validated}/exports/{fmt}")
    assert target.read_bytes() == api.content


def test_export_defaults_to_the_last_validated_version_into_a_folder(
    ppa: Validated, settings: Any, tmp_path: Path
) -> None:
    done = run(settings, ppa.ppa_id, "-f", "ics", "-o", str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert (tmp_path / f"{ppa.ppa_id}-v{ppa.validated}.ics").is_file()


def test_export_refusals_exit_non_zero_in_french(
    ppa: Validated, settings: Any, tmp_path: Path
) -> None:
    draft = run(settings, ppa.ppa_id, "--version", str(ppa.draft), "-f", "cda", "-o", "x.xml")
    assert draft.returncode == 1
    assert "brouillon" in draft.stderr
    unknown = run(settings, ppa.ppa_id, "-f", "odt", "-o", str(tmp_path / "x"))
    assert unknown.returncode == 1
    assert "Format d'export inconnu" in unknown.stderr
    both = run(settings, ppa.ppa_id, "--all", "-o", str(tmp_path))
    assert both.returncode != 0


def test_bulk_export_writes_every_validated_ppa_with_a_progress_bar(
    ppa: Validated,
    api_as: Callable[[str], Api],
    demo: dict[str, Any],
    settings: Any,
    tmp_path: Path,
) -> None:
    other = new_validated(api_as, demo)
    out = tmp_path / "bulk"
    done = run(settings, "--all", "--format", "fhir", "-o", str(out))
    assert done.returncode == 0, done.stderr
    names = {p.name for p in out.iterdir()}
    for v in (ppa, other):
        assert f"{v.ppa_id}-v{v.validated}.json" in names
    assert all(n.endswith("." + registry.FORMATS["fhir"].extension) for n in names)
    written, skipped = summary(done.stdout)
    assert written == len(names)
    # stderr is not a terminal: one progress line per PPA, in order, up to n/n.
    total = written + skipped
    progress = [line for line in done.stderr.splitlines() if line.startswith("Export fhir")]
    assert progress == [f"Export fhir {i}/{total}" for i in range(1, total + 1)]
    assert "aucune version validée" in done.stderr  # draft-only PPAs are listed as skipped
    trail = api_as("auditeur").get(f"/api/persons/{other.person_id}/audit").json()
    assert any(
        e["action"] == f"ppa.export:fhir:v{other.validated}" and e["actor_type"] == "cli"
        for e in trail
    )


def run_on_a_terminal(settings: Any, *args: str) -> tuple[int, str, str]:
    """Run ``ppa export`` with stderr on a pseudo-terminal (as an operator at a shell);
    return the exit code, stdout and everything the terminal received."""
    master, slave = pty.openpty()
    with subprocess.Popen(
        [sys.executable, "-m", "server.cli", "export", *args],
        env={**cli_env(settings), "COLUMNS": "100"},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=slave,
        text=True,
    ) as proc:
        os.close(slave)
        screen = b""
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            screen += chunk
        os.close(master)
        assert proc.stdout is not None
        stdout = proc.stdout.read()
        code = proc.wait(timeout=300)
    return code, stdout, screen.decode("utf-8", "replace")


def test_bulk_export_on_a_terminal_draws_a_bar_up_to_n_of_n(
    ppa: Validated, settings: Any, tmp_path: Path
) -> None:
    code, stdout, screen = run_on_a_terminal(settings, "--all", "-f", "ics", "-o", str(tmp_path))
    assert code == 0, screen
    written, skipped = summary(stdout)
    total = written + skipped
    assert written == len(list(tmp_path.iterdir())) > 0
    # click redraws the bar in place (carriage returns, cursor hidden then shown again).
    plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", screen)
    frames = [f for f in re.split(r"[\r\n]+", plain) if f.startswith("Export ics")]
    drawn = [re.fullmatch(r"Export ics\s+\[[#-]+\]\s+(\d+)/(\d+).*", f) for f in frames]
    assert all(drawn), frames
    positions = [int(m[1]) for m in drawn if m]
    assert {int(m[2]) for m in drawn if m} == {total}
    assert sorted(set(positions)) == list(range(total + 1)), frames  # advanced one PPA at a time
    assert positions[-1] == total
    assert re.fullmatch(r"Export ics\s+\[#+\]\s+.*", frames[-1]), frames[-1]  # full bar
    assert "Export ics 1/" not in screen  # the line-per-PPA form is for non-terminals only
