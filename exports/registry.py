"""Format name -> renderer, media type, file extension, and whether drafts may use it.

The server serves ``GET /api/ppas/{id}/versions/{n}/exports/{format}`` from :data:`FORMATS`:
look the format up, refuse drafts where ``drafts_allowed`` is false (409 with
:func:`draft_refusal`), call :func:`render` in a worker thread, answer the bytes with
``media_type``, ``Content-Disposition: attachment; filename=...`` (:func:`filename`) and
``ETag`` = the version hash.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

from exports.cda import render_cda
from exports.context import ExportInput
from exports.docx import render_docx
from exports.errors import ExportNotAllowedError
from exports.falc import render_falc
from exports.fhir import render_fhir
from exports.fhir_agenda import render_fhir_agenda
from exports.ical import render_ical
from exports.mdph import render_mdph_cda, render_mdph_pdf, render_mdph_xdm
from exports.pdf import render_pdf
from exports.xdm import render_xdm

Renderer = Callable[[ExportInput], bytes]


@dataclass(frozen=True)
class ExportFormat:
    """One export format."""

    name: str
    renderer: Renderer
    media_type: str
    extension: str
    drafts_allowed: bool
    label: str
    """French label for the UI."""
    deterministic: bool = True
    """False when the bytes embed ``generated_at`` (XDM submissionTime)."""
    avenant_only: bool = False
    """Offered for validated avenants only (the MDPH fiche de liaison describes an avenant)."""


FORMATS: dict[str, ExportFormat] = {
    f.name: f
    for f in (
        ExportFormat("pdf", render_pdf, "application/pdf", "pdf", True, "PDF à signer"),
        ExportFormat(
            "docx",
            render_docx,
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            "docx",
            True,
            "Document Word modifiable",
        ),
        ExportFormat(
            "falc", render_falc, "application/pdf", "pdf", True, "Version facile à lire (FALC)"
        ),
        ExportFormat(
            "fhir",
            render_fhir,
            "application/fhir+json",
            "json",
            False,
            "FHIR TDDUI (logiciel de la structure)",
        ),
        ExportFormat("cda", render_cda, "application/xml", "xml", False, "CDA R2 pour le DMP"),
        ExportFormat(
            "xdm", render_xdm, "application/zip", "zip", False, "Paquet IHE XDM (MSSanté)", False
        ),
        ExportFormat("ics", render_ical, "text/calendar", "ics", False, "Agenda iCalendar"),
        ExportFormat(
            "fhir-agenda",
            render_fhir_agenda,
            "application/fhir+json",
            "json",
            False,
            "Agenda FHIR (rendez-vous)",
        ),
        ExportFormat(
            "mdph",
            render_mdph_pdf,
            "application/pdf",
            "pdf",
            False,
            "Fiche de liaison MDPH (PDF)",
            avenant_only=True,
        ),
        ExportFormat(
            "mdph-cda",
            render_mdph_cda,
            "application/xml",
            "xml",
            False,
            "Fiche de liaison MDPH (CDA)",
            avenant_only=True,
        ),
        ExportFormat(
            "mdph-xdm",
            render_mdph_xdm,
            "application/zip",
            "zip",
            False,
            "Fiche de liaison MDPH (XDM)",
            False,
            avenant_only=True,
        ),
    )
}


def draft_refusal(fmt: ExportFormat) -> str:
    """French reason given when a draft is asked in a format reserved to validated versions."""
    return (
        f"Le format « {fmt.label} » n'est disponible que pour une version validée ou un avenant ; "
        "un brouillon ne peut être envoyé ni au DMP, ni au DUI, ni aux agendas."
    )


def render(name: str, inp: ExportInput) -> bytes:
    """Render ``inp`` in format ``name``; raise :class:`ExportNotAllowedError` when refused."""
    fmt = FORMATS.get(name)
    if fmt is None:
        raise KeyError(name)
    if inp.version.kind.is_draft and not fmt.drafts_allowed:
        raise ExportNotAllowedError(draft_refusal(fmt))
    return fmt.renderer(inp)


def filename(name: str, inp: ExportInput) -> str:
    """Download name, e.g. ``ppa-0042-v3.pdf``, ``ppa-0042-v3-falc.pdf`` (no personal data)."""
    fmt = FORMATS[name]
    suffix = "" if name in ("pdf", "docx", "fhir", "cda", "xdm", "ics") else f"-{name}"
    return f"{inp.version.ppa_id}-v{inp.version.number}{suffix}.{fmt.extension}"


def _ascii_word(text: str) -> str:
    """``Léa-Marie`` -> ``Lea-Marie``: letters, digits and hyphens only (any browser, any disk)."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^A-Za-z0-9]+", "-", folded).strip("-")


def person_filename(name: str, inp: ExportInput) -> str:
    """The name a person's browser saves a download under, e.g. ``PPA-Lea-MARTIN-2026-v4.pdf``
    (first name, family name in capitals, the projet's first year, the version). Unlike
    :func:`filename` it carries the person's name: only for a download to the one who asked."""
    fmt = FORMATS[name]
    suffix = "" if name in ("pdf", "docx", "fhir", "cda", "xdm", "ics") else f"-{name}"
    person = inp.person
    first = _ascii_word(person.used_first_name or person.first_names[0])
    family = _ascii_word(person.used_name or person.birth_family_name).upper()
    start = inp.content.projet.date_debut
    year = start.year if start else inp.version.created_at.year
    parts = [p for p in ("PPA", first, family, str(year), f"v{inp.version.number}") if p]
    return f"{'-'.join(parts)}{suffix}.{fmt.extension}"


def audit_bundle_filename(first_names: str, family_name: str, year: int) -> str:
    """The name an auditor's browser saves a PPA's audit bundle under, e.g.
    ``Dossier-audit-PPA-Lea-MARTIN-2026.zip`` (issue 17: downloads named after the person, not
    by ids); like :func:`person_filename`, only for a download to the one who asked."""
    first = _ascii_word(first_names.split()[0] if first_names.split() else "")
    family = _ascii_word(family_name).upper()
    parts = [p for p in ("Dossier-audit-PPA", first, family, str(year)) if p]
    return f"{'-'.join(parts)}.zip"
