"""Easy-to-read (FALC, "facile à lire et à comprendre") PDF of the PPA, for the person.

Rules applied: body text 15 pt (titles larger), generous line spacing, left-aligned, one idea per
line, short sentences, the same words everywhere, no codes or abbreviations (SERAFIN codes are
left out on purpose; the person's own words are kept). Sections: "Mes objectifs",
"Ce que nous allons faire", "Quand", "Avec qui". Same fonts, metadata and PDF/A finishing as
:mod:`exports.pdf`.
"""

from __future__ import annotations

from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_LEFT
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, KeepTogether, Paragraph, Spacer

from editor.schema import AccordObjectif, Action, Frequence, ModeAccord, Planning, TypeAccord
from exports import _common as c
from exports._pdfkit import FONT, FONT_BOLD, register_fonts, render
from exports.context import AccordRecord, ExportInput
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
        "h2": ParagraphStyle("falc-h2", parent=body, fontName=FONT_BOLD, spaceBefore=8),
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
        lines.append(f"Où : {_sentence(p.lieu)}")
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
    ModeAccord.SIGNE: "J'ai signé mon projet.",
    ModeAccord.ORAL: "J'ai dit oui à mon projet.",
    ModeAccord.REFUSE: "J'ai dit non à ce projet.",
    ModeAccord.NON_SOLLICITE: "On ne m'a pas demandé mon accord.",
}
_THEIR_AGREEMENT: dict[ModeAccord, str] = {
    ModeAccord.SIGNE: "Mon représentant légal a signé le projet.",
    ModeAccord.ORAL: "Mon représentant légal a dit oui au projet.",
    ModeAccord.REFUSE: "Mon représentant légal a dit non à ce projet.",
    ModeAccord.NON_SOLLICITE: "On n'a pas demandé l'accord de mon représentant légal.",
}
_OBJECTIVE_AGREEMENT: dict[AccordObjectif, str] = {
    AccordObjectif.ACCORD: "Je suis d'accord.",
    AccordObjectif.DESACCORD: "Je ne suis pas d'accord.",
}


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
            lines.append(f"Pourquoi : {_sentence(acc.reason)}")
    return lines


def build_story(inp: ExportInput) -> list[Flowable]:
    """FALC flowables: one paragraph per line, so every idea starts on its own line."""
    st = _styles()
    ct = inp.content

    def line(text: str, style: str = "body") -> Paragraph:
        return Paragraph(escape(text), st[style])

    story: list[Flowable] = [
        line("Mon projet", "title"),
        line(f"Ce projet est pour {inp.person.display_given} {inp.person.display_family.upper()}."),
        line(f"Il est fait avec l'équipe de {inp.structure.name}."),
    ]
    if ct.projet.date_debut:
        story.append(line(f"Il commence le {c.fr_date(ct.projet.date_debut)}."))
    if ct.projet.date_fin:
        story.append(line(f"Il finit le {c.fr_date(ct.projet.date_fin)}."))
    if inp.version.kind.is_draft:
        story.append(line("Attention : ce projet n'est pas encore validé.", "h2"))
    if ct.projet_de_vie:
        story += [line("Ce que je veux pour ma vie", "h1"), line(_sentence(ct.projet_de_vie))]

    story.append(line("Mes objectifs", "h1"))
    for o in ct.objectifs:
        said = _OBJECTIVE_AGREEMENT.get(o.accord_usager)
        story.append(line(f"• {_sentence(o.titre)}" + (f" {said}" if said else "")))

    story.append(line("Ce que nous allons faire", "h1"))
    for a in ct.actions:
        story.append(line(f"• {_sentence(a.titre)}"))

    story.append(line("Quand", "h1"))
    for a in ct.actions:
        block: list[Flowable] = [line(_sentence(a.titre), "h2")]
        block += [line(s) for s in when_lines(a)]
        story.append(KeepTogether(block))

    story.append(line("Avec qui", "h1"))
    for a in ct.actions:
        people = c.people_of(inp, a)
        block = [line(_sentence(a.titre), "h2")]
        block += [line(f"Avec {name}.") for name in people] or [line("Avec l'équipe.")]
        story.append(KeepTogether(block))

    if agreement := agreement_lines(inp.accords):
        story.append(line("Mon accord", "h1"))
        story += [line(text) for text in agreement]

    story.append(line("La suite", "h1"))
    if inp.next_review:
        story.append(
            line(f"Nous parlerons de nouveau de mon projet le {c.fr_date(inp.next_review)}.")
        )
    story.append(line("Je peux demander à changer mon projet."))
    story.append(line("Je peux poser des questions à mon référent."))
    story.append(Spacer(1, 8 * mm))
    return keep_headings_with_next(story, {"falc-h1"})


def render_falc(inp: ExportInput) -> bytes:
    """Render the easy-to-read PDF for the person (large type, one idea per line)."""
    meta = pdf_meta(
        inp, title_prefix="Mon projet (FALC)", subject="Projet personnalisé, version facile à lire"
    )
    furn = furniture(inp, label="Mon projet", font_size=BODY_PT - 1)
    return render(build_story(inp), meta, furn, margins_mm=20)
