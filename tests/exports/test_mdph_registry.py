from __future__ import annotations

import io
import zipfile
from datetime import date

import pytest

from exports.cda import validate_cda
from exports.context import ExportInput
from exports.errors import ExportNotAllowedError
from exports.mdph import action_changes, render_mdph_cda, render_mdph_pdf, render_mdph_xdm
from exports.registry import FORMATS, filename, render
from tests.exports.conftest import pdf_text, squash


def test_mdph_fiche_summarises_the_changed_modalites(avenant: ExportInput) -> None:
    base = avenant.previous_contents[-1]
    changes = {(c.action.id, c.kind): c for c in action_changes(base, avenant.content)}
    assert set(changes) == {
        ("act-3", "modifiée"),
        ("act-piscine", "ajoutée"),
        ("act-6", "supprimée"),
    }
    assert changes[("act-3", "modifiée")].fields == ("planning",)
    flat = squash(pdf_text(render_mdph_pdf(avenant)))
    for needle in (
        "Fiche de liaison MDPH",
        "avenant n°1 à la version 3",
        "Atelier cuisine en appartement d'entraînement (modifiée : planning)",
        "Piscine avec le groupe (ajoutée)",
        "Entretiens de soutien (supprimée)",
        "2.1.1.3 - Prestations des psychologues",
        "le mercredi, de 10 h 00",
        "le jeudi, de 14 h 00",
        "Léa MARTIN : accord signé le 20 février 2027",
    ):
        assert squash(needle) in flat, needle


def test_mdph_cda_and_xdm(avenant: ExportInput) -> None:
    cda = render_mdph_cda(avenant)
    assert validate_cda(cda) == []
    assert b'code="28653-4"' in cda
    zf = zipfile.ZipFile(io.BytesIO(render_mdph_xdm(avenant)))
    assert zf.read("IHE_XDM/SUBSET01/DOC0001.XML") == cda


def test_mdph_needs_an_avenant(validated: ExportInput) -> None:
    with pytest.raises(ExportNotAllowedError, match="avenant"):
        render_mdph_pdf(validated)


def test_registry_lists_every_format_with_media_type_and_draft_policy() -> None:
    assert set(FORMATS) == {
        "pdf", "docx", "falc", "fhir", "cda", "xdm", "ics", "fhir-agenda",
        "mdph", "mdph-cda", "mdph-xdm",
    }  # fmt: skip
    assert {n for n, f in FORMATS.items() if f.drafts_allowed} == {"pdf", "docx", "falc"}
    assert FORMATS["ics"].media_type == "text/calendar"
    assert FORMATS["fhir"].media_type == "application/fhir+json"
    assert {n for n, f in FORMATS.items() if not f.deterministic} == {"xdm", "mdph-xdm"}


@pytest.mark.parametrize("name", ["fhir", "cda", "xdm", "ics", "fhir-agenda", "mdph"])
def test_drafts_are_refused_for_dmp_esms_and_agendas(draft: ExportInput, name: str) -> None:
    with pytest.raises(ExportNotAllowedError, match="brouillon"):
        render(name, draft)


def test_draft_pdf_is_allowed(draft: ExportInput) -> None:
    assert "BROUILLON" in pdf_text(render("pdf", draft))


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_every_format_renders_the_same_bytes_twice(avenant: ExportInput, name: str) -> None:
    first = render(name, avenant)
    assert first
    assert render(name, avenant) == first
    assert filename(name, avenant).startswith("ppa-0042-v5")
    assert "MARTIN" not in filename(name, avenant)


def test_mdph_one_day_action_reads_le_date(avenant: ExportInput, one_day: ExportInput) -> None:
    bilan = next(a for a in one_day.content.actions if a.id == "act-bilan")  # 10 December only
    base = avenant.previous_contents[-1].model_copy(deep=True)
    base.actions.append(bilan.model_copy(deep=True))
    content = avenant.content.model_copy(deep=True)
    moved = bilan.model_copy(deep=True)
    moved.date_debut = moved.date_fin = date(2026, 12, 17)  # one day too, a week later
    content.actions.append(moved)
    changed = avenant.model_copy(update={"content": content, "previous_contents": (base,)})
    flat = squash(pdf_text(render_mdph_pdf(changed)))
    assert squash("Bilan en ergothérapie (modifiée : début, fin)") in flat
    assert squash("Le 10 décembre 2026.") in flat  # before the avenant
    assert squash("Le 17 décembre 2026.") in flat  # after
    assert squash("Du 2 décembre 2026 au 30 novembre 2027.") in flat  # the workshop still spans
    assert squash("au 10 décembre 2026") not in flat
    assert squash("au 17 décembre 2026") not in flat
