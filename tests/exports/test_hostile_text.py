"""Every export format of a version whose every text holds NUL, ESC, U+FFFE, a lone surrogate,
an RTL override, an emoji and combining marks: a valid file, without the characters XML 1.0
cannot carry, with the others kept where the format carries text as is.

Such a version exists when it was stored before the input rules (versions are immutable): the
input is built the way the server builds it, from objects that never went through validation.
"""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import pytest
from icalendar import Calendar
from lxml import etree
from pypdf import PdfReader

from exports.cda import validate_cda
from exports.context import ExportInput
from exports.registry import FORMATS, render
from exports.sample import sample_avenant_input
from tests.exports.hostile import EMOJI, ILLEGAL, LEGAL, NUL, RTL_OVERRIDE, poison


def hostile_input() -> ExportInput:
    """The sample avenant (every format applies to it) with every free text poisoned."""
    clean = sample_avenant_input()
    return ExportInput(
        content=poison(clean.content),
        version=poison(clean.version),
        person=poison(clean.person),
        structure=poison(clean.structure),
        professionals=poison(clean.professionals),
        author_id=clean.author_id,
        legal_authenticator_id=clean.legal_authenticator_id,
        previous_contents=poison(clean.previous_contents),
        generated_at=clean.generated_at,
    )


def _xml(data: bytes) -> etree._Element:
    return etree.fromstring(data, etree.XMLParser(resolve_entities=False, no_network=True))


def _texts(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [t for v in value.values() for t in _texts(v)]
    if isinstance(value, list):
        return [t for v in value for t in _texts(v)]
    return []


def check_file(fmt: str, data: bytes) -> str:
    """Parse ``data`` back as its format; the text it carries (for the checks below)."""
    kind = FORMATS[fmt]
    assert data, fmt
    if kind.media_type == "application/xml":
        root = _xml(data)
        assert validate_cda(data) == [], fmt
        return "".join(str(t) for t in root.itertext())
    if kind.extension in ("zip", "docx"):
        texts: list[str] = []
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            assert archive.testzip() is None
            for name in archive.namelist():
                if name.endswith((".xml", ".rels")):
                    texts.extend(str(t) for t in _xml(archive.read(name)).itertext())
        return "".join(texts)
    if kind.media_type == "application/pdf":
        reader = PdfReader(io.BytesIO(data), strict=True)
        return "".join(page.extract_text() for page in reader.pages)
    if kind.media_type == "application/fhir+json":
        return "".join(_texts(json.loads(data)))
    assert kind.media_type == "text/calendar", fmt
    calendar = Calendar.from_ical(data)
    return "".join(str(component.get("SUMMARY", "")) for component in calendar.walk())


@pytest.fixture(scope="module")
def hostile() -> ExportInput:
    return hostile_input()


def test_the_input_holds_every_class_before_rendering() -> None:
    """The poisoning reaches the renderers' input: only what XML cannot carry is dropped."""
    clean = sample_avenant_input()
    poisoned = poison(clean.content)
    assert NUL in poisoned.objectifs[0].titre
    built = hostile_input()
    assert NUL not in built.content.objectifs[0].titre
    assert RTL_OVERRIDE in built.content.objectifs[0].titre
    assert EMOJI in built.person.birth_family_name


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_every_format_renders_a_valid_file(fmt: str, hostile: ExportInput) -> None:
    text = check_file(fmt, render(fmt, hostile))
    for char in ILLEGAL:
        assert char not in text, (fmt, hex(ord(char)))
    if FORMATS[fmt].media_type == "application/fhir+json" and fmt == "fhir":
        for legal in LEGAL:
            assert legal in text, (fmt, legal)
