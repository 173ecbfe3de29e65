"""A validated version and an avenant whose texts hold NUL, ESC, U+FFFE, an RTL override, an
emoji and combining marks (a live document cannot hold a lone surrogate) export in every format
through the API (200, a valid file). Such versions were accepted before the input rules (through
the live editor, or a name written before): they are immutable, so their exports must keep
working.

The content reaches the stored live document directly (as an edit would) and the person's and
structure's names are written in SQL: no REST input would accept them now.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa

from exports import registry
from server.demo import demo_content
from tests.conftest import Api, DatabaseInfo
from tests.exports.hostile import ILLEGAL, NUL, STORABLE, poison
from tests.exports.test_hostile_text import check_file
from tests.server.exports_api.support import (
    COORD,
    Validated,
    add_avenant,
    validate,
    write_live_content,
)
from tests.server.helpers import build_cercle

MDPH = {"mdph", "mdph-cda", "mdph-xdm"}


def _name_suffix(database: DatabaseInfo) -> str:
    """PostgreSQL text cannot hold NUL at all: ESC stands for it there."""
    return ("\x00" if database.backend == "sqlite" else "\x1b") + "\ufffe\u202e\U0001f600e\u0301"


@pytest.fixture(scope="module")
def hostile(
    api_as: Callable[[str], Api], demo: dict[str, Any], settings: Any, database: DatabaseInfo
) -> Validated:
    coord = api_as(COORD)
    cercle = build_cercle(api_as, demo)
    structure = coord.post(
        "/api/structures", json={"finess": _fresh_finess(), "name": "FAM des Tilleuls"}
    )
    assert structure.status_code == 201, structure.text
    structure_id = structure.json()["id"]
    response = coord.patch(
        f"/api/persons/{cercle.person_id}",
        json={"structure_id": structure_id, "local_id": "DUI-0666"},
    )
    assert response.status_code == 200, response.text
    suffix = _name_suffix(database)
    engine = sa.create_engine(database.sync_url)
    try:
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "UPDATE persons SET birth_family_name = :n, first_names = :f, used_name = :u "
                    "WHERE id = :id"
                ),
                {"n": "DUPONT" + suffix, "f": "Jean" + suffix, "u": suffix, "id": cercle.person_id},
            )
            conn.execute(
                sa.text("UPDATE structures SET name = :n WHERE id = :id"),
                {"n": "FAM" + suffix, "id": structure_id},
            )
    finally:
        engine.dispose()
    clean = demo_content(demo["professionals"])
    created = coord.post(
        f"/api/persons/{cercle.person_id}/ppas",
        json={"title": "PPA hostile", "content": clean.model_dump(mode="json")},
    )
    assert created.status_code == 201, created.text
    ppa_id = created.json()["id"]
    content = poison(clean, suffix=STORABLE)
    assert NUL in content.projet.titre
    write_live_content(settings, ppa_id, content)
    read = coord.get(f"/api/ppas/{ppa_id}")
    assert read.status_code == 200, read.text
    draft = coord.post(f"/api/ppas/{ppa_id}/versions", json={"label": "Avant validation"})
    assert draft.status_code == 201, draft.text
    v = Validated(cercle, ppa_id, content, draft.json()["number"], validate(coord, ppa_id))
    return add_avenant(api_as, settings, v)


def _fresh_finess() -> str:
    from tests.server.test_role_matrix import _random_finess

    return _random_finess()


@pytest.mark.parametrize("fmt", list(registry.FORMATS))
def test_validated_version_exports(fmt: str, hostile: Validated, api_as: Any) -> None:
    response = api_as(COORD).get(
        f"/api/ppas/{hostile.ppa_id}/versions/{hostile.validated}/exports/{fmt}"
    )
    if fmt in MDPH:  # the MDPH form needs an avenant: refused for a plain validation
        assert response.status_code == 409, response.text
        return
    assert response.status_code == 200, response.text
    text = check_file(fmt, response.content)
    for char in ILLEGAL:
        assert char not in text, (fmt, hex(ord(char)))


@pytest.mark.parametrize("fmt", list(registry.FORMATS))
def test_avenant_exports(fmt: str, hostile: Validated, api_as: Any) -> None:
    assert hostile.avenant is not None
    response = api_as(COORD).get(
        f"/api/ppas/{hostile.ppa_id}/versions/{hostile.avenant}/exports/{fmt}"
    )
    assert response.status_code == 200, response.text
    check_file(fmt, response.content)


@pytest.mark.parametrize("fmt", ["pdf", "docx", "falc"])
def test_draft_exports(fmt: str, hostile: Validated, api_as: Any) -> None:
    response = api_as(COORD).get(
        f"/api/ppas/{hostile.ppa_id}/versions/{hostile.draft}/exports/{fmt}"
    )
    assert response.status_code == 200, response.text
    check_file(fmt, response.content)


def test_person_reads_back(hostile: Validated, api_as: Any) -> None:
    """Stored texts that predate the rule still read back through the API."""
    response = api_as(COORD).get(f"/api/persons/{hostile.person_id}")
    assert response.status_code == 200, response.text
    assert "\ufffe" in response.json()["birth_family_name"]
