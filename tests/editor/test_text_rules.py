"""The one predicate on text (``editor.text_rules``), and the scrubbing exports rely on."""

from __future__ import annotations

from editor.schema import Objectif, PPAContent
from editor.text_rules import find_illegal_chars, illegal_text_paths, scrub, xml_safe


def test_refused_classes() -> None:
    refused = ["\x00", "\x08", "\x0b", "\x0c", "\x0e", "\x1f", "\ud800", "\udfff", "\ufdd0"]
    refused += ["\ufdef", "\ufffe", "\uffff", "\U0001fffe", "\U0010ffff"]
    for char in refused:
        assert [c.char for c in find_illegal_chars(f"a{char}")] == [char], hex(ord(char))
    for text in ("\t", "\n", "\r\n", "\x7f", "\u202e", "\U0001f600", "e\u0301", "\ufdcf", "\ufffd"):
        assert find_illegal_chars(text) == [], text


def test_paths_name_items_by_id() -> None:
    content = PPAContent(objectifs=[Objectif(id="o-1", titre="ok"), Objectif(id="o-2")])
    content.objectifs[1].description = "x\x00"
    found = list(illegal_text_paths(content))
    assert [(path, c.code_point) for path, c in found] == [
        (".objectifs[o-2].description", "U+0000")
    ]


def test_scrub_keeps_clean_objects_and_drops_xml_illegal_characters() -> None:
    clean = PPAContent(objectifs=[Objectif(id="o-1", titre="Sortir \u202e\U0001f600")])
    assert scrub(clean) is clean
    dirty = clean.model_copy(deep=True)
    dirty.objectifs[0].titre = "Sor\x00tir\ufffe\udc00\x1b"
    scrubbed = scrub(dirty)
    assert scrubbed.objectifs[0].titre == "Sortir"
    assert dirty.objectifs[0].titre == "Sor\x00tir\ufffe\udc00\x1b"  # the input is not changed
    assert scrub({"a\x00": ("b\x01", ["c"])}) == {"a": ("b", ["c"])}
    # Other noncharacters are legal XML: refused as input, kept by exports.
    assert xml_safe("\ufdd0") == "\ufdd0"
