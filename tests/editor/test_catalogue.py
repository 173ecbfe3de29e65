"""The one catalogue of fields and labels: the model, the CRDT, the docs and the browser agree."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from enum import StrEnum
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from editor import crdt
from editor.catalogue import (
    ENUM_LABELS,
    FIELD_LABELS,
    FIELDS,
    FREQUENCE_UNITS,
    SECTIONS,
    SERAFIN_KIND_LABELS,
    FieldKind,
    catalogue_json,
)
from editor.schema import Frequence, PPAContent
from editor.terminology import Kind

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "document-schema.md"
WEB_SRC = ROOT / "editor" / "web" / "src"
GENERATED = WEB_SRC / "generated" / "catalogue.json"


def _models() -> set[type[BaseModel]]:
    return set(SECTIONS.values())


def _enums_of(model: type[BaseModel]) -> set[type[StrEnum]]:
    found: set[type[StrEnum]] = set()

    def walk(annotation: Any) -> None:
        if isinstance(annotation, type) and issubclass(annotation, StrEnum):
            found.add(annotation)
        for arg in getattr(annotation, "__args__", ()):
            walk(arg)

    for info in model.model_fields.values():
        walk(info.annotation)
    return found


@pytest.mark.parametrize("section", list(SECTIONS))
def test_the_field_list_is_the_models(section: str) -> None:
    model = SECTIONS[section]
    assert list(FIELDS[model]) == list(model.model_fields)


def test_every_section_of_the_content_has_its_model() -> None:
    assert set(FIELDS) == _models()
    assert crdt.FIELDS is FIELDS
    for name in PPAContent.model_fields:
        assert name in SECTIONS or name == "projet_de_vie"


def test_every_field_has_a_french_label_and_no_label_is_orphan() -> None:
    expected = {"projet_de_vie"}
    for section, model in SECTIONS.items():
        prefix = "planning." if section == "planning" else ""
        expected |= {prefix + name for name in model.model_fields if name != "id"}
    assert set(FIELD_LABELS) == expected


def test_every_enum_value_has_a_french_label() -> None:
    enums = set().union(*(_enums_of(model) for model in _models()))
    assert set(ENUM_LABELS) == enums
    for enum, labels in ENUM_LABELS.items():
        assert list(labels) == [member.value for member in enum], enum.__name__
        assert all(label.strip() for label in labels.values())
    assert list(FREQUENCE_UNITS) == [member.value for member in Frequence]
    assert [kind.value for kind in SERAFIN_KIND_LABELS] == [kind.value for kind in Kind]


# --------------------------------------------------------------------------- docs


_DOC_KINDS = {
    "Text": FieldKind.TEXT,
    "string": FieldKind.STRING,
    "string\\|null": FieldKind.OPTIONAL_STRING,
    "date": FieldKind.DATE,
    "time": FieldKind.OPTIONAL_TIME,
    "enum": FieldKind.ENUM,
    "integer": FieldKind.INTEGER,
    "integer\\|null": FieldKind.OPTIONAL_INTEGER,
    "Array\\<string\\>": FieldKind.STRING_ARRAY,
    "Map\\|null": FieldKind.OPTIONAL_MAP,
    "id": FieldKind.ID,
}


def doc_tables() -> dict[str, list[tuple[str, str, str]]]:
    """``{section: [(key, kind cell, default cell)]}`` from §3 of docs/document-schema.md."""
    tables: dict[str, list[tuple[str, str, str]]] = {}
    current: list[tuple[str, str, str]] | None = None
    for line in DOC.read_text().splitlines():
        if m := re.match(r"^### 3\.\d+ `([\w\[\].]+)`", line):  # `actions[].planning`
            current = tables.setdefault(m.group(1).replace("[]", "").split(".")[-1], [])
        elif line.startswith("## ") and not line.startswith("## 3."):
            current = None
        elif current is not None and (m := re.match(r"^\| `(\w+)` \| (.+?) \| (.+?) \|", line)):
            current.append((m.group(1), m.group(2), m.group(3)))
    return tables


def _doc_default(cell: str) -> Any:
    return None if cell == "-" else json.loads(cell.strip("`"))


def test_the_document_schema_doc_lists_the_catalogue() -> None:
    tables = doc_tables()
    assert list(tables) == list(SECTIONS)
    data = catalogue_json()["fields"]
    for section, model in SECTIONS.items():
        rows = tables[section]
        assert [key for key, _, _ in rows] == list(FIELDS[model]), section
        for (key, kind_cell, default_cell), entry in zip(rows, data[section], strict=True):
            word = kind_cell.split(" ")[0]
            assert _DOC_KINDS[word] is FIELDS[model][key], f"{section}.{key}: {kind_cell}"
            if word == "enum" or key == "jours":
                values = re.findall(r"`(\w+)`", kind_cell)
                assert any(values == [v.value for v in e] for e in ENUM_LABELS), key
            if key != "id":
                assert _doc_default(default_cell) == entry["default"], f"{section}.{key}"


# --------------------------------------------------------------------------- browser


def test_the_generator_prints_the_catalogue() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "editor.catalogue", "--json"],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    assert json.loads(done.stdout) == catalogue_json()


def test_the_browser_build_embeds_the_catalogue() -> None:
    """``npm run build`` (bootstrap_web) generated the browser's copy from this catalogue."""
    generated = json.loads(GENERATED.read_text())
    assert {key: generated[key] for key in catalogue_json()} == catalogue_json()


def test_the_browser_sources_hold_no_copy_of_a_label() -> None:
    labels = {label for table in ENUM_LABELS.values() for label in table.values()}
    labels |= set(FREQUENCE_UNITS.values()) - {"fois", "mois"}  # common words elsewhere
    labels |= set(SERAFIN_KIND_LABELS.values()) - {"Besoin"}  # a common word too
    for path in WEB_SRC.rglob("*.js"):
        if "generated" in path.parts:
            continue
        text = path.read_text()
        for label in labels:
            quoted = [f"'{label}'", f'"{label}"']
            assert not any(q in text for q in quoted), f"{path.relative_to(ROOT)}: {label!r}"
