"""Fixtures for the export tests: the shared realistic sample PPA (exports.sample)."""

from __future__ import annotations

import io
import re
from datetime import date
from pathlib import Path

import pytest
from pypdf import PdfReader

from editor.schema import Action, Frequence, Planning, StatutAction
from exports.context import ExportInput, VersionKind
from exports.sample import sample_avenant_input, sample_input

# ANS CDA validation assets copied into the repository (see data/ans-cda/SOURCE.md).
ANS_CDA = Path(__file__).resolve().parent / "data" / "ans-cda"


@pytest.fixture(scope="session")
def validated() -> ExportInput:
    """Validated version 3 of the sample PPA (4 objectives, 7 actions)."""
    return sample_input()


@pytest.fixture(scope="session")
def draft() -> ExportInput:
    """The same content as a draft."""
    return sample_input(VersionKind.DRAFT)


@pytest.fixture(scope="session")
def avenant() -> ExportInput:
    """Avenant 1 (version 5) with its base version as history."""
    return sample_avenant_input()


ONE_DAY = date(2026, 12, 10)


@pytest.fixture(scope="session")
def one_day() -> ExportInput:
    """The validated sample plus a one-day action ("Bilan en ergothérapie", 10 December 2026)."""
    inp = sample_input()
    content = inp.content.model_copy(deep=True)
    content.actions.append(
        Action(
            id="act-bilan",
            titre="Bilan en ergothérapie",
            objectif_ids=["o-2"],
            prestations=["2.1.2"],
            referent_id="pro-ergo",
            intervenant_ids=["pro-ergo"],
            date_debut=ONE_DAY,
            date_fin=ONE_DAY,
            planning=Planning(
                frequence=Frequence.PONCTUELLE,
                heure_debut="16:30",
                duree_minutes=60,
                lieu="Cabinet d'ergothérapie du SAVS",
            ),
            statut=StatutAction.ACTIF,
        )
    )
    return inp.model_copy(update={"content": content})


def pdf_text(data: bytes) -> str:
    """All text of a PDF, pages joined."""
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def squash(text: str) -> str:
    """Text without any whitespace (PDF table cells wrap labels anywhere)."""
    return re.sub(r"\s+", "", text)
