"""The signed-document PDF of a PPA version (French, A4, PDF/A-2b finishing, fonts embedded).

Sections: identity header (INS, birthplace, structure, version), projet, projet de vie, attentes,
besoins (SERAFIN-PH code + official label), objectifs each with their actions, weekly schedule,
moyens, bilan and next review date, accords and signatures, the content's SHA-256 fingerprint
last. Tagged PDF (structure tree, see :mod:`exports._pdftags`). Drafts carry a "BROUILLON"
watermark.
"""

from __future__ import annotations

from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_LEFT
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    Flowable,
    KeepTogether,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)
from reportlab.platypus.doctemplate import ActionFlowable, NullActionFlowable

from editor.schema import Frequence, Jour, ModeAccord, TypeAccord
from exports import _common as c
from exports import followup_text
from exports._pdfkit import (
    FONT,
    FONT_BOLD,
    FONT_ITALIC,
    PageFurniture,
    PdfMeta,
    register_fonts,
    render,
)
from exports.context import MODE_ACCORD_FR, TYPE_ACCORD_FR, ExportInput

BLUE = colors.HexColor("#1F3A68")
LIGHT = colors.HexColor("#E8EDF5")


def _styles() -> dict[str, ParagraphStyle]:
    register_fonts()
    base = ParagraphStyle("body", fontName=FONT, fontSize=9.5, leading=12.5, alignment=TA_LEFT)
    return {
        "body": base,
        "small": ParagraphStyle("small", parent=base, fontSize=8, leading=10),
        "italic": ParagraphStyle("italic", parent=base, fontName=FONT_ITALIC),
        "title": ParagraphStyle(
            "title", parent=base, fontName=FONT_BOLD, fontSize=16, leading=20, textColor=BLUE
        ),
        "h1": ParagraphStyle(
            "h1",
            parent=base,
            fontName=FONT_BOLD,
            fontSize=12.5,
            leading=16,
            spaceBefore=10,
            spaceAfter=4,
            textColor=BLUE,
        ),
        "h2": ParagraphStyle(
            "h2", parent=base, fontName=FONT_BOLD, fontSize=10.5, leading=14, spaceBefore=6
        ),
        "bullet": ParagraphStyle(
            "bullet", parent=base, leftIndent=10, bulletIndent=0, bulletFontName=FONT
        ),
        "cell": ParagraphStyle("cell", parent=base, fontSize=8.5, leading=10.5),
        "cellb": ParagraphStyle(
            "cellb", parent=base, fontName=FONT_BOLD, fontSize=8.5, leading=10.5
        ),
    }


def _p(text: str, style: ParagraphStyle) -> Paragraph:
    return Paragraph(escape(text).replace("\n", "<br/>"), style)


def _heading(text: str, st: dict[str, ParagraphStyle]) -> Paragraph:
    """A subsection of the identity block: drawn as ``h2``, tagged H2 (first level under the
    title)."""
    p = _p(text, st["h2"])
    p.tag_role = "H2"  # type: ignore[attr-defined]
    return p


def _kv(
    rows: list[tuple[str, str]], st: dict[str, ParagraphStyle], widths: tuple[float, float]
) -> Table:
    data = [[_p(k, st["cellb"]), _p(v, st["cell"])] for k, v in rows]
    table = Table(data, colWidths=list(widths), hAlign="LEFT")
    table.tag_kind = "kv"  # type: ignore[attr-defined] # first column: row headers
    table.setStyle(
        TableStyle(
            [
                ("FONT", (0, 0), (-1, -1), FONT, 8.5),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
                ("TOPPADDING", (0, 0), (-1, -1), 2),
            ]
        )
    )
    return table


def _grid(
    header: list[str], rows: list[list[str]], widths: list[float], st: dict[str, ParagraphStyle]
) -> Table:
    data = [[_p(h, st["cellb"]) for h in header]]
    data += [[_p(cell, st["cell"]) for cell in row] for row in rows]
    table = Table(data, colWidths=widths, repeatRows=1, hAlign="LEFT")
    table.setStyle(
        TableStyle(
            [
                ("FONT", (0, 0), (-1, -1), FONT, 8.5),
                ("BACKGROUND", (0, 0), (-1, 0), LIGHT),
                ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#8899AA")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    return table


def _bullets(items: list[str], st: dict[str, ParagraphStyle]) -> list[Flowable]:
    """A bulleted list: one paragraph per item (tagged L / LI / LBody by ``_pdftags``)."""
    return [
        Paragraph(escape(t).replace("\n", "<br/>"), st["bullet"], bulletText="•") for t in items
    ]


class HeadingWithNext(KeepTogether):
    """A heading laid out only where the start of the flowable after it fits below it.

    ``KeepTogether([heading, following])`` would push a long table to the next page whole (leaving
    a blank half page); here the following flowable is split as usual and the heading goes with
    its first piece (a table's header and first row, a paragraph's first lines, a whole
    ``KeepTogether`` block). When nothing of it fits, neither is placed: both move to the next
    page, so no page ends with a heading.
    """

    def __init__(self, heading: Flowable, following: Flowable) -> None:
        super().__init__([heading, following])
        self.heading = heading
        self.following = following

    def split(self, aW: float, aH: float) -> list[Flowable]:  # noqa: N803 - ReportLab's names
        canv = self.canv
        _, head_h = self.heading.wrapOn(canv, aW, aH)
        gap = self.heading.getSpaceAfter() + self.following.getSpaceBefore()
        lead = _lead(self.following, canv, aW, aH - head_h - gap)
        if lead is not None:
            return [self.heading, *lead]
        frame = getattr(self, "_frame", None)
        if frame is not None and getattr(frame, "_atTop", False):
            # Even an empty page cannot take the start: let ReportLab place them as it can.
            return [self.heading, self.following]
        return []


def _lead(f: Flowable, canv: Canvas, width: float, height: float) -> list[Flowable] | None:
    """``f`` as pieces whose first one fits in ``height`` (None when nothing of ``f`` fits)."""
    if height <= 0:
        return None
    _, h = f.wrapOn(canv, width, height)
    if h <= height:
        return [f]
    pieces = f.splitOn(canv, width, height)
    if pieces and isinstance(pieces[0], ActionFlowable):
        if not isinstance(pieces[0], NullActionFlowable):
            return None  # a frame break: KeepTogether content that does not fit here
        pieces = pieces[1:]
    if not pieces:
        return None
    first = _lead(pieces[0], canv, width, height)
    return None if first is None else [*first, *pieces[1:]]


def keep_headings_with_next(story: list[Flowable], heading_styles: set[str]) -> list[Flowable]:
    """``story`` with each heading (a Paragraph in ``heading_styles``) bound to what follows."""
    out: list[Flowable] = []
    for f in reversed(story):
        if isinstance(f, Paragraph) and f.style.name in heading_styles and out:
            out[-1] = HeadingWithNext(f, out[-1])
        else:
            out.append(f)
    return out[::-1]


def weekly_rows(inp: ExportInput) -> list[list[str]]:
    """Rows ``[action, Mon..Sun cells, place]`` of the weekly schedule table."""
    rows: list[list[str]] = []
    for a in inp.content.actions:
        p = a.planning
        if p is None or not p.heure_debut:
            continue
        slot = f"{p.heure_debut}-{c.end_time(p.heure_debut, p.duree_minutes)}"
        if p.frequence is Frequence.PONCTUELLE:
            day = a.date_debut.strftime("%d/%m/%Y") if a.date_debut else ""
            cells = [""] * 7
            if a.date_debut:
                cells[a.date_debut.weekday()] = f"{slot} (le {day})"
        else:
            note = ""
            if p.frequence is Frequence.MENSUELLE:
                note = " (mensuel)"
            elif p.intervalle > 1:
                note = f" (1 sem./{p.intervalle})"
            cells = [slot + note if j in p.jours else "" for j in Jour]
        rows.append([a.titre, *cells, p.lieu])
    return rows


def _identity(inp: ExportInput, st: dict[str, ParagraphStyle]) -> list[Flowable]:
    """Title, identity table and communication modalities."""
    ct = inp.content
    v = inp.version
    story: list[Flowable] = [
        _p(ct.projet.titre or "Projet personnalisé d'accompagnement", st["title"]),
        _p("Projet personnalisé d'accompagnement (PPA)", st["italic"]),
        Spacer(1, 4 * mm),
    ]
    ident = [
        ("Personne accompagnée", c.identity_line(inp)),
        ("Identifiant national de santé", c.ins_line(inp)),
        ("Lieu de naissance", c.birthplace_text(inp)),
        (
            "Structure",
            f"{inp.structure.name} - FINESS {inp.structure.finess} - "
            f"{inp.structure.facility_type_label}",
        ),
        ("Version", c.version_line(inp)),
        (
            "Période de mise en œuvre",
            c.fr_period(ct.projet.date_debut, ct.projet.date_fin),
        ),
        ("Prochaine révision", c.fr_date(inp.next_review)),
    ]
    if v.label:
        ident.insert(5, ("Intitulé de la version", v.label))
    story.append(_kv(ident, st, (48 * mm, 126 * mm)))
    if participation := followup_text.participation_rows(inp):
        story += [
            _heading("Élaboration du projet", st),
            _kv(participation, st, (48 * mm, 126 * mm)),
        ]
    if ct.projet.modalite_communication:
        story += [
            _heading("Modalités de communication du projet", st),
            _p(ct.projet.modalite_communication, st["body"]),
        ]
    return story


def _objectives(inp: ExportInput, st: dict[str, ParagraphStyle]) -> list[Flowable]:
    """Section 4: each objective with its actions, then the unattached actions."""
    ct = inp.content
    story: list[Flowable] = []
    story.append(_p("4. Objectifs et actions", st["h1"]))
    for i, o in enumerate(ct.objectifs, 1):
        block: list[Flowable] = [_p(f"Objectif {i} : {o.titre}", st["h2"])]
        rows = [
            ("Besoin", c.besoin_of(ct, o) or "non rattaché"),
            ("Description", o.description),
            ("Période", c.fr_period(o.date_debut, o.date_echeance)),
            ("Résultat attendu", o.resultat_attendu),
            ("Stratégie", o.strategie),
            ("Référent", inp.professional_name(o.referent_id)),
            ("Avis de la personne", o.avis_usager or "non recueilli"),
            ("Statut", c.STATUT_OBJECTIF_FR[o.statut]),
            *followup_text.objective_rows(inp, o),
        ]
        if o.domaine:
            rows.insert(1, ("Domaine", o.domaine))
        block.append(_kv([(k, val) for k, val in rows if val], st, (38 * mm, 136 * mm)))
        story.append(KeepTogether(block))
        for a in c.actions_of(ct, o):
            prest = "; ".join(c.serafin_text(code) for code in a.prestations) or "aucune"
            arows = [
                ("Description", a.description),
                ("Prestations SERAFIN-PH", prest),
                ("Référent et intervenants", ", ".join(c.people_of(inp, a))),
                ("Dates", c.fr_period(a.date_debut, a.date_fin)),
                ("Planning", c.schedule_text(a.planning)),
                ("Statut", c.STATUT_ACTION_FR[a.statut]),
                ("Résultat attendu", a.resultat_attendu),
                ("Avis de la personne", a.avis_usager),
                *followup_text.action_rows(a),
            ]
            story.append(
                KeepTogether(
                    [
                        _p(f"Action : {a.titre}", st["cellb"]),
                        _kv([(k, val) for k, val in arows if val], st, (38 * mm, 130 * mm)),
                        Spacer(1, 2 * mm),
                    ]
                )
            )
    orphans = [a for a in ct.actions if not any(o.id in a.objectif_ids for o in ct.objectifs)]
    if orphans:
        story.append(_p("Actions non rattachées à un objectif", st["h2"]))
        story += _bullets([a.titre for a in orphans], st)
    return story


def _weekly(inp: ExportInput, st: dict[str, ParagraphStyle]) -> list[Flowable]:
    """Section 5: the weekly timetable."""
    story: list[Flowable] = []
    story.append(_p("5. Emploi du temps hebdomadaire", st["h1"]))
    rows_w = weekly_rows(inp)
    if rows_w:
        day_w = 14 * mm
        story.append(
            _grid(
                ["Action", *(c.DAY_LABELS[j][:3] + "." for j in Jour), "Lieu"],
                rows_w,
                [38 * mm, *([day_w] * 7), 38 * mm],
                st,
            )
        )
    else:
        story.append(_p("Aucune séance planifiée.", st["body"]))
    return story


REFUSED_BY = {
    TypeAccord.PERSONNE: "La personne accompagnée",
    TypeAccord.REPRESENTANT: "Son représentant légal",
}


def _accords(inp: ExportInput, st: dict[str, ParagraphStyle]) -> list[Flowable]:
    """Section 8: the agreements given."""
    story: list[Flowable] = []
    story.append(_p("8. Accords", st["h1"]))
    arows2: list[list[str]] = []
    for acc in inp.accords:
        who = TYPE_ACCORD_FR[acc.type]
        if acc.type is not TypeAccord.STRUCTURE and acc.mode is ModeAccord.REFUSE:
            # a refusal is said in words before the table, not only as a cell of it
            refused = REFUSED_BY[acc.type] + " a refusé ce projet"
            story.append(_p(refused + (f" : {acc.reason}" if acc.reason else "."), st["body"]))
        detail = acc.by
        if acc.witness:
            detail += f" (témoin : {acc.witness})"
        if acc.reason:
            detail += f" - motif : {acc.reason}"
        arows2.append([who, detail, c.fr_date(acc.date), MODE_ACCORD_FR[acc.mode]])
    if arows2:
        story.append(
            _grid(
                ["Accord de", "Donné par", "Date", "Modalité"],
                arows2,
                [38 * mm, 76 * mm, 32 * mm, 28 * mm],
                st,
            )
        )
    else:
        story.append(_p("Aucun accord enregistré.", st["body"]))
    return story


def signature_lines(inp: ExportInput) -> tuple[str, str]:
    """Who validated the version; the signature line."""
    v = inp.version
    signer = inp.legal_authenticator
    return (
        f"Validé par {signer.display_name}"
        + (f", {signer.profession_label}" if signer.profession_label else "")
        + (f", le {c.fr_datetime(v.validated_at)}" if v.validated_at else " (non validé)"),
        "Signature de la personne ou de son représentant            Signature du responsable",
    )


def _signatures(inp: ExportInput, st: dict[str, ParagraphStyle]) -> list[Flowable]:
    """Who validated the version, the signature lines, then the content's fingerprint (at the
    end: it identifies the version for a check, it is not for the reader of page 1)."""
    validated, signatures = signature_lines(inp)
    fingerprint = _p(
        f"Empreinte SHA-256 du contenu de la version : {inp.version.content_hash}", st["small"]
    )
    fingerprint.tag_role = "Empreinte"  # type: ignore[attr-defined]
    return [
        Spacer(1, 6 * mm),
        _p(validated, st["body"]),
        Spacer(1, 14 * mm),
        _p(signatures, st["small"]),
        Spacer(1, 8 * mm),
        fingerprint,
    ]


def build_story(inp: ExportInput) -> list[Flowable]:
    """The flowables of the PPA document (also used to test the layout without finishing)."""
    st = _styles()
    ct = inp.content
    story = _identity(inp, st)

    story.append(_p("1. Projet de vie", st["h1"]))
    story.append(_p(c.projet_de_vie_text(ct), st["body"]))

    story.append(_p("2. Attentes", st["h1"]))
    if ct.attentes:
        story += _bullets(
            [f"{a.texte} (exprimée par {c.ORIGINE_FR[a.origine]})" for a in ct.attentes], st
        )
    else:
        story.append(_p("Aucune attente renseignée.", st["body"]))

    story.append(_p("3. Besoins (nomenclature SERAFIN-PH)", st["h1"]))
    story.append(
        _grid(
            ["Code SERAFIN-PH", "Libellé officiel", "Description", "Analyse du professionnel"],
            [
                [
                    b.code or "",
                    c.serafin_text(b.code).partition(" - ")[2],
                    b.description,
                    c.besoin_analyse_text(b),
                ]
                for b in ct.besoins
            ],
            # 27 mm: "SERAFIN-PH" in the 8.5 pt bold header (20.5 mm) plus the cell paddings
            # (2 x 6 pt), so the header wraps as "Code / SERAFIN-PH", never inside the word.
            [27 * mm, 50 * mm, 42 * mm, 55 * mm],
            st,
        )
    )

    story += _objectives(inp, st)
    story += _weekly(inp, st)

    story.append(_p("6. Moyens et ressources", st["h1"]))
    if ct.moyens:
        story += _bullets([f"{c.MOYEN_FR[m.type]} : {m.description}" for m in ct.moyens], st)
    else:
        story.append(_p("Aucun moyen renseigné.", st["body"]))

    story.append(_p("7. Bilan", st["h1"]))
    story.append(
        _kv(
            [
                *c.bilan_rows(inp),
            ],
            st,
            (38 * mm, 136 * mm),
        )
    )

    story += _accords(inp, st)
    story += _signatures(inp, st)
    return keep_headings_with_next(story, {"h1", "h2"})


def pdf_meta(
    inp: ExportInput,
    *,
    title_prefix: str = "PPA",
    subject: str | None = None,
    fingerprint: bool = True,
) -> PdfMeta:
    """Info/XMP metadata of a PPA document (dates from the version, never the clock)."""
    v = inp.version
    return PdfMeta(
        title=f"{title_prefix} - {inp.person.display_name} - version {v.number}",
        author=inp.author.display_name,
        subject=subject
        or f"Projet personnalisé d'accompagnement, {inp.structure.name}, {v.kind.label_fr.lower()}",
        keywords=f"PPA, SERAFIN-PH, {inp.structure.finess}"
        + (f", sha256:{v.content_hash}" if fingerprint else ""),
        created=v.created_at,
        modified=v.document_date,
    )


def furniture(
    inp: ExportInput,
    label: str = "Projet personnalisé d'accompagnement",
    *,
    font_size: float = 8,
) -> PageFurniture:
    """Running header/footer of a PPA document (watermark for drafts)."""
    v = inp.version
    return PageFurniture(
        header_left=f"{label} - {inp.person.display_name}",
        header_right=f"{inp.structure.name} - version {v.number}",
        watermark="BROUILLON" if v.kind.is_draft else None,
        font_size=font_size,
    )


def render_pdf(inp: ExportInput) -> bytes:
    """Render the PPA version as a French PDF (watermarked "BROUILLON" for drafts)."""
    return render(build_story(inp), pdf_meta(inp), furniture(inp))
