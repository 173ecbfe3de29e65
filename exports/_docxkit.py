"""Word plumbing of the DOCX export: French page set-up, language, running header and footer,
and the package clean-up (python-docx's template leftovers, fixed ZIP dates).

French office conventions: A4 portrait, 2.5 cm margins all round (the usual default of French
Word and LibreOffice installs, and of administrative letters), header and footer 1.25 cm from
the edge, ``fr-FR`` as the language of every style (``w:docDefaults``) and of the theme fonts
(``w:themeFontLang``), the French decimal comma and list separator, and "Page x sur y" built with
the ``PAGE`` and ``NUMPAGES`` fields so Word and LibreOffice compute them.
"""

from __future__ import annotations

import io
import zipfile
from datetime import UTC
from xml.sax.saxutils import escape

from docx.document import Document as DocumentObject
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt
from docx.text.paragraph import Paragraph
from lxml import etree

from exports.context import ExportInput

APP_NAME = "ppa-collab"
LANG = "fr-FR"
THUMBNAIL = "docProps/thumbnail.jpeg"
CUSTOM_XML = "customXml/"
"""python-docx's template carries a customXml part: the APA bibliography sources of Word's
"Sources" feature (``b:Sources SelectedStyle="\\APA.XSL"``), nothing of ours."""
CONTENT_TYPES = "http://schemas.openxmlformats.org/package/2006/content-types"
RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
PAGE_W_CM, PAGE_H_CM, MARGIN_CM, HEADER_CM = 21.0, 29.7, 2.5, 1.25


def set_up_pages(doc: DocumentObject) -> None:
    """A4 portrait, French margins, header/footer distances, on every section."""
    for section in doc.sections:
        section.page_width = Cm(PAGE_W_CM)
        section.page_height = Cm(PAGE_H_CM)
        for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
            setattr(section, side, Cm(MARGIN_CM))
        section.header_distance = Cm(HEADER_CM)
        section.footer_distance = Cm(HEADER_CM)


def set_language(doc: DocumentObject) -> None:
    """``fr-FR`` on the document defaults (every style inherits it) and in the settings."""
    styles = doc.styles.element
    defaults = styles.find(qn("w:docDefaults"))
    if defaults is None:
        defaults = OxmlElement("w:docDefaults")
        styles.insert(0, defaults)
    rpr_default = defaults.find(qn("w:rPrDefault"))
    if rpr_default is None:
        rpr_default = OxmlElement("w:rPrDefault")
        defaults.insert(0, rpr_default)
    rpr = rpr_default.find(qn("w:rPr"))
    if rpr is None:
        rpr = OxmlElement("w:rPr")
        rpr_default.append(rpr)
    lang = rpr.find(qn("w:lang"))
    if lang is None:
        lang = OxmlElement("w:lang")
        rpr.append(lang)
    lang.set(qn("w:val"), LANG)
    lang.set(qn("w:eastAsia"), LANG)
    lang.set(qn("w:bidi"), "ar-SA")
    settings = doc.settings.element
    theme_lang = settings.find(qn("w:themeFontLang"))
    if theme_lang is not None:
        theme_lang.set(qn("w:val"), LANG)
        theme_lang.attrib.pop(qn("w:eastAsia"), None)
    for tag, value in (("w:decimalSymbol", ","), ("w:listSeparator", ";")):
        el = settings.find(qn(tag))
        if el is not None:
            el.set(qn("w:val"), value)


def _field(paragraph: Paragraph, instruction: str, placeholder: str) -> None:
    """A complex field (``PAGE``, ``NUMPAGES``) with a cached ``placeholder`` result."""
    for kind, text in (("begin", None), (None, instruction), ("separate", None)):
        run = paragraph.add_run()
        if kind is not None:
            fld = OxmlElement("w:fldChar")
            fld.set(qn("w:fldCharType"), kind)
            run._r.append(fld)
        else:
            instr = OxmlElement("w:instrText")
            instr.set(qn("xml:space"), "preserve")
            instr.text = f" {text} "
            run._r.append(instr)
    paragraph.add_run(placeholder)
    end = paragraph.add_run()
    fld = OxmlElement("w:fldChar")
    fld.set(qn("w:fldCharType"), "end")
    end._r.append(fld)


def add_header_footer(doc: DocumentObject, header_text: str, footer_text: str) -> None:
    """Running header (who, which version) and footer ("Page x sur y" + ``footer_text``)."""
    for section in doc.sections:
        header = section.header.paragraphs[0]
        header.text = header_text
        header.style = doc.styles["Header"]
        for run in header.runs:
            run.font.size = Pt(8)
        footer = section.footer.paragraphs[0]
        footer.style = doc.styles["Footer"]
        footer.alignment = WD_ALIGN_PARAGRAPH.RIGHT
        if footer_text:
            footer.add_run(f"{footer_text} - ")
        footer.add_run("Page ")
        _field(footer, "PAGE", "1")
        footer.add_run(" sur ")
        _field(footer, "NUMPAGES", "1")
        for run in footer.runs:
            run.font.size = Pt(8)


def _app_xml(inp: ExportInput) -> bytes:
    """Extended properties naming this application and the structure.

    python-docx copies its template's ``app.xml`` (``Microsoft Macintosh Word``, ``Normal.dotm``,
    zero page and word counts); Word recomputes the statistics, so only our own values are kept.
    """
    return (
        "<?xml version='1.0' encoding='UTF-8' standalone='yes'?>\n"
        '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/'
        'extended-properties">'
        f"<Application>{escape(APP_NAME)}</Application>"
        f"<Company>{escape(inp.structure.name)}</Company>"
        "</Properties>"
    ).encode()


def _xml(root: etree._Element) -> bytes:
    data: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)
    return data


def _drop_rels(rels: bytes, dropped: tuple[str, ...]) -> bytes:
    """``rels`` without the relationships whose target is (under) one of ``dropped``."""
    root = etree.fromstring(rels)
    for rel in list(root):
        target = (rel.get("Target") or "").removeprefix("../").removeprefix("/")
        if target.startswith(dropped):
            root.remove(rel)
    return _xml(root)


def _drop_overrides(types: bytes, dropped: tuple[str, ...]) -> bytes:
    root = etree.fromstring(types)
    for el in list(root):
        part = (el.get("PartName") or "").lstrip("/")
        if el.tag == f"{{{CONTENT_TYPES}}}Override" and part.startswith(dropped):
            root.remove(el)
    return _xml(root)


def fix_zip(data: bytes, inp: ExportInput) -> bytes:
    """Rewrite the DOCX ZIP with fixed entry dates and order (determinism), our ``app.xml``,
    without the template's thumbnail (a picture of python-docx's blank default document) nor its
    customXml bibliography part, and no relationship or content type left pointing at them."""
    stamp = inp.version.document_date.astimezone(UTC)
    date_time = (stamp.year, stamp.month, stamp.day, stamp.hour, stamp.minute, stamp.second)
    dropped = (THUMBNAIL, CUSTOM_XML)
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as dst:
        for name in src.namelist():
            if name.startswith(dropped):
                continue
            body = src.read(name)
            if name == "docProps/app.xml":
                body = _app_xml(inp)
            elif name.endswith(".rels"):
                body = _drop_rels(body, dropped)
            elif name == "[Content_Types].xml":
                body = _drop_overrides(body, dropped)
            info = zipfile.ZipInfo(name, date_time=date_time)
            info.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(info, body)
    return out.getvalue()
