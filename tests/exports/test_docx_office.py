"""The DOCX for French offices: A4 with French margins, fr-FR language, page numbers in the
footer as fields, no template leftovers, and the content the PDF carries."""

from __future__ import annotations

import io
import zipfile

from docx import Document
from lxml import etree

from editor.schema import AccordObjectif
from exports.context import ExportInput
from exports.docx import render_docx
from exports.pdf import signature_lines

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
NS = {"w": W}


def _zip(inp: ExportInput) -> zipfile.ZipFile:
    return zipfile.ZipFile(io.BytesIO(render_docx(inp)))


def test_sections_are_a4_with_french_margins(validated: ExportInput) -> None:
    doc = Document(io.BytesIO(render_docx(validated)))
    assert doc.sections
    for section in doc.sections:
        lengths = (section.page_width, section.page_height)
        assert [round(x.cm, 2) for x in lengths if x is not None] == [21.0, 29.7]
        for margin in (
            section.left_margin,
            section.right_margin,
            section.top_margin,
            section.bottom_margin,
        ):
            assert margin is not None
            assert round(margin.cm, 2) == 2.5
        for distance in (section.header_distance, section.footer_distance):
            assert distance is not None
            assert round(distance.cm, 2) == 1.25
    body = etree.fromstring(_zip(validated).read("word/document.xml"))
    (pg_sz,) = body.findall(".//w:sectPr/w:pgSz", NS)
    assert (pg_sz.get(f"{{{W}}}w"), pg_sz.get(f"{{{W}}}h")) == ("11906", "16838")  # A4 in twips


def test_language_is_french_in_styles_and_settings(validated: ExportInput) -> None:
    zf = _zip(validated)
    styles = etree.fromstring(zf.read("word/styles.xml"))
    (lang,) = styles.findall("w:docDefaults/w:rPrDefault/w:rPr/w:lang", NS)
    assert lang.get(f"{{{W}}}val") == "fr-FR"
    assert lang.get(f"{{{W}}}eastAsia") == "fr-FR"
    other = {
        el.get(f"{{{W}}}val")
        for el in styles.iter(f"{{{W}}}lang")
        if el.get(f"{{{W}}}val") not in (None, "fr-FR")
    }
    assert not other, other
    settings = etree.fromstring(zf.read("word/settings.xml"))
    assert settings.find("w:themeFontLang", NS).get(f"{{{W}}}val") == "fr-FR"  # type: ignore[union-attr]
    assert settings.find("w:decimalSymbol", NS).get(f"{{{W}}}val") == ","  # type: ignore[union-attr]
    assert Document(io.BytesIO(render_docx(validated))).core_properties.language == "fr-FR"


def test_header_and_footer_with_page_fields(validated: ExportInput) -> None:
    doc = Document(io.BytesIO(render_docx(validated)))
    section = doc.sections[0]
    assert "Léa MARTIN" in section.header.paragraphs[0].text
    assert "version 3" in section.header.paragraphs[0].text
    footer = section.footer.paragraphs[0]
    instructions = [
        el.text.strip() for el in footer._p.iter(f"{{{W}}}instrText") if el.text is not None
    ]
    assert instructions == ["PAGE", "NUMPAGES"]
    kinds = [el.get(f"{{{W}}}fldCharType") for el in footer._p.iter(f"{{{W}}}fldChar")]
    assert kinds == ["begin", "separate", "end"] * 2
    assert footer.text.startswith("Page ")
    assert " sur " in footer.text


def test_no_template_bibliography_part(validated: ExportInput) -> None:
    zf = _zip(validated)
    names = zf.namelist()
    assert not [n for n in names if n.startswith("customXml/")], names
    for name in names:
        data = zf.read(name).decode("utf-8", "replace")
        for leftover in ("customXml", "APA.XSL", "b:Sources"):
            assert leftover not in data, (name, leftover)
    Document(io.BytesIO(render_docx(validated)))  # still a valid package


def test_docx_carries_what_the_pdf_carries(validated: ExportInput) -> None:
    content = validated.content.model_copy(deep=True)
    content.objectifs[0].accord_usager = AccordObjectif.ACCORD
    content.objectifs[0].indicateur = "Six soirs sur sept"
    doc = Document(io.BytesIO(render_docx(validated.model_copy(update={"content": content}))))
    cells = {cell.text for table in doc.tables for row in table.rows for cell in row.cells}
    paragraphs = [p.text for p in doc.paragraphs]
    assert "Lieu de naissance" in cells
    assert "Lyon (69)" in cells
    assert "Référent du projet" in cells  # the project's elaboration (participation)
    assert "Accord de la personne" in cells
    assert "Six soirs sur sept" in cells
    assert "Essai : jusqu'au 31 janvier 2027" in paragraphs  # an action on trial
    assert any(p.startswith("Résultat attendu : ") for p in paragraphs)
    assert "Représentant légal" in cells or "Personne accompagnée" in cells
    for line in signature_lines(validated):
        assert line in paragraphs
    digest = validated.version.content_hash
    assert paragraphs[-1].endswith(digest)  # the fingerprint at the end, not on page 1
    assert digest not in cells
