"""Fixtures for the export tests: the shared realistic sample PPA (exports.sample)."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from pypdf import PdfReader

from exports.context import ExportInput, VersionKind
from exports.sample import sample_avenant_input, sample_input

# ANS CDA validation assets copied into the repository (see data/ans-cda/SOURCE.md).
ANS_CDA = Path(__file__).resolve().parent / "data" / "ans-cda"


@pytest.fixture(scope="session")
def validated() -> ExportInput:
    """Validated version 3 of the sample PPA (5 objectives, 7 actions)."""
    return sample_input()


@pytest.fixture(scope="session")
def draft() -> ExportInput:
    """The same content as a draft."""
    return sample_input(VersionKind.DRAFT)


@pytest.fixture(scope="session")
def avenant() -> ExportInput:
    """Avenant 1 (version 5) with its base version as history."""
    return sample_avenant_input()


def pdf_text(data: bytes) -> str:
    """All text of a PDF, pages joined."""
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def squash(text: str) -> str:
    """Text without any whitespace (PDF table cells wrap labels anywhere)."""
    return re.sub(r"\s+", "", text)
