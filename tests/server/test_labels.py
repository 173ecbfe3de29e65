"""The API's French labels exist once (server/labels.py) and reach the browser generated."""

from __future__ import annotations

import json
import subprocess
import sys
from enum import StrEnum
from pathlib import Path

import pytest

from exports.registry import FORMATS
from server.labels import (
    PPA_STATUS_LABELS,
    ROLE_LABELS,
    VERSION_KIND_LABELS,
    browser_catalogue,
)
from server.models.person import Role
from server.models.ppa import PPAStatus
from versions.chain import VersionKind

ROOT = Path(__file__).resolve().parents[2]
WEB_SRC = ROOT / "editor" / "web" / "src"
GENERATED = WEB_SRC / "generated" / "catalogue.json"


@pytest.mark.parametrize(
    ("enum", "labels"),
    [(Role, ROLE_LABELS), (PPAStatus, PPA_STATUS_LABELS), (VersionKind, VERSION_KIND_LABELS)],
)
def test_every_value_has_one_french_label(enum: type[StrEnum], labels: dict[StrEnum, str]) -> None:
    assert list(labels) == list(enum)
    assert all(label.strip() for label in labels.values())
    assert len(set(labels.values())) == len(labels)


def test_the_generator_prints_the_browser_catalogue() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "server.labels", "--json"],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    assert json.loads(done.stdout) == browser_catalogue()


def test_the_browser_build_embeds_the_api_labels() -> None:
    assert json.loads(GENERATED.read_text()) == browser_catalogue()
    names = [fmt["name"] for fmt in browser_catalogue()["export_formats"]]
    assert names == list(FORMATS)


def test_the_browser_sources_hold_no_copy_of_an_api_label() -> None:
    labels = {*ROLE_LABELS.values(), *PPA_STATUS_LABELS.values(), *VERSION_KIND_LABELS.values()}
    labels |= {fmt.label for fmt in FORMATS.values()}
    for path in WEB_SRC.rglob("*.js"):
        if "generated" in path.parts:
            continue
        text = path.read_text()
        for label in labels:
            quoted = (f"'{label}'", f'"{label}"')
            assert not any(q in text for q in quoted), f"{path.relative_to(ROOT)}: {label!r}"
