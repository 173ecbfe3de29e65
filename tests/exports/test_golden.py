"""Golden tests: every export of the sample PPA, normalised, compared with tests/exports/golden/.

Normalisation removes only what is not a property of the export (volatile or unreadable parts);
everything else is compared exactly:

* PDF (PPA, FALC, MDPH fiche de liaison): the text of each page as pypdf extracts it (lines
  right-stripped), the document information and the sorted fonts with their embedded flag (the
  six-letter subset tag, an arbitrary name, replaced by ``subset``).
* DOCX: ``word/document.xml`` indented (lxml), revision-save ids (``w:rsid*``) and Word 2010
  paragraph ids (``w14:paraId``, ``w14:textId``) removed.
* FHIR TDDUI and FHIR Appointment bundles: the JSON with sorted keys (the ``urn:uuid:`` are uuid5
  of the version hash, deterministic, and compared as they are).
* CDA: the XML indented and canonicalised (C14N) with the base64 PDF replaced by its size and
  SHA-256 (the PDF itself has its own golden).
* iCalendar: parsed back with ``icalendar`` and written one unfolded content line per property
  (DTSTAMP is the version's validation time, not the clock, so it is compared too).

``PPA_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/exports/test_golden.py`` rewrites the
files; review the diff (``git diff tests/exports/golden``) before committing it.
"""

from __future__ import annotations

import base64
import difflib
import hashlib
import io
import json
import os
import re
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pikepdf
import pytest
from icalendar import Calendar
from lxml import etree
from pypdf import PdfReader

from exports.context import ExportInput
from exports.registry import render

GOLDEN = Path(__file__).resolve().parent / "golden"
UPDATE_ENV = "PPA_UPDATE_GOLDEN"
HL7 = "urn:hl7-org:v3"
W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
W14 = "http://schemas.microsoft.com/office/word/2010/wordml"
DIFF_LINES = 120


# -- comparison -------------------------------------------------------------------------------


def assert_golden(path: Path, actual: str) -> None:
    """Compare ``actual`` with the golden file ``path`` (rewrite it when PPA_UPDATE_GOLDEN=1)."""
    if os.environ.get(UPDATE_ENV) == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual, encoding="utf-8")
    if not path.exists():
        pytest.fail(f"{path.name} is missing: run with {UPDATE_ENV}=1 to create it, then review it")
    expected = path.read_text(encoding="utf-8")
    if actual == expected:
        return
    diff = list(
        difflib.unified_diff(
            expected.splitlines(),
            actual.splitlines(),
            f"golden/{path.name}",
            "rendered now",
            lineterm="",
        )
    )
    shown = "\n".join(diff[:DIFF_LINES])
    more = f"\n... {len(diff) - DIFF_LINES} more diff lines" if len(diff) > DIFF_LINES else ""
    pytest.fail(
        f"{path.name} differs from the rendered export:\n{shown}{more}\n"
        f"If the change is intended: {UPDATE_ENV}=1 .venv/bin/python -m pytest "
        "tests/exports/test_golden.py, then review git diff tests/exports/golden",
        pytrace=False,
    )


# -- normalisers ------------------------------------------------------------------------------


def _font_rows(resources: Any, seen: set[int], out: set[str]) -> None:
    """Fonts of a resource dictionary, recursing into form XObjects."""
    if resources is None:
        return
    fonts = resources.get("/Font")
    for _name, font in fonts.items() if fonts is not None else []:
        base = str(font.get("/BaseFont", "?")).lstrip("/")
        subset = bool(re.match(r"[A-Z]{6}\+", base))
        desc_holder = font
        if font.get("/Subtype") == "/Type0":
            desc_holder = font.DescendantFonts[0]
        desc = desc_holder.get("/FontDescriptor")
        files = [k for k in ("/FontFile", "/FontFile2", "/FontFile3") if desc and k in desc]
        out.add(
            f"{base[7:] if subset else base} {str(font.get('/Subtype', '?')).lstrip('/')}"
            f" subset={'yes' if subset else 'no'}"
            f" embedded={files[0].lstrip('/') if files else 'no'}"
        )
    xobjects = resources.get("/XObject")
    for _name, xobj in xobjects.items() if xobjects is not None else []:
        key = xobj.objgen[0]
        if xobj.get("/Subtype") == "/Form" and key not in seen:
            seen.add(key)
            _font_rows(xobj.get("/Resources"), seen, out)


def normalise_pdf(data: bytes) -> str:
    """Document information, fonts (sorted, embedded flag) and the text of every page."""
    lines = ["# Document information"]
    fonts: set[str] = set()
    with pikepdf.open(io.BytesIO(data)) as pdf:
        for key in ("/Title", "/Author", "/Subject", "/Keywords", "/CreationDate", "/ModDate"):
            if key in pdf.docinfo:
                lines.append(f"{key.lstrip('/')}: {pdf.docinfo[key]}")
        lines.append(f"Lang: {pdf.Root.get('/Lang', '-')}")
        seen: set[int] = set()
        for page in pdf.pages:
            _font_rows(page.get("/Resources"), seen, fonts)
    lines += ["", "# Fonts", *sorted(fonts)]
    pages = PdfReader(io.BytesIO(data)).pages
    for n, text_page in enumerate(pages, 1):
        lines += ["", f"# Page {n} / {len(pages)}"]
        lines += [line.rstrip() for line in text_page.extract_text().splitlines()]
    return "\n".join(lines) + "\n"


def normalise_docx(data: bytes) -> str:
    """word/document.xml indented, without revision-save and paragraph ids."""
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        root = etree.fromstring(zf.read("word/document.xml"))
    volatile = {f"{{{W14}}}paraId", f"{{{W14}}}textId"}
    for el in root.iter():
        for attr in list(el.attrib):
            name = str(attr)
            if name in volatile or name.startswith(f"{{{W}}}rsid"):
                del el.attrib[attr]
    etree.indent(root, space="  ")
    return etree.tostring(root, encoding="unicode") + "\n"


def normalise_json(data: bytes) -> str:
    """The JSON with sorted keys, two-space indent, UTF-8 text."""
    return json.dumps(json.loads(data), sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def normalise_cda(data: bytes) -> str:
    """C14N of the indented CDA, the base64 PDF replaced by its size and SHA-256."""
    root = etree.fromstring(data)
    (text,) = root.findall(f"{{{HL7}}}component/{{{HL7}}}nonXMLBody/{{{HL7}}}text")
    pdf = base64.b64decode(text.text or "")
    text.text = f"[base64 PDF: {len(pdf)} bytes, sha256 {hashlib.sha256(pdf).hexdigest()}]"
    etree.indent(root, space="  ")
    return etree.tostring(root, method="c14n").decode("utf-8") + "\n"


def normalise_ics(data: bytes) -> str:
    """The calendar parsed back, one unfolded content line per property."""
    cal = Calendar.from_ical(data)
    return "\n".join(str(line) for line in cal.content_lines()) + "\n"


Normaliser = Callable[[bytes], str]
FORMATS: dict[str, tuple[Normaliser, str]] = {
    "pdf": (normalise_pdf, "txt"),
    "falc": (normalise_pdf, "txt"),
    "mdph": (normalise_pdf, "txt"),
    "docx": (normalise_docx, "xml"),
    "fhir": (normalise_json, "json"),
    "fhir-agenda": (normalise_json, "json"),
    "cda": (normalise_cda, "xml"),
    "mdph-cda": (normalise_cda, "xml"),
    "ics": (normalise_ics, "ics"),
}


def _check(fmt: str, which: str, inp: ExportInput) -> None:
    normalise, ext = FORMATS[fmt]
    assert_golden(GOLDEN / f"{fmt}-{which}.{ext}", normalise(render(fmt, inp)))


def _input(request: pytest.FixtureRequest, which: str) -> ExportInput:
    inp = request.getfixturevalue(which)
    assert isinstance(inp, ExportInput)
    return inp


# -- one comparison test per format ----------------------------------------------------------


@pytest.mark.parametrize("which", ["validated", "avenant"])
def test_pdf_golden(request: pytest.FixtureRequest, which: str) -> None:
    _check("pdf", which, _input(request, which))


def test_falc_golden(validated: ExportInput) -> None:
    _check("falc", "validated", validated)


def test_mdph_pdf_golden(avenant: ExportInput) -> None:
    _check("mdph", "avenant", avenant)


def test_docx_golden(validated: ExportInput) -> None:
    _check("docx", "validated", validated)


@pytest.mark.parametrize("which", ["validated", "avenant"])
def test_fhir_tddui_golden(request: pytest.FixtureRequest, which: str) -> None:
    _check("fhir", which, _input(request, which))


@pytest.mark.parametrize("which", ["validated", "avenant"])
def test_cda_golden(request: pytest.FixtureRequest, which: str) -> None:
    _check("cda", which, _input(request, which))


def test_mdph_cda_golden(avenant: ExportInput) -> None:
    _check("mdph-cda", "avenant", avenant)


@pytest.mark.parametrize("which", ["validated", "avenant"])
def test_ics_golden(request: pytest.FixtureRequest, which: str) -> None:
    _check("ics", which, _input(request, which))


@pytest.mark.parametrize("which", ["validated", "avenant"])
def test_fhir_appointment_bundle_golden(request: pytest.FixtureRequest, which: str) -> None:
    _check("fhir-agenda", which, _input(request, which))


# -- the harness itself -----------------------------------------------------------------------


def test_mismatch_fails_with_a_unified_diff_and_update_rewrites(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "x.txt"
    monkeypatch.delenv(UPDATE_ENV, raising=False)
    with pytest.raises(pytest.fail.Exception, match="missing"):
        assert_golden(path, "a\n")
    path.write_text("a\nb\n", encoding="utf-8")
    assert_golden(path, "a\nb\n")
    with pytest.raises(pytest.fail.Exception) as failed:
        assert_golden(path, "a\nc\n")
    assert "-b\n+c" in str(failed.value)
    assert UPDATE_ENV in str(failed.value)
    monkeypatch.setenv(UPDATE_ENV, "1")
    assert_golden(path, "a\nc\n")
    assert path.read_text(encoding="utf-8") == "a\nc\n"


def test_normalisers_keep_what_matters_and_drop_only_volatile_parts(
    validated: ExportInput,
) -> None:
    cda = render("cda", validated)
    assert normalise_cda(cda) != normalise_cda(cda.replace(b"MARTIN", b"MARTON"))
    docx = normalise_docx(render("docx", validated))
    assert "rsid" not in docx
    assert "w:t" in docx
    ics = render("ics", validated)
    assert normalise_ics(ics) != normalise_ics(ics.replace(b"SEQUENCE:0", b"SEQUENCE:1"))
    pdf = normalise_pdf(render("pdf", validated))
    assert "embedded=FontFile2" in pdf
    assert "embedded=no" not in pdf
