from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Sequence
from datetime import date
from decimal import Decimal

import pikepdf
import pytest
from docx import Document
from lxml import etree
from reportlab.lib.enums import TA_LEFT
from reportlab.platypus import KeepTogether, Paragraph, Table

from editor.schema import OrigineAttente
from exports import terminology
from exports.context import ExportInput
from exports.docx import render_docx
from exports.falc import build_story, render_falc, when_lines
from exports.falc_text import MAX_WORDS, action_sentence
from exports.pdf import furniture
from exports.sample import sample_large_input
from tests.exports.conftest import pdf_text
from tests.exports.test_pdf import last_body_lines


def _paragraphs(story: Sequence[object]) -> list[Paragraph]:
    out: list[Paragraph] = []
    for flow in story:
        if isinstance(flow, KeepTogether):
            out += _paragraphs(list(flow._content))  # type: ignore[attr-defined]
        elif isinstance(flow, Table):
            for row in flow._cellvalues:  # type: ignore[attr-defined]
                for cell in row:
                    out += _paragraphs(cell if isinstance(cell, list) else [cell])
        elif isinstance(flow, Paragraph):
            out.append(flow)
    return out


def _activity_tables(story: Sequence[object]) -> list[Table]:
    out: list[Table] = []
    for flow in story:
        if isinstance(flow, KeepTogether):
            out += _activity_tables(list(flow._content))  # type: ignore[attr-defined]
        elif isinstance(flow, Table) and len(flow._cellvalues) == 3:  # type: ignore[attr-defined]
            out.append(flow)
    return out


SECOND_PERSON = re.compile(r"\b(?:vous|votre|vos)\b", re.IGNORECASE)
FIRST_PERSON = re.compile(r"\b(?:je|j'|me|m'|mon|ma|mes)\b", re.IGNORECASE)


def test_falc_sections_and_one_short_idea_per_line(validated: ExportInput) -> None:
    text = pdf_text(render_falc(validated))
    for section in (
        "Ce que vous voulez pour votre vie",
        "Ce que vous attendez",
        "Vos objectifs",
        "Ce que vous allez faire",
        "Votre accord",
        "La suite",
    ):
        assert section in text
    paragraphs = _paragraphs(build_story(validated))
    assert len(paragraphs) > 40
    for p in paragraphs:
        assert p.style.alignment == TA_LEFT
        assert p.style.fontSize >= 14
        sentence = p.getPlainText().removeprefix("« ").removesuffix(" »")
        assert sentence.count(". ") == 0, sentence  # one sentence per line
        assert len(sentence.split()) <= MAX_WORDS, sentence
    assert "Toutes les semaines, le mardi et le samedi." in text
    assert "Avec Karim BENALI." in text


def test_falc_speaks_to_the_person_in_her_words_or_rewritten(validated: ExportInput) -> None:
    lines = [p.getPlainText() for p in _paragraphs(build_story(validated))]
    quoted = [line for line in lines if line.startswith("«")]
    assert "« Je veux y arriver sans qu'on me le rappelle. »" in quoted  # her avis
    assert "« Avoir mon appartement à moi. »" in quoted  # her attente
    # everything else is addressed to her: second person, never the first
    for line in lines:
        if line in quoted or line.startswith(("Avec ", "Le ", "À ", "Où", "Pendant", "Jusqu")):
            continue
        assert not FIRST_PERSON.search(line), line
    assert sum(bool(SECOND_PERSON.search(line)) for line in lines) >= 20
    assert "Vous voulez gérer votre traitement du soir par vous-même." in lines
    text = pdf_text(render_falc(validated))
    flat = " ".join(text.split())
    for o in validated.content.objectifs:  # professional titles are rewritten, not copied
        assert o.titre not in flat, o.titre
    for a in validated.content.actions:
        assert a.titre not in flat, a.titre
    for att in validated.content.attentes:  # the entourage's and professionals' wording: left out
        if att.origine is not OrigineAttente.PERSONNE:
            assert att.texte not in flat
    for word in ("en autonomie", "hebdomadaire", "inclusif", "thérapeutique", "SERAFIN"):
        assert word not in flat, word
    codes = {b.code for b in validated.content.besoins if b.code}
    codes |= {p for a in validated.content.actions for p in a.prestations}
    assert codes
    for code in codes:
        assert not re.search(rf"(?<![\d.]){re.escape(code)}(?![\d.])", flat), code


def test_falc_has_no_fingerprint(validated: ExportInput) -> None:
    data = render_falc(validated)
    digest = validated.version.content_hash
    assert digest[:12] not in pdf_text(data)
    assert "mpreinte" not in pdf_text(data)
    with pikepdf.open(io.BytesIO(data)) as pdf:
        assert digest[:12] not in str(pdf.docinfo.get("/Keywords"))
        assert digest[:12].encode() not in pdf.Root.Metadata.read_bytes()


def test_falc_pictograms_are_in_the_pdf_with_their_alternative_text(
    validated: ExportInput,
) -> None:
    data = render_falc(validated)
    with pikepdf.open(io.BytesIO(data)) as pdf:
        forms: set[str] = set()
        for page in pdf.pages:
            for name, xobj in page.Resources.get("/XObject", {}).items():
                if xobj.get("/Subtype") == "/Form" and name.startswith("/FormXob.Picto"):
                    forms.add(name)
                    assert xobj.read_bytes()  # vector paths drawn
        figures = [e for e in _elems(pdf.Root.StructTreeRoot) if e.S == "/Figure"]
    # objectives and activities: medicine, house, theatre, tram, money, cooking, talk...
    assert len(forms) >= 8, forms
    n = len(validated.content.objectifs) + 3 * len(validated.content.actions)
    assert len(figures) >= n
    assert all(str(f.get("/Alt", "")).strip() for f in figures)
    assert "OpenMoji" in pdf_text(data)
    assert "CC BY-SA 4.0" in pdf_text(data)


def test_falc_when_and_with_whom_stand_beside_their_activity(validated: ExportInput) -> None:
    content = validated.content.model_copy(deep=True)
    content.actions[0].avis_usager = "J'aime bien ce moment avec Karim."
    inp = validated.model_copy(update={"content": content})
    tables = _activity_tables(build_story(inp))
    assert len(tables) == len(content.actions)
    first = [p.getPlainText() for p in _paragraphs(tables[0]._cellvalues[0][1])]  # type: ignore[attr-defined]
    assert first[1:] == ["Vous avez dit :", "« J'aime bien ce moment avec Karim. »"]
    for table, action in zip(tables, content.actions, strict=True):
        rows = [_paragraphs(row[1]) for row in table._cellvalues]  # type: ignore[attr-defined]
        assert rows[0][0].getPlainText() == action_sentence(action.titre)
        if action.avis_usager:  # her words on the activity, beside it
            assert rows[0][1].getPlainText() == "Vous avez dit :"
        assert rows[1][0].getPlainText() == "Quand :"
        assert [p.getPlainText() for p in rows[1][1:]] == when_lines(action)
        assert rows[2][0].getPlainText() == "Avec qui :"
        assert all(p.getPlainText().startswith("Avec ") for p in rows[2][1:])


def _elems(node: pikepdf.Object) -> list[pikepdf.Object]:
    out: list[pikepdf.Object] = []
    kids = node.get("/K")
    for kid in kids if isinstance(kids, pikepdf.Array) else [kids] if kids is not None else []:
        if isinstance(kid, pikepdf.Dictionary) and kid.get("/Type") == "/StructElem":
            out.append(kid)
            out += _elems(kid)
    return out


def test_falc_pdf_uses_no_text_smaller_than_14_points(validated: ExportInput) -> None:
    with pikepdf.open(io.BytesIO(render_falc(validated))) as pdf:
        sizes: set[Decimal] = set()
        for page in pdf.pages:
            for instruction in pikepdf.parse_content_stream(page):
                if (
                    isinstance(instruction, pikepdf.ContentStreamInstruction)
                    and str(instruction.operator) == "Tf"
                ):
                    sizes.add(Decimal(str(instruction.operands[1])))
        assert sizes
        assert min(sizes) >= 14


def test_docx_has_real_styles_tables_and_lists(validated: ExportInput) -> None:
    doc = Document(io.BytesIO(render_docx(validated)))
    styles = {p.style.name for p in doc.paragraphs if p.style is not None}
    assert {"Title", "Heading 1", "Heading 2", "List Bullet"} <= styles
    headings = [
        p.text for p in doc.paragraphs if p.style is not None and p.style.name == "Heading 1"
    ]
    assert headings == [
        "1. Projet de vie",
        "2. Attentes",
        "3. Besoins (nomenclature SERAFIN-PH)",
        "4. Objectifs et actions",
        "5. Emploi du temps hebdomadaire",
        "6. Moyens et ressources",
        "7. Bilan",
        "8. Accords",
    ]
    assert all(t.style is not None and t.style.name == "Table Grid" for t in doc.tables)
    xml = zipfile.ZipFile(io.BytesIO(render_docx(validated))).read("word/document.xml").decode()
    assert xml.count("<w:tblHeader") == len(doc.tables)
    besoins = next(t for t in doc.tables if t.rows[0].cells[0].text == "Code SERAFIN-PH")
    assert [c.text for c in besoins.rows[0].cells][:2] == ["Code SERAFIN-PH", "Libellé officiel"]
    for row, besoin in zip(besoins.rows[1:], validated.content.besoins, strict=True):
        assert row.cells[0].text == besoin.code
        assert row.cells[1].text == terminology.label(besoin.code or "")
    body = "\n".join(p.text for p in doc.paragraphs)
    for code in {p for a in validated.content.actions for p in a.prestations}:
        assert f"{code} - {terminology.label(code)}" in body
    assert doc.core_properties.title == "PPA - Léa MARTIN - version 3"
    assert doc.core_properties.language == "fr-FR"


def test_docx_draft_is_marked_and_bytes_are_stable(
    validated: ExportInput, draft: ExportInput
) -> None:
    assert render_docx(validated) == render_docx(validated)
    doc = Document(io.BytesIO(render_docx(draft)))
    assert any("BROUILLON" in p.text for p in doc.paragraphs)


def test_docx_one_day_action_reads_le_date(one_day: ExportInput) -> None:
    doc = Document(io.BytesIO(render_docx(one_day)))
    dates = [p.text for p in doc.paragraphs if p.text.startswith("Dates : ")]
    assert "Dates : le 10 décembre 2026" in dates  # act-bilan: 10 December 2026 only
    assert "Dates : du 1er décembre 2026 au 31 mars 2027" in dates
    assert not any("au 10 décembre 2026" in d for d in dates), dates


def test_falc_recurring_action_on_a_single_day_reads_le_date(validated: ExportInput) -> None:
    tram = next(a for a in validated.content.actions if a.id == "act-7")
    one_day = tram.model_copy(
        update={"date_debut": date(2026, 12, 10), "date_fin": date(2026, 12, 10)}
    )
    lines = when_lines(one_day)
    assert "Le 10 décembre 2026." in lines
    assert not any(s.startswith(("À partir du", "Jusqu'au")) for s in lines), lines
    spanning = when_lines(tram)
    assert "À partir du 1er décembre 2026." in spanning
    assert "Jusqu'au 31 mars 2027." in spanning


CP = "http://schemas.openxmlformats.org/package/2006/metadata/core-properties"
DC = "http://purl.org/dc/elements/1.1/"
EP = "http://schemas.openxmlformats.org/officeDocument/2006/extended-properties"


def test_docx_properties_are_ours_not_the_library_template(validated: ExportInput) -> None:
    zf = zipfile.ZipFile(io.BytesIO(render_docx(validated)))
    core = etree.fromstring(zf.read("docProps/core.xml"))

    def prop(ns: str, name: str) -> str | None:
        el = core.find(f"{{{ns}}}{name}")
        return None if el is None else el.text

    assert prop(DC, "title") == "PPA - Léa MARTIN - version 3"
    assert prop(DC, "subject") == (
        "Projet personnalisé d'accompagnement, Foyer d'accueil médicalisé Les Tilleuls, "
        "version validée"
    )
    assert prop(DC, "creator") == "Karim BENALI"  # the author, as the PDF's /Author
    assert prop(CP, "lastModifiedBy") == "ppa-collab"
    assert prop(DC, "description") == (
        "PPA de Léa MARTIN, Foyer d'accueil médicalisé Les Tilleuls (FINESS 690790316), "
        "version 3 - Version validée, "
        f"empreinte SHA-256 {validated.version.content_hash}"
    )
    assert prop(CP, "keywords") == f"PPA; SERAFIN-PH; sha256:{validated.version.content_hash}"
    assert prop(DC, "language") == "fr-FR"
    app = etree.fromstring(zf.read("docProps/app.xml"))
    assert app.findtext(f"{{{EP}}}Application") == "ppa-collab"
    assert app.findtext(f"{{{EP}}}Company") == "Foyer d'accueil médicalisé Les Tilleuls"
    for name in ("docProps/core.xml", "docProps/app.xml"):
        data = zf.read(name).decode()
        for boilerplate in ("python-docx", "Microsoft", "Macintosh", "Normal.dotm"):
            assert boilerplate not in data, (name, boilerplate)
    assert "docProps/thumbnail.jpeg" not in zf.namelist()  # the template's blank-page picture
    assert "thumbnail" not in zf.read("_rels/.rels").decode()
    reopened = Document(io.BytesIO(render_docx(validated))).core_properties  # still a valid package
    assert reopened.last_modified_by == "ppa-collab"


@pytest.mark.parametrize(
    "size",
    # The sample, the bench's large PPA, and sizes of it that left "Quand", "Avec qui" and
    # "La suite" alone at a page bottom.
    [None, (40, 80), (5, 7), (3, 5), (4, 11)],
)
def test_falc_no_page_ends_with_a_heading(
    validated: ExportInput, size: tuple[int, int] | None
) -> None:
    inp = validated if size is None else sample_large_input(*size)
    headings = {
        "Ce que vous voulez pour votre vie",
        "Ce que vous attendez",
        "Vos objectifs",
        "Ce que vous allez faire",
        "Votre accord",
        "La suite",
    }
    last = last_body_lines(render_falc(inp), furniture(inp, label="Votre projet"))
    assert len(last) > 1
    for number, line in enumerate(last[:-1], 1):
        assert line not in headings, f"page {number} ends with the heading {line!r}"
