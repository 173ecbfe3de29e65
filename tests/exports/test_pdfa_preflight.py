"""The produced PDFs through a real PDF/A validator: Apache PDFBox Preflight (Debian).

Preflight (``libpdfbox2-java``, installed by ``scripts/bootstrap.sh``) validates PDF/A-1b only.
Our files claim PDF/A-2b (``pdfaid:part=2``), so on them its single expected finding is the
identification rule 7.11.2 "part must be 1"; a copy whose XMP says ``part=1`` must then pass every
PDF/A-1b rule. PDF/A-1b is the stricter level on what Preflight checks (no transparency, fonts
embedded with consistent widths, metadata, output intent...); the rules specific to PDF/A-2b are
not machine-checked here (see docs/exports.md).

Java or the jars missing is a failure, not a skip: the check would silently disappear.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pikepdf
import pytest
from reportlab.pdfgen.canvas import Canvas

from exports._pdfkit import PdfMeta, finish_pdfa
from exports.context import VersionKind
from exports.falc import render_falc
from exports.mdph import render_mdph_pdf
from exports.pdf import render_pdf
from exports.sample import sample_avenant_input, sample_input, sample_large_input

JAVA_DIR = Path("/usr/share/java")
# Jar -> Debian package providing it.
JARS = {
    "preflight.jar": "libpdfbox2-java",
    "pdfbox2.jar": "libpdfbox2-java",
    "xmpbox.jar": "libpdfbox2-java",
    "fontbox2.jar": "libfontbox2-java",
    "commons-logging.jar": "libcommons-logging-java",
    "jaxb-api.jar": "libjaxb-api-java",
    "javax.activation.jar": "libactivation-java",
}
MAIN = "org.apache.pdfbox.preflight.Validator_A1b"
PART_RULE = ("7.11.2", "Error on MetaData, part must be 1")
PART_2 = b"<pdfaid:part>2</pdfaid:part>"
PART_1 = b"<pdfaid:part>1</pdfaid:part>"

RENDERERS: dict[str, Callable[[], bytes]] = {
    "ppa": lambda: render_pdf(sample_input()),
    "draft": lambda: render_pdf(sample_input(VersionKind.DRAFT)),  # "BROUILLON" watermark
    "falc": lambda: render_falc(sample_input()),
    "mdph": lambda: render_mdph_pdf(sample_avenant_input()),
    "large": lambda: render_pdf(sample_large_input()),  # 40 objectives, 80 actions
}


def preflight_command(java_dir: Path = JAVA_DIR) -> list[str]:
    """``java -cp <jars> Validator_A1b``; fails the test (clearly) when anything is missing."""
    java = shutil.which("java")
    missing = sorted({pkg for jar, pkg in JARS.items() if not (java_dir / jar).is_file()})
    if java is None:
        missing.insert(0, "default-jre-headless (java)")
    if missing:
        pytest.fail(
            "PDFBox Preflight cannot run: missing " + ", ".join(missing) + f" (jars in {java_dir})."
            " Install them with scripts/bootstrap.sh (bootstrap_test_tools) or"
            " apt-get install libpdfbox2-java libfontbox2-java libcommons-logging-java"
            " libjaxb-api-java libactivation-java",
            pytrace=False,
        )
    assert java is not None
    classpath = ":".join(str(java_dir / jar) for jar in JARS)
    return [java, "-cp", classpath, MAIN]


@dataclass(frozen=True)
class Result:
    valid: bool
    errors: list[tuple[str, str]]
    """(rule code, details) of every finding."""


def preflight(files: dict[str, bytes], workdir: Path) -> dict[str, Result]:
    """Validate every file in one JVM run (``xml group`` mode); results by file name."""
    command = preflight_command()
    for name, data in files.items():
        (workdir / name).write_bytes(data)
    listing = workdir / "files.txt"
    listing.write_text("".join(f"{workdir / name}\n" for name in files))
    done = subprocess.run(
        [*command, "xml", "group", str(listing)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    report = workdir / "files.txt.preflight.xml"
    assert report.is_file(), f"Preflight wrote no report (exit {done.returncode}): {done.stderr}"
    results: dict[str, Result] = {}
    for node in ET.parse(report).getroot().iter("preflight"):
        errors = [(e.findtext("code", ""), e.findtext("details", "")) for e in node.iter("error")]
        results[node.attrib["name"]] = Result(node.findtext("isValid") == "true", errors)
    assert set(results) == set(files), done.stderr
    return results


def claim_part_1(data: bytes) -> bytes:
    """The same PDF with its XMP identification rewritten to ``pdfaid:part=1`` (pikepdf)."""
    with pikepdf.open(io.BytesIO(data)) as pdf:
        xmp = pdf.Root.Metadata.read_bytes()
        assert xmp.count(PART_2) == 1
        pdf.Root.Metadata.write(xmp.replace(PART_2, PART_1))
        out = io.BytesIO()
        pdf.save(out)
    return out.getvalue()


def standard_font_pdf() -> bytes:
    """A page in Helvetica, a standard-14 font ReportLab does not embed, finished like ours."""
    buf = io.BytesIO()
    canvas = Canvas(buf, invariant=1)
    canvas.setFont("Helvetica", 12)
    canvas.drawString(72, 720, "Police non incorporée")
    canvas.showPage()
    canvas.save()
    at = datetime(2025, 9, 12, 18, 5, tzinfo=UTC)
    meta = PdfMeta(
        title="Essai", author="Essai", subject="Essai", keywords="", created=at, modified=at
    )
    return finish_pdfa(buf.getvalue(), meta)


@pytest.fixture(scope="module")
def produced() -> dict[str, bytes]:
    return {f"{name}.pdf": render() for name, render in RENDERERS.items()}


@pytest.fixture(scope="module")
def results(
    produced: dict[str, bytes], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Result]:
    files = dict(produced)
    files.update({f"{name[:-4]}-part1.pdf": claim_part_1(data) for name, data in produced.items()})
    files["helvetica-part1.pdf"] = claim_part_1(standard_font_pdf())
    return preflight(files, tmp_path_factory.mktemp("preflight"))


@pytest.mark.parametrize("name", RENDERERS)
def test_preflight_only_objects_to_the_part_number(results: dict[str, Result], name: str) -> None:
    result = results[f"{name}.pdf"]
    assert not result.valid
    assert result.errors == [PART_RULE]


@pytest.mark.parametrize("name", RENDERERS)
def test_the_same_pdf_claiming_part_1_is_valid_pdfa_1b(
    results: dict[str, Result], name: str
) -> None:
    result = results[f"{name}-part1.pdf"]
    assert result.errors == []
    assert result.valid


def test_preflight_reports_a_font_that_is_not_embedded(results: dict[str, Result]) -> None:
    result = results["helvetica-part1.pdf"]
    assert not result.valid
    assert any(
        code == "3.1.3" and "FontFile entry is missing" in details
        for code, details in result.errors
    ), result.errors
    assert PART_RULE not in result.errors


@pytest.mark.parametrize("name", RENDERERS)
def test_qpdf_finds_no_syntax_or_stream_error(produced: dict[str, bytes], name: str) -> None:
    with pikepdf.open(io.BytesIO(produced[f"{name}.pdf"])) as pdf:
        assert pdf.check_pdf_syntax() == []


def test_missing_validator_fails_with_the_packages_to_install(tmp_path: Path) -> None:
    with pytest.raises(pytest.fail.Exception, match=r"libpdfbox2-java.*apt-get install"):
        preflight_command(tmp_path)
