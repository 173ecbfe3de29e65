"""Tagged PDF for the ReportLab documents: marked content while laying out, structure tree after.

ReportLab's open-source edition writes no structure tree and no marked content (tagging is not
in its user guide; the commercial ReportLab PLUS has none either for platypus stories), so the
tags are built in two steps with the libraries already in use:

1. :func:`tag_story` wraps the story's flowables (paragraphs, table cells, pictograms) in
   :class:`Tagged` flowables bound to a node of a logical tree (:class:`Node`: Document, H1-H4,
   P, L/LI/LBody, Table/TR/TH/TD, Figure with its alternative text). When drawn, a wrapper brackets
   its content with ``/<role> <</MCID n>> BDC ... EMC`` and records (page, MCID) on its node.
   What is not content (page header and footer, watermark, table rules and backgrounds, a table
   header row repeated on the next page) is drawn inside ``/Artifact`` sequences.
2. :func:`add_structure` (called by ``_pdfkit.finish_pdfa`` with pikepdf) writes the
   ``StructTreeRoot``: the nodes as ``StructElem`` in story order (the reading order), each leaf
   with its marked-content references, the ``ParentTree`` and every page's ``/StructParents``,
   ``/RoleMap`` for the two custom types used, ``/MarkInfo << /Marked true >>``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pikepdf
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable, KeepTogether, Paragraph, Table

HEADING_ROLES: dict[str, str] = {
    "title": "H1",
    "h1": "H2",
    "h2": "H3",
    "cellb": "H4",
    "falc-title": "H1",
    "falc-h1": "H2",
    "falc-h2": "H3",
}
"""Paragraph style name -> heading level (PPA and MDPH styles, then FALC styles)."""
LIST_STYLES = frozenset({"bullet"})
ROLE_MAP: dict[str, str] = {"Empreinte": "P", "Pictogramme": "Figure"}
"""Custom structure types (the document's fingerprint, FALC pictograms) -> standard types."""
ARTIFACT_BEGIN = "/Artifact BMC"
PAGINATION_BEGIN = "/Artifact <</Type /Pagination>> BDC"
END = "EMC"


@dataclass(eq=False)
class Node:
    """A structure element to be: its type, children in reading order, marked content."""

    role: str
    parent: Node | None = None
    alt: str = ""
    scope: str = ""
    children: list[Node] = field(default_factory=list)
    mcrs: list[tuple[int, int]] = field(default_factory=list)

    def add(self, role: str, *, alt: str = "", scope: str = "") -> Node:
        child = Node(role, self, alt, scope)
        self.children.append(child)
        return child

    def used(self) -> bool:
        return bool(self.mcrs) or any(ch.used() for ch in self.children)


class Recorder:
    """Marked-content ids per page, and which node owns each (the ParentTree to be)."""

    def __init__(self) -> None:
        self.owners: dict[int, list[Node]] = {}

    def mark(self, page: int, node: Node) -> int:
        owners = self.owners.setdefault(page, [])
        owners.append(node)
        node.mcrs.append((page, len(owners) - 1))
        return len(owners) - 1


def _code(canv: Canvas, op: str) -> None:
    canv._code.append(op)  # type: ignore[attr-defined]


def recorder_of(canv: Canvas) -> Recorder | None:
    rec = getattr(canv, "tag_recorder", None)
    return rec if isinstance(rec, Recorder) else None


class Tagged(Flowable):
    """``inner`` drawn as one marked-content sequence of ``node`` (pieces of a split, too)."""

    def __init__(self, inner: Flowable, node: Node) -> None:
        super().__init__()
        self.inner = inner
        self.node = node
        self._drawn = False

    def _canvas(self) -> Canvas:
        canv: Canvas = self.__dict__.get("canv")  # type: ignore[assignment]
        return canv

    def wrap(self, aW: float, aH: float) -> tuple[float, float]:  # noqa: N803
        self.width, self.height = self.inner.wrapOn(self._canvas(), aW, aH)
        return self.width, self.height

    def split(self, aW: float, aH: float) -> list[Flowable]:  # noqa: N803
        pieces = self.inner.splitOn(self._canvas(), aW, aH)
        return [Tagged(p, self.node) for p in pieces]

    def minWidth(self) -> float:  # noqa: N802 - ReportLab's name
        width: float = self.inner.minWidth()
        return width

    def getSpaceBefore(self) -> float:  # noqa: N802
        space: float = self.inner.getSpaceBefore()
        return space

    def getSpaceAfter(self) -> float:  # noqa: N802
        space: float = self.inner.getSpaceAfter()
        return space

    def drawOn(self, canv: Canvas, x: float, y: float, _sW: float = 0) -> None:  # noqa: N802, N803
        rec = recorder_of(canv)
        if rec is None:
            self.inner.drawOn(canv, x, y, _sW)  # type: ignore[call-arg]
            return
        if self._drawn:  # a table header row repeated on the next page
            _code(canv, ARTIFACT_BEGIN)
        else:
            mcid = rec.mark(canv.getPageNumber() - 1, self.node)
            _code(canv, f"/{self.node.role} <</MCID {mcid}>> BDC")
        self._drawn = True
        self.inner.drawOn(canv, x, y, _sW)  # type: ignore[call-arg]
        _code(canv, END)


class TaggedTable(Tagged):
    """A table whose rules and backgrounds are artifacts (its cells are tagged themselves)."""

    def __init__(self, inner: Table, node: Node) -> None:
        super().__init__(inner, node)
        for name in ("_drawBkgrnd", "_drawLines"):
            original = getattr(inner, name)
            setattr(inner, name, _as_artifact(inner, original))

    def split(self, aW: float, aH: float) -> list[Flowable]:  # noqa: N803
        pieces = self.inner.splitOn(self._canvas(), aW, aH)
        return [TaggedTable(p, self.node) if isinstance(p, Table) else p for p in pieces]

    def drawOn(self, canv: Canvas, x: float, y: float, _sW: float = 0) -> None:  # noqa: N802, N803
        self.inner.drawOn(canv, x, y, _sW)  # type: ignore[call-arg]


def _as_artifact(table: Table, draw: Any) -> Any:
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        canv = table.canv
        if recorder_of(canv) is None:
            return draw(*args, **kwargs)
        _code(canv, ARTIFACT_BEGIN)
        result = draw(*args, **kwargs)
        _code(canv, END)
        return result

    return wrapped


def _tag_table(table: Table, parent: Node) -> Flowable:
    """Table / TR / TH (scope Column for the header rows, Row for a label column) / TD; a layout
    table (``tag_kind = "layout"``) tags its cells' content directly under ``parent``."""
    kind = getattr(table, "tag_kind", "grid")
    header_rows = table.repeatRows if isinstance(table.repeatRows, int) else 0
    node = parent if kind == "layout" else parent.add("Table")
    for r, row in enumerate(table._cellvalues):  # type: ignore[attr-defined]
        tr = node if kind == "layout" else node.add("TR")
        for col, value in enumerate(row):
            if kind == "layout":
                row[col] = _tag_cell(value, tr)
                continue
            if r < header_rows:
                cell = tr.add("TH", scope="Column")
            elif kind == "kv" and col == 0:
                cell = tr.add("TH", scope="Row")
            else:
                cell = tr.add("TD")
            row[col] = _tag_cell(value, cell, leaf=True)
    return TaggedTable(table, node)


def _tag_cell(value: Any, node: Node, *, leaf: bool = False) -> Any:
    items = list(value) if isinstance(value, (list, tuple)) else [value]
    out: list[Any] = []
    for item in items:
        if not isinstance(item, Flowable):
            out.append(item)
        elif leaf:
            out.append(Tagged(item, node))
        else:
            out.extend(tag_story([item], node))
    return out if isinstance(value, (list, tuple)) else out[0]


def _role(f: Paragraph) -> str:
    return getattr(f, "tag_role", "") or HEADING_ROLES.get(f.style.name, "P")


def tag_story(story: list[Flowable], parent: Node) -> list[Flowable]:
    """``story`` with its content wrapped in :class:`Tagged` flowables under ``parent``.

    Consecutive list-item paragraphs form one ``L``, also when a ``KeepTogether`` (a heading
    kept with its first item) cuts the run in two."""
    return _tag(story, parent, [None])


def _tag(story: list[Flowable], parent: Node, current_list: list[Node | None]) -> list[Flowable]:
    out: list[Flowable] = []
    for f in story:
        is_item = isinstance(f, Paragraph) and f.style.name in LIST_STYLES
        if isinstance(f, KeepTogether):
            content = _tag(list(f._content), parent, current_list)  # type: ignore[attr-defined]
            f._content = content  # type: ignore[attr-defined]
            if hasattr(f, "heading") and hasattr(f, "following"):  # pdf.HeadingWithNext
                f.heading, f.following = content[0], content[1]
            out.append(f)
            continue
        if not is_item and (isinstance(f, (Table, Paragraph)) or hasattr(f, "alt")):
            current_list[0] = None
        if isinstance(f, Table):
            out.append(_tag_table(f, parent))
        elif is_item:
            list_node = current_list[0] or parent.add("L")
            current_list[0] = list_node
            out.append(Tagged(f, list_node.add("LI").add("LBody")))
        elif isinstance(f, Paragraph):
            out.append(Tagged(f, parent.add(_role(f))))
        elif hasattr(f, "alt"):
            role = getattr(f, "tag_role", "Figure")
            out.append(Tagged(f, parent.add(role, alt=f.alt)))
        else:
            out.append(f)  # spacers and the like: nothing drawn
    return out


def _elem(pdf: pikepdf.Pdf, node: Node, parent: pikepdf.Object) -> pikepdf.Object:
    elem = pdf.make_indirect(
        pikepdf.Dictionary(Type=pikepdf.Name.StructElem, S=pikepdf.Name("/" + node.role))
    )
    elem["/P"] = parent
    if node.alt:
        elem["/Alt"] = pikepdf.String(node.alt)
    if node.scope:
        elem["/A"] = pikepdf.Dictionary(O=pikepdf.Name.Table, Scope=pikepdf.Name("/" + node.scope))
    return elem


def add_structure(pdf: pikepdf.Pdf, root: Node, rec: Recorder) -> None:
    """Write the structure tree of ``root`` and the ParentTree of ``rec`` into ``pdf``."""
    tree_root = pdf.make_indirect(pikepdf.Dictionary(Type=pikepdf.Name.StructTreeRoot))
    elems: dict[int, pikepdf.Object] = {}

    def build(node: Node, parent: pikepdf.Object) -> pikepdf.Object:
        elem = _elem(pdf, node, parent)
        elems[id(node)] = elem
        kids: list[Any] = []
        if node.mcrs:  # /Pg: the page of the first piece; an MCID alone refers to it
            first_page = node.mcrs[0][0]
            elem["/Pg"] = pdf.pages[first_page].obj
        for page, mcid in node.mcrs:
            if page == first_page:
                kids.append(mcid)
            else:
                kids.append(
                    pikepdf.Dictionary(Type=pikepdf.Name.MCR, Pg=pdf.pages[page].obj, MCID=mcid)
                )
        kids += [build(ch, elem) for ch in node.children if ch.used()]
        elem["/K"] = pikepdf.Array(kids)
        return elem

    document = build(root, tree_root)
    tree_root["/K"] = pikepdf.Array([document])
    nums: list[Any] = []
    for index, page in enumerate(pdf.pages):
        page.obj["/StructParents"] = index
        owners = rec.owners.get(index, [])
        nums += [index, pdf.make_indirect(pikepdf.Array([elems[id(n)] for n in owners]))]
    tree_root["/ParentTree"] = pdf.make_indirect(pikepdf.Dictionary(Nums=pikepdf.Array(nums)))
    tree_root["/ParentTreeNextKey"] = len(pdf.pages)
    tree_root["/RoleMap"] = pikepdf.Dictionary(
        {f"/{k}": pikepdf.Name("/" + v) for k, v in ROLE_MAP.items()}
    )
    pdf.Root["/StructTreeRoot"] = tree_root
    pdf.Root["/MarkInfo"] = pikepdf.Dictionary(Marked=True)
