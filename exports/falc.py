"""Easy-to-read (FALC, "facile à lire et à comprendre") PDF of the PPA, for the person.

Rules applied: addressed to the person ("Vous voulez...", "Vous allez..."), body text 15 pt
(titles larger), generous line spacing, left-aligned, one idea per line, short sentences
(:data:`exports.falc_text.MAX_WORDS` words at most), the same words everywhere, no codes,
abbreviations or professional analysis. The person's own words (projet de vie, her attentes, her
avis) are quoted; the professional titles are rewritten by :mod:`exports.falc_text`, never
copied. A pictogram (OpenMoji, :mod:`exports.pictograms`) stands beside each objective and each
activity, and "Quand" and "Avec qui" stand beside the activity they describe. No fingerprint.
Sections: "Ce que vous voulez pour votre vie", "Ce que vous attendez", "Vos objectifs",
"Ce que vous allez faire", "Votre accord", "La suite". Same fonts, metadata, tagging and PDF/A
finishing as :mod:`exports.pdf`.
"""

from __future__ import annotations

from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_LEFT
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, KeepTogether, Paragraph, Spacer, Table, TableStyle

from editor.schema import (
    AccordObjectif,
    Action,
    Frequence,
    ModeAccord,
    OrigineAttente,
    Planning,
    TypeAccord,
)
from exports import _common as c
from exports import pictograms as pic
from exports._pdfkit import FONT, FONT_BOLD, register_fonts, render
from exports.context import AccordRecord, ExportInput
from exports.falc_text import action_sentence, objective_sentence, short_lines
from exports.pdf import furniture, keep_headings_with_next, pdf_meta

BODY_PT = 15


def _styles() -> dict[str, ParagraphStyle]:
    register_fonts()
    body = ParagraphStyle(
        "falc", fontName=FONT, fontSize=BODY_PT, leading=BODY_PT * 1.5, alignment=TA_LEFT
    )
    return {
        "body": body,
        "title": ParagraphStyle(
            "falc-title", parent=body, fontName=FONT_BOLD, fontSize=24, leading=32
        ),
        "h1": ParagraphStyle(
            "falc-h1",
            parent=body,
            fontName=FONT_BOLD,
            fontSize=19,
            leading=26,
            spaceBefore=14,
            spaceAfter=6,
            textColor=colors.HexColor("#1F3A68"),
        ),
        "h2": ParagraphStyle("falc-h2", parent=body, fontName=FONT_BOLD),
        "h3": ParagraphStyle(
            "falc-label", parent=body, fontName=FONT_BOLD, textColor=colors.HexColor("#1F3A68")
        ),
    }


def _sentence(text: str) -> str:
    text = " ".join(text.split())
    if text and text[-1] not in ".!?":
        text += "."
    return text


def _days_fr(p: Planning) -> str:
    """The days of ``p`` in a sentence ("lundi au vendredi", "mardi et le jeudi")."""
    names = [c.DAY_LABELS[j].lower() for j in p.jours]
    if names == ["lundi", "mardi", "mercredi", "jeudi", "vendredi"]:
        return "lundi au vendredi"
    if len(names) > 1:
        return " et le ".join([", le ".join(names[:-1]), names[-1]])
    return "".join(names)


def _duration_fr(minutes: int) -> str:
    """``minutes`` as "1 heure 30 minutes"."""
    h, m = divmod(minutes, 60)
    dur = (f"{h} heure{'s' if h > 1 else ''}" if h else "") + (
        f" {m} minutes" if m and h else f"{m} minutes" if m else ""
    )
    return dur.strip()


def when_lines(a: Action) -> list[str]:
    """Short sentences saying when an action happens."""
    p: Planning | None = a.planning
    if p is None:
        return ["Les dates ne sont pas encore fixées."]
    days = _days_fr(p)
    lines: list[str] = []
    if p.frequence is Frequence.PONCTUELLE:
        lines.append(f"Une seule fois, le {c.fr_date(a.date_debut)}.")
    elif p.frequence is Frequence.QUOTIDIENNE:
        prefix = "du" if days.startswith("lundi au") else "le"
        lines.append("Tous les jours." if not days else f"Tous les jours, {prefix} {days}.")
    elif p.frequence is Frequence.HEBDOMADAIRE:
        every = "Toutes les semaines" if p.intervalle == 1 else f"Une semaine sur {p.intervalle}"
        lines.append(f"{every}, le {days}." if days else f"{every}.")
    else:
        lines.append(f"Une fois par mois, le {days}." if days else "Une fois par mois.")
    if p.heure_debut:
        lines.append(f"À {c.hour_fr(p.heure_debut)}.")
    if p.duree_minutes:
        lines.append(f"Pendant {_duration_fr(p.duree_minutes)}.")
    if p.lieu:
        lines += short_lines(f"Où : {p.lieu}")
    if p.frequence is not Frequence.PONCTUELLE:
        if a.date_debut is not None and a.date_debut == a.date_fin:
            lines.append(f"Le {c.fr_date(a.date_debut)}.")  # same sentence as fr_period
        else:
            if a.date_debut:
                lines.append(f"À partir du {c.fr_date(a.date_debut)}.")
            if a.date_fin:
                lines.append(f"Jusqu'au {c.fr_date(a.date_fin)}.")
    return lines


_MY_AGREEMENT: dict[ModeAccord, str] = {
    ModeAccord.SIGNE: "Vous avez signé votre projet.",
    ModeAccord.ORAL: "Vous avez dit oui à votre projet.",
    ModeAccord.REFUSE: "Vous avez dit non à ce projet.",
    ModeAccord.NON_SOLLICITE: "On ne vous a pas demandé votre accord.",
}
_THEIR_AGREEMENT: dict[ModeAccord, str] = {
    ModeAccord.SIGNE: "Votre représentant légal a signé le projet.",
    ModeAccord.ORAL: "Votre représentant légal a dit oui au projet.",
    ModeAccord.REFUSE: "Votre représentant légal a dit non à ce projet.",
    ModeAccord.NON_SOLLICITE: "On n'a pas demandé l'accord de votre représentant légal.",
}
_OBJECTIVE_AGREEMENT: dict[AccordObjectif, str] = {
    AccordObjectif.ACCORD: "Vous êtes d'accord avec cet objectif.",
    AccordObjectif.DESACCORD: "Vous n'êtes pas d'accord avec cet objectif.",
}
PICTO = 13 * mm
TEXT_WIDTH = 170 * mm - PICTO - 4 * mm


def agreement_lines(accords: tuple[AccordRecord, ...]) -> list[str]:
    """What the person (and her legal representative) said of the projet, with the reason of a
    refusal or of an agreement not sought (rule 2 of docs/domain-rules.md)."""
    lines: list[str] = []
    for acc in accords:
        said = {TypeAccord.PERSONNE: _MY_AGREEMENT, TypeAccord.REPRESENTANT: _THEIR_AGREEMENT}
        if acc.type not in said:
            continue
        lines.append(said[acc.type][acc.mode])
        if acc.reason and acc.mode in (ModeAccord.REFUSE, ModeAccord.NON_SOLLICITE):
            lines.append("Pourquoi :")
            lines += [t[:1].upper() + t[1:] for t in short_lines(acc.reason)]
    return lines


def _quoted(text: str) -> list[str]:
    """The person's words, quoted, one short sentence per line."""
    return [f"« {line} »" for line in short_lines(text)]


def _beside(rows: list[tuple[str, list[Flowable]]]) -> Table:
    """A pictogram beside each group of lines (a layout table: tagged as its content)."""
    data = [[pic.Pictogram(code, PICTO), lines] for code, lines in rows]
    table = Table(data, colWidths=[PICTO + 4 * mm, TEXT_WIDTH], hAlign="LEFT")
    table.tag_kind = "layout"  # type: ignore[attr-defined]
    table.setStyle(
        TableStyle(
            [
                ("FONT", (0, 0), (-1, -1), FONT, BODY_PT),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("TOPPADDING", (0, 0), (-1, -1), 3),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
            ]
        )
    )
    return table


class _Lines:
    """Paragraph makers bound to the FALC styles."""

    def __init__(self) -> None:
        self.st = _styles()

    def line(self, text: str, style: str = "body") -> Paragraph:
        return Paragraph(escape(text), self.st[style])

    def lines(self, texts: list[str], first_style: str = "body") -> list[Flowable]:
        return [self.line(t, first_style if i == 0 else "body") for i, t in enumerate(texts)]


def _intro(w: _Lines, inp: ExportInput) -> list[Flowable]:
    """Title, whose projet it is, its dates, the person's own words on her life and wishes."""
    ct = inp.content
    story: list[Flowable] = [
        w.line("Votre projet", "title"),
        w.line(f"Ce projet est pour vous, {inp.person.display_given}."),
        w.line(f"Vous le faites avec l'équipe de {inp.structure.name}."),
    ]
    if ct.projet.date_debut:
        story.append(w.line(f"Il commence le {c.fr_date(ct.projet.date_debut)}."))
    if ct.projet.date_fin:
        story.append(w.line(f"Il finit le {c.fr_date(ct.projet.date_fin)}."))
    if inp.version.kind.is_draft:
        warning = w.line("Attention : ce projet n'est pas encore validé.", "h2")
        warning.tag_role = "P"  # type: ignore[attr-defined] # bold, not a heading
        story.append(warning)
    if ct.projet_de_vie:
        story.append(w.line("Ce que vous voulez pour votre vie", "h1"))
        quoted = w.lines(["Vous avez dit :", *_quoted(ct.projet_de_vie)])
        story.append(_beside([(pic.LIFE, quoted)]))
    said = [a.texte for a in ct.attentes if a.origine is OrigineAttente.PERSONNE and a.texte]
    if said:
        story.append(w.line("Ce que vous attendez", "h1"))
        quoted = w.lines(["Vous avez dit :", *(q for t in said for q in _quoted(t))])
        story.append(_beside([(pic.WORDS, quoted)]))
    return story


def _objectives(w: _Lines, inp: ExportInput) -> list[Flowable]:
    """Each objective rewritten for the person, her avis quoted, her agreement."""
    story: list[Flowable] = [w.line("Vos objectifs", "h1")]
    for o in inp.content.objectifs:
        text = [objective_sentence(o.titre)]
        if o.avis_usager:
            text += ["Vous avez dit :", *_quoted(o.avis_usager)]
        if agreed := _OBJECTIVE_AGREEMENT.get(o.accord_usager):
            text.append(agreed)
        code = pic.theme_of(o.titre, o.domaine)
        story.append(KeepTogether([_beside([(code, w.lines(text))])]))
    return story


def _activities(w: _Lines, inp: ExportInput) -> list[Flowable]:
    """Each activity with, beside it, when it happens and with whom."""
    story: list[Flowable] = [w.line("Ce que vous allez faire", "h1")]
    for a in inp.content.actions:
        people = [f"Avec {name}." for name in c.people_of(inp, a)] or ["Avec l'équipe."]
        code = pic.theme_of(a.titre, default=pic.STRENGTH)
        said = w.lines(["Vous avez dit :", *_quoted(a.avis_usager)]) if a.avis_usager else []
        table = _beside(
            [
                (code, [w.line(action_sentence(a.titre), "h2"), *said]),
                (pic.WHEN, w.lines(["Quand :", *when_lines(a)], "h3")),
                (pic.WHO, w.lines(["Avec qui :", *people], "h3")),
            ]
        )
        story.append(KeepTogether([table]))
    return story


def _next(w: _Lines, inp: ExportInput) -> list[Flowable]:
    """The agreement given, what comes next, the pictograms' attribution."""
    story: list[Flowable] = []
    if agreement := agreement_lines(inp.accords):
        story.append(w.line("Votre accord", "h1"))
        story.append(_beside([(pic.AGREEMENT, w.lines(agreement))]))
    story.append(w.line("La suite", "h1"))
    next_steps: list[str] = []
    if inp.next_review:
        next_steps.append(f"Nous parlerons de votre projet le {c.fr_date(inp.next_review)}.")
    next_steps += [
        "Vous pouvez demander à changer votre projet.",
        "Vous pouvez poser vos questions à l'équipe.",
    ]
    story.append(_beside([(pic.QUESTION, w.lines(next_steps))]))
    story.append(Spacer(1, 8 * mm))
    story += w.lines(["Les images de ce document viennent d'OpenMoji.", "Licence CC BY-SA 4.0."])
    return story


def build_story(inp: ExportInput) -> list[Flowable]:
    """FALC flowables: one paragraph per line, so every idea starts on its own line."""
    w = _Lines()
    story = _intro(w, inp) + _objectives(w, inp) + _activities(w, inp) + _next(w, inp)
    return keep_headings_with_next(story, {"falc-h1"})


def render_falc(inp: ExportInput) -> bytes:
    """Render the easy-to-read PDF for the person (large type, one idea per line)."""
    meta = pdf_meta(
        inp,
        title_prefix="Votre projet (FALC)",
        subject="Projet personnalisé, version facile à lire",
        fingerprint=False,
    )
    furn = furniture(inp, label="Votre projet", font_size=BODY_PT - 1)
    return render(build_story(inp), meta, furn, margins_mm=20)
