"""``ppa export``, run as a subprocess on the test database like an operator would."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from exports import registry
from tests.conftest import Api
from tests.server.exports_api.support import COORD, Validated, new_validated


@pytest.fixture(scope="module")
def ppa(api_as: Callable[[str], Api], demo: dict[str, Any]) -> Validated:
    return new_validated(api_as, demo)


def run(settings: Any, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PPA_DATA_DIR": str(settings.data_dir),
        "PPA_DATABASE_URL": settings.resolved_database_url(),
    }
    return subprocess.run(
        [sys.executable, "-m", "server.cli", "export", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


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
    assert "Export fhir" in done.stderr
    names = {p.name for p in out.iterdir()}
    for v in (ppa, other):
        assert f"{v.ppa_id}-v{v.validated}.json" in names
    assert all(n.endswith("." + registry.FORMATS["fhir"].extension) for n in names)
    written = int(done.stdout.split(" fichier")[0])
    assert written == len(names)
    assert "aucune version validée" in done.stderr  # draft-only PPAs are listed as skipped
    trail = api_as("auditeur").get(f"/api/persons/{other.person_id}/audit").json()
    assert any(
        e["action"] == f"ppa.export:fhir:v{other.validated}" and e["actor_type"] == "cli"
        for e in trail
    )
