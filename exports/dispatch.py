"""The files a transmission carries: the CDA (with the PDF inside), the PDF, the XDM package.

``ppa``: the PPA itself (flux A); ``mdph``: the fiche de liaison of a validated avenant (use
case 3, :mod:`exports.mdph`).
"""

from __future__ import annotations

from dataclasses import dataclass

from exports.cda import CdaDocument, render_cda_document
from exports.context import ExportInput
from exports.errors import ExportNotAllowedError
from exports.mdph import render_mdph_cda_document, render_mdph_pdf
from exports.pdf import render_pdf
from exports.xdm import build_xdm


@dataclass(frozen=True)
class Documents:
    cda: CdaDocument
    pdf: bytes
    xdm: bytes
    label: str
    """French label of the document (mail subject, DMP title)."""


def render_documents(inp: ExportInput, document: str) -> Documents:
    """Render the files of ``document`` (``ppa`` or ``mdph``) for a validated version."""
    if inp.version.kind.is_draft:
        raise ExportNotAllowedError("Un brouillon ne se transmet pas.")
    if document == "mdph":
        cda = render_mdph_cda_document(inp)
        return Documents(cda, render_mdph_pdf(inp), build_xdm(inp, [cda]), "Fiche de liaison MDPH")
    cda = render_cda_document(inp)
    return Documents(
        cda, render_pdf(inp), build_xdm(inp, [cda]), "Projet personnalisé d'accompagnement"
    )
