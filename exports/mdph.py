"""MDPH fiche de liaison (use case 3): what an avenant durably changes in the modalités.

From an avenant (:class:`~exports.context.VersionKind.AVENANT`) and its base validated version
(the last of ``ExportInput.previous_contents``): a French PDF summarising the changed, added and
removed actions (schedule, dates, prestations SERAFIN-PH, people), the same PDF in a CDA R2
level 1 document (LOINC ``28653-4`` "Document du secteur social / médico-social", class 10, its
own setId per avenant) and an IHE XDM package for an MSSanté message to the MDPH.

The diff is computed here on actions only (the avenant may change modalités, not objectives);
``versions.diff`` gives a richer diff and can replace :func:`action_changes` once it is part of
the shared code.
"""

from __future__ import annotations

from dataclasses import dataclass
from xml.sax.saxutils import escape

from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Paragraph, Spacer

from editor.schema import Action, PPAContent
from exports import _common as c
from exports._pdfkit import render
from exports.cda import CdaDocument, DocType, build_cda
from exports.context import MODE_ACCORD_FR, ExportInput, VersionKind
from exports.errors import ExportNotAllowedError
from exports.pdf import _grid, _kv, _styles, furniture, keep_headings_with_next, pdf_meta
from exports.xdm import build_xdm

MDPH_DOC = DocType(
    code="28653-4",
    display="Document du secteur social / médico-social",
    class_code="10",
    class_display="Compte rendu",
)
FIELDS: dict[str, str] = {
    "titre": "Intitulé",
    "planning": "Planning",
    "date_debut": "Début",
    "date_fin": "Fin",
    "statut": "Statut",
    "prestations": "Prestations SERAFIN-PH",
    "referent_id": "Référent",
    "intervenant_ids": "Intervenants",
}


@dataclass(frozen=True)
class ActionChange:
    """One action added, removed or changed by the avenant."""

    kind: str  # "ajoutée" | "supprimée" | "modifiée"
    action: Action
    before: Action | None
    fields: tuple[str, ...]


def base_content(inp: ExportInput) -> PPAContent:
    """The validated version the avenant amends (last of ``previous_contents``)."""
    if inp.version.kind is not VersionKind.AVENANT:
        raise ExportNotAllowedError(
            "La fiche de liaison MDPH se produit à partir d'un avenant validé."
        )
    if not inp.previous_contents:
        raise ExportNotAllowedError("La version de base de l'avenant est absente.")
    return inp.previous_contents[-1]


def action_changes(old: PPAContent, new: PPAContent) -> list[ActionChange]:
    """Actions added, removed, or whose modalités changed between ``old`` and ``new``."""
    before = {a.id: a for a in old.actions}
    after = {a.id: a for a in new.actions}
    out: list[ActionChange] = []
    for aid, a in after.items():
        if aid not in before:
            out.append(ActionChange("ajoutée", a, None, ()))
            continue
        b = before[aid]
        changed = tuple(f for f in FIELDS if getattr(a, f) != getattr(b, f))
        if changed:
            out.append(ActionChange("modifiée", a, b, changed))
    out += [ActionChange("supprimée", b, b, ()) for aid, b in before.items() if aid not in after]
    return out


def _describe(inp: ExportInput, a: Action | None) -> str:
    if a is None:
        return "-"
    prest = "; ".join(c.serafin_text(code) for code in a.prestations) or "aucune prestation"
    period = c.fr_period(a.date_debut, a.date_fin)
    return (
        f"{c.schedule_text(a.planning)}. {period[0].upper()}{period[1:]}."
        f" Prestations : {prest}. Avec : {', '.join(c.people_of(inp, a)) or 'non précisé'}."
    )


def build_story(inp: ExportInput) -> list[Flowable]:
    """Flowables of the fiche de liaison."""
    st = _styles()
    v = inp.version
    changes = action_changes(base_content(inp), inp.content)
    story: list[Flowable] = [
        Paragraph("Fiche de liaison MDPH", st["title"]),
        Paragraph(escape("Modification durable des modalités d'accompagnement"), st["italic"]),
        Spacer(1, 4 * mm),
        _kv(
            [
                ("Personne accompagnée", c.identity_line(inp)),
                ("Identifiant national de santé", c.ins_line(inp)),
                (
                    "Établissement ou service",
                    f"{inp.structure.name} - FINESS {inp.structure.finess}",
                ),
                (
                    "Projet concerné",
                    f"{inp.content.projet.titre}, avenant n°{v.avenant_number} "
                    f"à la version {v.base_version}",
                ),
                ("Avenant validé le", c.fr_datetime(v.validated_at)),
                ("Intitulé", v.label),
                (
                    "Contact",
                    inp.legal_authenticator.display_name
                    + ", "
                    + inp.legal_authenticator.profession_label,
                ),
            ],
            st,
            (48 * mm, 126 * mm),
        ),
        Paragraph("Changements des modalités d'accompagnement", st["h1"]),
    ]
    if not changes:
        story.append(Paragraph("Aucun changement des actions.", st["body"]))
    rows = []
    for ch in changes:
        what = ", ".join(FIELDS[f].lower() for f in ch.fields)
        head = f"{ch.action.titre} ({ch.kind}{' : ' + what if what else ''})"
        after = "-" if ch.kind == "supprimée" else _describe(inp, ch.action)
        rows.append([head, _describe(inp, ch.before), after])
    if rows:
        story.append(
            _grid(
                ["Action", "Avant l'avenant", "Après l'avenant"],
                rows,
                [44 * mm, 65 * mm, 65 * mm],
                st,
            )
        )
    codes = sorted({code for ch in changes for code in ch.action.prestations})
    if codes:
        story.append(Paragraph("Prestations SERAFIN-PH concernées", st["h1"]))
        for code in codes:
            story.append(Paragraph(escape(c.serafin_text(code)), st["body"]))
    story.append(Paragraph("Accord de la personne", st["h1"]))
    for acc in inp.accords:
        if acc.type.value == "personne":
            story.append(
                Paragraph(
                    escape(f"{acc.by} : {MODE_ACCORD_FR[acc.mode]} le {c.fr_date(acc.date)}"),
                    st["body"],
                )
            )
    return keep_headings_with_next(story, {"h1"})


def render_mdph_pdf(inp: ExportInput) -> bytes:
    """The fiche de liaison as a PDF (PDF/A-2b finishing, fonts embedded)."""
    meta = pdf_meta(inp, title_prefix="Fiche de liaison MDPH", subject="Fiche de liaison MDPH")
    return render(build_story(inp), meta, furniture(inp, label="Fiche de liaison MDPH"))


def render_mdph_cda_document(inp: ExportInput) -> CdaDocument:
    """The fiche de liaison as a CDA R2 level 1 (its own series per avenant)."""
    return build_cda(
        inp,
        render_mdph_pdf(inp),
        doc_type=MDPH_DOC,
        title=f"Fiche de liaison MDPH - avenant n°{inp.version.avenant_number}",
        series_kind=f"mdph-{inp.version.avenant_number}",
        version_number=1,
    )


def render_mdph_cda(inp: ExportInput) -> bytes:
    """CDA XML bytes of the fiche de liaison."""
    return render_mdph_cda_document(inp).xml


def render_mdph_xdm(inp: ExportInput) -> bytes:
    """IHE XDM package of the fiche de liaison, for an MSSanté message to the MDPH."""
    return build_xdm(inp, [render_mdph_cda_document(inp)])
