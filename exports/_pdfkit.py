"""PDF plumbing shared by the PDF renderers: embedded fonts, page furniture, PDF/A-2b finishing.

ReportLab lays the pages out (``invariant`` mode: no clock, no random ID); pikepdf then adds what
PDF/A-2b needs and ReportLab does not write: an XMP metadata packet mirroring the document
information dictionary (``pdfaid:part=2``, ``conformance=B``), an sRGB OutputIntent
(``exports/data/sRGB.icc``), ``/Lang fr-FR``, dates taken from the version (never the clock) and a
content-derived file ID. Fonts are DejaVu Sans TrueType subsets, all embedded.
"""

from __future__ import annotations

import importlib.resources
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any
from xml.sax.saxutils import escape

import pikepdf
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import BaseDocTemplate, Flowable, Frame, PageTemplate

from exports._pdftags import END, PAGINATION_BEGIN, Node, Recorder, add_structure, tag_story

FONT = "PPASans"
FONT_BOLD = "PPASans-Bold"
FONT_ITALIC = "PPASans-Oblique"
FONT_BOLD_ITALIC = "PPASans-BoldOblique"
PRODUCER = "ppa-collab (ReportLab, pikepdf)"
ICC_CONDITION = "sRGB IEC61966-2.1"


@cache
def register_fonts() -> None:
    """Register the shipped DejaVu Sans faces under the ``PPASans`` family (once)."""
    fonts = importlib.resources.files("exports").joinpath("fonts")
    for name, file in (
        (FONT, "DejaVuSans.ttf"),
        (FONT_BOLD, "DejaVuSans-Bold.ttf"),
        (FONT_ITALIC, "DejaVuSans-Oblique.ttf"),
        (FONT_BOLD_ITALIC, "DejaVuSans-BoldOblique.ttf"),
    ):
        with importlib.resources.as_file(fonts.joinpath(file)) as path:
            pdfmetrics.registerFont(TTFont(name, str(path)))
    pdfmetrics.registerFontFamily(
        FONT, normal=FONT, bold=FONT_BOLD, italic=FONT_ITALIC, boldItalic=FONT_BOLD_ITALIC
    )


@dataclass(frozen=True)
class PdfMeta:
    """Document information written to both the Info dictionary and the XMP packet."""

    title: str
    author: str
    subject: str
    keywords: str
    created: datetime
    modified: datetime
    creator: str = "ppa-collab"
    lang: str = "fr-FR"


@dataclass(frozen=True)
class PageFurniture:
    """What is drawn on every page: running header text, optional watermark, page numbers."""

    header_left: str
    header_right: str
    watermark: str | None = None
    footer: str = ""
    font_size: float = 8


class _NumberedCanvas(Canvas):
    """Canvas that defers page furniture until the page count is known ("Page x / y")."""

    furniture: PageFurniture
    tag_recorder: Recorder | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._saved: list[dict[str, Any]] = []

    def showPage(self) -> None:  # noqa: N802 - overrides ReportLab's Canvas.showPage
        self._saved.append(dict(self.__dict__))
        self._startPage()  # type: ignore[attr-defined]

    def save(self) -> None:
        total = len(self._saved)
        for state in self._saved:
            self.__dict__.update(state)
            self._draw_furniture(total)
            super().showPage()
        super().save()

    def _draw_furniture(self, total: int) -> None:
        f = self.furniture
        width, height = self._pagesize  # type: ignore[attr-defined]
        self._code.append(PAGINATION_BEGIN)  # type: ignore[attr-defined]
        self.saveState()
        self.setFont(FONT, f.font_size)
        self.setFillColor(colors.HexColor("#444444"))
        top = height - 8 * mm - f.font_size
        self.drawString(18 * mm, top, f.header_left)
        if f.font_size < 12:
            self.drawRightString(width - 18 * mm, top, f.header_right)
        self.setStrokeColor(colors.HexColor("#999999"))
        self.setLineWidth(0.4)
        self.line(18 * mm, top - 2 * mm, width - 18 * mm, top - 2 * mm)
        self.drawString(18 * mm, 10 * mm, f.footer)
        self.drawRightString(width - 18 * mm, 10 * mm, f"Page {self.getPageNumber()} / {total}")
        self.restoreState()
        self._code.append(END)  # type: ignore[attr-defined]


def _watermark(text: str) -> Callable[[Canvas, BaseDocTemplate], None]:
    def draw(canvas: Canvas, doc: BaseDocTemplate) -> None:
        width, height = doc.pagesize
        canvas._code.append("/Artifact BMC")  # type: ignore[attr-defined]
        canvas.saveState()
        canvas.setFont(FONT_BOLD, 96)
        canvas.setFillColor(colors.Color(0.88, 0.88, 0.88))
        canvas.translate(width / 2, height / 2)
        canvas.rotate(45)
        canvas.drawCentredString(0, -32, text)
        canvas.restoreState()
        canvas._code.append(END)  # type: ignore[attr-defined]

    return draw


def render(
    story: Sequence[Flowable],
    meta: PdfMeta,
    furniture: PageFurniture,
    *,
    pagesize: tuple[float, float] = A4,
    margins_mm: float = 18,
) -> bytes:
    """Lay ``story`` out on A4 pages with ``furniture``; return tagged, PDF/A-2b-finished bytes."""
    register_fonts()
    root = Node("Document")
    recorder = Recorder()
    tagged = tag_story(list(story), root)
    buf = io.BytesIO()
    doc = BaseDocTemplate(
        buf,
        pagesize=pagesize,
        leftMargin=margins_mm * mm,
        rightMargin=margins_mm * mm,
        topMargin=20 * mm,
        bottomMargin=18 * mm,
        title=meta.title,
        author=meta.author,
        subject=meta.subject,
        creator=meta.creator,
        invariant=1,
        initialFontName=FONT,
        initialFontSize=furniture.font_size,
    )
    frame = Frame(doc.leftMargin, doc.bottomMargin, doc.width, doc.height, id="body")
    on_page = _watermark(furniture.watermark) if furniture.watermark else None
    template = (
        PageTemplate(id="page", frames=[frame], onPage=on_page)
        if on_page
        else PageTemplate(id="page", frames=[frame])
    )
    doc.addPageTemplates([template])

    class Bound(_NumberedCanvas):
        pass

    Bound.furniture = furniture
    Bound.tag_recorder = recorder
    doc.build(tagged, canvasmaker=Bound)
    return finish_pdfa(buf.getvalue(), meta, (root, recorder))


def _pdf_date(dt: datetime) -> str:
    off = dt.utcoffset()
    minutes = int(off.total_seconds() // 60) if off is not None else 0
    sign = "+" if minutes >= 0 else "-"
    minutes = abs(minutes)
    return dt.strftime("D:%Y%m%d%H%M%S") + f"{sign}{minutes // 60:02d}'{minutes % 60:02d}'"


def _xmp(meta: PdfMeta) -> bytes:
    def e(s: str) -> str:
        return escape(s, {'"': "&quot;"})

    created = meta.created.isoformat(timespec="seconds")
    modified = meta.modified.isoformat(timespec="seconds")
    packet = f"""<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about=""
    xmlns:dc="http://purl.org/dc/elements/1.1/"
    xmlns:xmp="http://ns.adobe.com/xap/1.0/"
    xmlns:pdf="http://ns.adobe.com/pdf/1.3/"
    xmlns:pdfaid="http://www.aiim.org/pdfa/ns/id/">
   <dc:format>application/pdf</dc:format>
   <dc:title><rdf:Alt><rdf:li xml:lang="x-default">{e(meta.title)}</rdf:li></rdf:Alt></dc:title>
   <dc:creator><rdf:Seq><rdf:li>{e(meta.author)}</rdf:li></rdf:Seq></dc:creator>
   <dc:description><rdf:Alt><rdf:li xml:lang="x-default">{e(meta.subject)}</rdf:li></rdf:Alt>
   </dc:description>
   <dc:language><rdf:Bag><rdf:li>{e(meta.lang)}</rdf:li></rdf:Bag></dc:language>
   <xmp:CreatorTool>{e(meta.creator)}</xmp:CreatorTool>
   <xmp:CreateDate>{created}</xmp:CreateDate>
   <xmp:ModifyDate>{modified}</xmp:ModifyDate>
   <xmp:MetadataDate>{modified}</xmp:MetadataDate>
   <pdf:Producer>{e(PRODUCER)}</pdf:Producer>
   <pdf:Keywords>{e(meta.keywords)}</pdf:Keywords>
   <pdfaid:part>2</pdfaid:part>
   <pdfaid:conformance>B</pdfaid:conformance>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
<?xpacket end="w"?>"""
    return packet.encode("utf-8")


@cache
def _icc_profile() -> bytes:
    return importlib.resources.files("exports").joinpath("data/sRGB.icc").read_bytes()


def finish_pdfa(raw: bytes, meta: PdfMeta, tags: tuple[Node, Recorder] | None = None) -> bytes:
    """Add XMP (PDF/A-2b identification), sRGB OutputIntent, /Lang, fixed dates and (given
    ``tags``) the structure tree to ``raw``."""
    with pikepdf.open(io.BytesIO(raw)) as pdf:
        if tags is not None:
            add_structure(pdf, *tags)
        info = pdf.docinfo
        for key in list(info.keys()):
            del info[key]
        info["/Title"] = pikepdf.String(meta.title)
        info["/Author"] = pikepdf.String(meta.author)
        info["/Subject"] = pikepdf.String(meta.subject)
        info["/Keywords"] = pikepdf.String(meta.keywords)
        info["/Creator"] = pikepdf.String(meta.creator)
        info["/Producer"] = pikepdf.String(PRODUCER)
        info["/CreationDate"] = pikepdf.String(_pdf_date(meta.created))
        info["/ModDate"] = pikepdf.String(_pdf_date(meta.modified))

        xmp = pikepdf.Stream(pdf, _xmp(meta))
        xmp["/Type"] = pikepdf.Name.Metadata
        xmp["/Subtype"] = pikepdf.Name.XML
        root = pdf.Root
        root["/Metadata"] = pdf.make_indirect(xmp)
        root["/Lang"] = pikepdf.String(meta.lang)
        root["/ViewerPreferences"] = pikepdf.Dictionary(DisplayDocTitle=True)

        icc = pikepdf.Stream(pdf, _icc_profile())
        icc["/N"] = 3
        intent = pikepdf.Dictionary(
            Type=pikepdf.Name.OutputIntent,
            S=pikepdf.Name.GTS_PDFA1,
            OutputConditionIdentifier=pikepdf.String(ICC_CONDITION),
            Info=pikepdf.String(ICC_CONDITION),
            RegistryName=pikepdf.String("http://www.color.org"),
            DestOutputProfile=pdf.make_indirect(icc),
        )
        root["/OutputIntents"] = pikepdf.Array([pdf.make_indirect(intent)])
        out = io.BytesIO()
        pdf.save(
            out,
            deterministic_id=True,
            force_version="1.7",
            compress_streams=True,
            object_stream_mode=pikepdf.ObjectStreamMode.disable,
            fix_metadata_version=False,
        )
    return out.getvalue()
