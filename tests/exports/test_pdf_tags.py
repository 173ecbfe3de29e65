"""Tagged PDF (PDF/UA structure) of the PPA, FALC and MDPH documents, read back with pikepdf.

Checked: ``/MarkInfo /Marked true``, ``/Lang fr-FR``, ``/Title`` + ``DisplayDocTitle``, a
``StructTreeRoot`` with a ``Document`` element, a role map whose custom types map to standard
ones, headings H1/H2, tables with TH (scope) and TD in TR, figures with alternative text, the
ParentTree consistent with the marked content of every page (each MCID of a page's content
stream owned by the element that references it), no content outside a tag or an artifact, and
the reading order (the structure tree reads pages in order, each in drawing order).
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator

import pikepdf
import pytest

from exports.context import ExportInput
from exports.falc import render_falc
from exports.mdph import render_mdph_pdf
from exports.pdf import render_pdf
from tests.exports.conftest import pdf_text

STANDARD = {
    "Document", "Part", "Sect", "Div", "P", "H1", "H2", "H3", "H4", "H5", "H6", "L", "LI",
    "Lbl", "LBody", "Table", "TR", "TH", "TD", "THead", "TBody", "TFoot", "Figure", "Span",
    "Caption", "Note",
}  # fmt: skip
DRAWING = {"Tj", "TJ", "'", '"', "Do", "f", "f*", "F", "S", "s", "B", "B*", "b", "b*", "sh"}


def _elems(node: pikepdf.Object) -> Iterator[pikepdf.Object]:
    kids = node.get("/K")
    for kid in kids if isinstance(kids, pikepdf.Array) else [kids] if kids is not None else []:
        if isinstance(kid, pikepdf.Dictionary) and kid.get("/Type") == "/StructElem":
            yield kid
            yield from _elems(kid)


def _role(elem: pikepdf.Object, role_map: pikepdf.Object) -> str:
    name = str(elem.S)
    return str(role_map.get(name, name))[1:]


RENDERERS: dict[str, Callable[[ExportInput], bytes]] = {
    "pdf": render_pdf,
    "falc": render_falc,
}


@pytest.fixture(scope="module", params=["pdf", "falc", "mdph"])
def document(request: pytest.FixtureRequest, validated: ExportInput, avenant: ExportInput) -> bytes:
    if request.param == "mdph":
        return render_mdph_pdf(avenant)
    return RENDERERS[request.param](validated)


def test_catalog_declares_a_tagged_french_document(document: bytes) -> None:
    with pikepdf.open(io.BytesIO(document)) as pdf:
        root = pdf.Root
        assert bool(root.MarkInfo.Marked)
        assert str(root.Lang) == "fr-FR"
        assert bool(root.ViewerPreferences.DisplayDocTitle)
        assert str(pdf.docinfo.Title).strip()
        tree = root.StructTreeRoot
        assert tree.Type == "/StructTreeRoot"
        role_map = tree.RoleMap
        assert len(role_map.keys()) >= 1
        for custom, standard in role_map.items():
            assert custom[1:] not in STANDARD
            assert str(standard)[1:] in STANDARD
        (document_elem,) = list(tree.K)
        assert document_elem.S == "/Document"
        roles = [_role(e, role_map) for e in _elems(tree)]
        assert set(roles) <= STANDARD, set(roles) - STANDARD
        assert roles.count("H1") >= 1
        assert roles.count("H2") >= 3
        assert roles.index("H1") < roles.index("H2")


def test_tables_have_header_cells_in_rows(validated: ExportInput) -> None:
    with pikepdf.open(io.BytesIO(render_pdf(validated))) as pdf:
        elems = list(_elems(pdf.Root.StructTreeRoot))
        tables = [e for e in elems if e.S == "/Table"]
        assert len(tables) >= 8
        for table in tables:
            rows = list(table.K)
            assert rows
            assert all(r.S == "/TR" for r in rows)
            cells = [c for r in rows for c in r.K]
            assert {c.S for c in cells} <= {"/TH", "/TD"}
            headers = [c for c in cells if c.S == "/TH"]
            assert headers, "a table without header cells"
            assert all(str(h.A.Scope) in ("/Column", "/Row") for h in headers)
        # the besoins grid: a header row of TH (scope Column), then rows of TD
        grid = next(t for t in tables if len(list(t.K[0].K)) == 4)
        assert all(c.S == "/TH" and c.A.Scope == "/Column" for c in grid.K[0].K)
        assert all(c.S == "/TD" for c in grid.K[1].K)


def test_lists_and_figures(validated: ExportInput) -> None:
    with pikepdf.open(io.BytesIO(render_pdf(validated))) as pdf:
        lists = [e for e in _elems(pdf.Root.StructTreeRoot) if e.S == "/L"]
        attentes = len(validated.content.attentes)
        assert any(len(list(lst.K)) == attentes for lst in lists)
        for lst in lists:
            assert all(li.S == "/LI" and li.K[0].S == "/LBody" for li in lst.K)
    with pikepdf.open(io.BytesIO(render_falc(validated))) as pdf:
        figures = [e for e in _elems(pdf.Root.StructTreeRoot) if e.S == "/Figure"]
        assert figures
        assert all(str(f.Alt).strip() for f in figures)


def _marked_content(page: pikepdf.Page) -> Iterator[tuple[str, int | None, str]]:
    """("BDC", MCID, tag) for each marked-content sequence opened, (operator, MCID of the
    innermost tag or None, innermost tag) for each drawing operator."""
    stack: list[tuple[str, int | None]] = []
    for instruction in pikepdf.parse_content_stream(page):
        if not isinstance(instruction, pikepdf.ContentStreamInstruction):
            continue  # an inline image: no marked-content operator
        operands, op = instruction.operands, str(instruction.operator)
        if op in ("BDC", "BMC"):
            props = operands[1] if op == "BDC" else None
            mcid = None
            if isinstance(props, pikepdf.Dictionary) and "/MCID" in props:
                mcid = int(props.MCID)
            stack.append((str(operands[0])[1:], mcid))
            yield op, mcid, stack[-1][0]
        elif op == "EMC":
            stack.pop()
        elif op in DRAWING:
            tag, mcid = stack[-1] if stack else ("", None)
            yield op, mcid, tag
    assert not stack, "unbalanced marked content"


def test_every_mark_is_owned_and_nothing_is_untagged(document: bytes) -> None:
    with pikepdf.open(io.BytesIO(document)) as pdf:
        tree = pdf.Root.StructTreeRoot
        nums = list(tree.ParentTree.Nums)
        parents = {int(nums[i]): nums[i + 1] for i in range(0, len(nums), 2)}
        for index, page in enumerate(pdf.pages):
            key = int(page.obj.StructParents)
            owners = parents[key]
            seen: set[int] = set()
            for op, mcid, tag in _marked_content(page):
                assert tag, f"page {index + 1}: {op} outside any tag or artifact"
                if tag == "Artifact" or op != "BDC":
                    continue
                assert mcid is not None
                assert mcid not in seen
                seen.add(mcid)
                owner = owners[mcid]
                assert f"/{tag}" == owner.S
                refs = [
                    (int(k), owner.Pg.objgen)
                    if not isinstance(k, pikepdf.Dictionary)
                    else (int(k.MCID), k.Pg.objgen)
                    for k in owner.K
                    if not isinstance(k, pikepdf.Dictionary) or "/MCID" in k
                ]
                assert (mcid, page.obj.objgen) in refs
            assert seen == set(range(len(owners))), f"page {index + 1}"


def test_birthplace_is_a_town_and_the_fingerprint_is_at_the_end(validated: ExportInput) -> None:
    data = render_pdf(validated)
    with pikepdf.open(io.BytesIO(data)) as pdf:
        first = pdf_text_of_page(data, 0)
        last = pdf_text_of_page(data, len(pdf.pages) - 1)
    digest = validated.version.content_hash
    assert digest[:16] not in first
    assert "Empreinte" not in first
    assert "".join(last.split()).find(digest) >= 0
    assert "Lieu de naissance" in first
    assert "Lyon" in first
    assert "code INSEE" not in pdf_text(data)


def pdf_text_of_page(data: bytes, index: int) -> str:
    from pypdf import PdfReader

    return PdfReader(io.BytesIO(data)).pages[index].extract_text()


def _struct_order(node: pikepdf.Object, out: list[tuple[tuple[int, int], int]]) -> None:
    """(page, MCID) of every marked-content reference, depth first: the logical reading order."""
    kids = node.get("/K")
    for kid in kids if isinstance(kids, pikepdf.Array) else [kids] if kids is not None else []:
        if isinstance(kid, pikepdf.Dictionary) and kid.get("/Type") == "/StructElem":
            _struct_order(kid, out)
        elif isinstance(kid, pikepdf.Dictionary) and "/MCID" in kid:
            out.append((kid.Pg.objgen, int(kid.MCID)))
        elif not isinstance(kid, pikepdf.Dictionary) and kid is not None:
            out.append((node.Pg.objgen, int(kid)))


def test_reading_order_follows_the_pages(document: bytes) -> None:
    """The structure tree reads the pages in order, and each page's content in the order it is
    drawn (top to bottom): a screen reader reads what the eye reads."""
    with pikepdf.open(io.BytesIO(document)) as pdf:
        order: list[tuple[tuple[int, int], int]] = []
        _struct_order(pdf.Root.StructTreeRoot, order)
        pages = [page.obj.objgen for page in pdf.pages]
        drawn = {
            page.obj.objgen: [
                m for op, m, _ in _marked_content(page) if op == "BDC" and m is not None
            ]
            for page in pdf.pages
        }
    page_sequence = [pages.index(p) for p, _ in order]
    assert page_sequence == sorted(page_sequence), "the structure goes back to an earlier page"
    for objgen in pages:
        read = [m for p, m in order if p == objgen]
        assert read == drawn[objgen], f"page {pages.index(objgen) + 1}"
