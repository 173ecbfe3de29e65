"""The recorded reasons of issue 19 (rule 1) reach the readable exports: why there is no projet de
vie, why a besoin has no objective (PDF and DOCX)."""

from __future__ import annotations

import io

from docx import Document

from exports.context import ExportInput
from exports.docx import render_docx
from exports.pdf import render_pdf
from tests.exports.conftest import pdf_text, squash

NO_PROJET = "Ne souhaite pas en parler pour l'instant."
NO_OBJECTIF = "Suivi par le CMP, hors de ce projet."


def _with_reasons(inp: ExportInput) -> ExportInput:
    content = inp.content.model_copy(deep=True)
    content.projet_de_vie = ""
    content.projet.motif_sans_projet_de_vie = NO_PROJET
    content.besoins[0].motif_sans_objectif = NO_OBJECTIF
    return inp.model_copy(update={"content": content})


def test_the_docx_shows_the_recorded_reasons(validated: ExportInput) -> None:
    doc = Document(io.BytesIO(render_docx(_with_reasons(validated))))
    texts = [p.text for p in doc.paragraphs]
    assert f"Pas de projet de vie écrit : {NO_PROJET}" in texts
    besoins = next(t for t in doc.tables if t.rows[0].cells[0].text == "Code SERAFIN-PH")
    analyse = besoins.rows[1].cells[3].text
    assert analyse.startswith(validated.content.besoins[0].analyse)
    assert analyse.endswith(f"Sans objectif : {NO_OBJECTIF}")


def test_the_pdf_shows_the_recorded_reasons(validated: ExportInput) -> None:
    text = squash(pdf_text(render_pdf(_with_reasons(validated))))
    assert squash(f"Pas de projet de vie écrit : {NO_PROJET}") in text
    assert squash(f"Sans objectif : {NO_OBJECTIF}") in text


def test_without_reasons_nothing_changes(validated: ExportInput) -> None:
    text = pdf_text(render_pdf(validated))
    assert "Pas de projet de vie écrit" not in text
    assert "Sans objectif" not in text
