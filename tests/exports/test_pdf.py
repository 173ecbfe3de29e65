from __future__ import annotations

import io
import re
from datetime import date

import pikepdf
import pytest
from pypdf import PdfReader

from exports import terminology
from exports._common import fr_period
from exports._pdfkit import PageFurniture
from exports.context import ExportInput
from exports.pdf import furniture, render_pdf
from exports.sample import sample_large_input
from tests.exports.conftest import pdf_text, squash

STANDARD_14 = {
    "Courier", "Helvetica", "Times-Roman", "Symbol", "ZapfDingbats",
    "Helvetica-Bold", "Times-Bold", "Courier-Bold",
}  # fmt: skip


def test_pdf_has_every_section_identity_and_version(validated: ExportInput) -> None:
    text = pdf_text(render_pdf(validated))
    flat = squash(text)
    for needle in (
        "MARTIN Léa Marie, née le 12 avril 1998",
        "Matricule INS 2 98 04 69 123 045 40 (INS-NIR-TEST)",
        "Foyer d'accueil médicalisé Les Tilleuls - FINESS 690790316",
        "Version 3 - Version validée le 27 novembre 2026 à 17 h 05",
        validated.version.content_hash,
        "1. Projet de vie",
        "2. Attentes",
        "3. Besoins (nomenclature SERAFIN-PH)",
        "4. Objectifs et actions",
        "5. Emploi du temps hebdomadaire",
        "6. Moyens et ressources",
        "7. Bilan",
        "8. Accords",
        "Prochaine révision",
        "15 novembre 2027",
        "accord signé",
        "accord oral",
    ):
        assert squash(needle) in flat, needle
    for o in validated.content.objectifs:
        assert squash(o.titre) in flat
    for a in validated.content.actions:
        assert squash(a.titre) in flat
    assert "BROUILLON" not in text
    pages = len(PdfReader(io.BytesIO(render_pdf(validated))).pages)
    assert f"Page 1 / {pages}" in text
    assert f"Page {pages} / {pages}" in text


def test_every_serafin_code_is_printed_with_its_official_label(validated: ExportInput) -> None:
    flat = squash(pdf_text(render_pdf(validated)))
    codes = {b.code for b in validated.content.besoins if b.code}
    codes |= {p for a in validated.content.actions for p in a.prestations}
    for code in codes:
        assert squash(code) in flat
        assert squash(terminology.label(code)) in flat, code


def test_draft_is_watermarked(draft: ExportInput) -> None:
    data = render_pdf(draft)
    assert "BROUILLON" in pdf_text(data)


def test_fonts_are_all_embedded_truetype_not_the_standard_14(validated: ExportInput) -> None:
    with pikepdf.open(io.BytesIO(render_pdf(validated))) as pdf:
        fonts = []
        for page in pdf.pages:
            for _name, font in page.Resources.Font.items():
                fonts.append(font)
        assert fonts
        for font in fonts:
            base = str(font.BaseFont)
            assert re.fullmatch(r"/[A-Z]{6}\+DejaVuSans.*", base), base
            assert base.lstrip("/") not in STANDARD_14
            assert "/FontFile2" in font.FontDescriptor


def test_pdfa_2b_identification_metadata_and_output_intent(validated: ExportInput) -> None:
    data = render_pdf(validated)
    assert data.startswith(b"%PDF-1.7\n%")
    with pikepdf.open(io.BytesIO(data)) as pdf:
        assert "/Encrypt" not in pdf.trailer
        assert str(pdf.Root.Lang) == "fr-FR"
        meta_stream = pdf.Root.Metadata
        assert "/Filter" not in meta_stream  # PDF/A: metadata stream unfiltered
        with pdf.open_metadata(set_pikepdf_as_editor=False, update_docinfo=False) as xmp:
            assert xmp["pdfaid:part"] == "2"
            assert xmp["pdfaid:conformance"] == "B"
            assert xmp["dc:title"] == str(pdf.docinfo.Title)
            assert xmp["pdf:Producer"] == str(pdf.docinfo.Producer)
        (intent,) = list(pdf.Root.OutputIntents)
        assert intent.S == "/GTS_PDFA1"
        assert int(intent.DestOutputProfile.N) == 3
        info = pdf.docinfo
        assert str(info.Title) == "PPA - Léa MARTIN - version 3"
        assert str(info.Author) == "Karim BENALI"
        assert str(info.CreationDate) == "D:20261127093000+00'00'"
        assert str(info.ModDate) == "D:20261127160500+00'00'"
        assert len(pdf.trailer.ID) == 2


def test_same_input_same_bytes(validated: ExportInput) -> None:
    assert render_pdf(validated) == render_pdf(validated)


SECTION_HEADINGS = (
    "1. Projet de vie",
    "2. Attentes",
    "3. Besoins (nomenclature SERAFIN-PH)",
    "4. Objectifs et actions",
    "5. Emploi du temps hebdomadaire",
    "6. Moyens et ressources",
    "7. Bilan",
    "8. Accords",
    "Modalités de communication du projet",
    "Actions non rattachées à un objectif",
)


def last_body_lines(data: bytes, furn: PageFurniture) -> list[str]:
    """Per page, the last line of text above the running header/footer (drawn last)."""
    running = {furn.header_left, furn.header_right, furn.footer, furn.watermark}
    last: list[str] = []
    for page in PdfReader(io.BytesIO(data)).pages:
        lines = [line.strip() for line in page.extract_text().splitlines()]
        body = [
            line
            for line in lines
            if line and line not in running and not re.fullmatch(r"Page \d+ / \d+", line)
        ]
        last.append(body[-1])
    return last


@pytest.mark.parametrize(
    "which",
    # The sample fixtures and the bench's large PPA (40 objectives, 80 actions), plus two sizes of
    # it that left "7. Bilan" and "5. Emploi du temps hebdomadaire" alone at a page bottom.
    ["validated", "avenant", "draft", "large-40-80", "large-8-0", "large-8-21"],
)
def test_no_page_ends_with_a_section_heading(which: str, request: pytest.FixtureRequest) -> None:
    if which.startswith("large"):
        _, objectives, actions = which.split("-")
        inp = sample_large_input(int(objectives), int(actions))
    else:
        inp = request.getfixturevalue(which)
    last = last_body_lines(render_pdf(inp), furniture(inp))
    assert len(last) > 1
    for number, line in enumerate(last[:-1], 1):
        assert line not in SECTION_HEADINGS, f"page {number} ends with the heading {line!r}"


def test_a_one_day_action_reads_le_date_not_du_au(one_day: ExportInput) -> None:
    # "Bilan en ergothérapie" starts and ends on 10 December 2026; the tramway action spans months.
    bilan = next(a for a in one_day.content.actions if a.id == "act-bilan")
    assert bilan.date_debut == bilan.date_fin == date(2026, 12, 10)
    lines = pdf_text(render_pdf(one_day)).splitlines()
    dates = [lines[i + 1] for i, line in enumerate(lines[:-1]) if line.strip() == "Dates"]
    assert "le 10 décembre 2026" in dates
    assert "du 1er décembre 2026 au 31 mars 2027" in dates
    assert not any("au 10 décembre 2026" in d for d in dates), dates


def test_fr_period() -> None:
    d1, d2 = date(2025, 11, 6), date(2026, 6, 30)
    assert fr_period(d1, d1) == "le 6 novembre 2025"
    assert fr_period(d1, d2) == "du 6 novembre 2025 au 30 juin 2026"
    assert fr_period(date(2025, 9, 1), None) == "à partir du 1er septembre 2025"
    assert fr_period(None, d2) == "jusqu'au 30 juin 2026"
    assert fr_period(None, None) == "non renseignée"


def test_besoins_table_header_keeps_serafin_ph_in_one_piece(validated: ExportInput) -> None:
    lines = [line.strip() for line in pdf_text(render_pdf(validated)).splitlines()]
    start = lines.index("3. Besoins (nomenclature SERAFIN-PH)") + 1
    header = lines[start : lines.index("Libellé officiel", start)]
    assert header, lines[start : start + 5]
    assert "SERAFIN-PH" in " ".join(header).split(), header  # not "SER" / "AFIN-PH"
    assert squash(" ".join(header)) == "CodeSERAFIN-PH"
