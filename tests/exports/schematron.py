"""A small ISO Schematron -> XSLT 3 compiler, run with saxonche (XSLT/XPath 3 engine).

The ANS schematrons use ``queryBinding="xslt2"``; lxml's isoschematron is XSLT 1 only and the ISO
skeleton is not shipped with them. This compiler covers what the two ANS schematrons we run use:
``include`` (schema and pattern level, recursive), ``ns``, ``let`` (schema, pattern, rule),
``pattern``, ``rule`` (with ``abstract``/``extends``), ``assert``, ``report``, ``value-of``,
``name``. Phases are ignored (every pattern runs, as the ANS tooling does by default). Rule
matching follows the standard: in a pattern, a node fires the first rule whose context matches.
Missing include files are skipped and reported.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr

from lxml import etree

SCH = "http://purl.oclc.org/dsdl/schematron"
SVRL = "http://purl.oclc.org/dsdl/svrl"


def _q(tag: str) -> str:
    return f"{{{SCH}}}{tag}"


@dataclass
class Compiled:
    """XSLT text plus what was skipped while compiling."""

    xslt: str
    missing_includes: list[str] = field(default_factory=list)
    missing_documents: list[str] = field(default_factory=list)
    duplicate_lets: list[str] = field(default_factory=list)
    patterns: int = 0
    rules: int = 0
    asserts: int = 0


def _resolve(el: etree._Element, base: str, missing: list[str]) -> None:
    for inc in list(el.iter(_q("include"))):
        href = os.path.normpath(os.path.join(base, inc.get("href", "")))
        parent = inc.getparent()
        assert parent is not None
        if not os.path.exists(href):
            missing.append(href)
            parent.remove(inc)
            continue
        sub = etree.parse(href).getroot()
        _resolve(sub, os.path.dirname(href), missing)
        parent.replace(inc, sub)


def _message(node: etree._Element) -> str:
    out = [_esc(node.text or "")]
    for child in node:
        if child.tag == _q("value-of"):
            out.append(f"<xsl:value-of select={quoteattr(child.get('select', '.'))}/>")
        elif child.tag == _q("name"):
            out.append(
                f"<xsl:value-of select={quoteattr('name(' + child.get('path', '.') + ')')}/>"
            )
        elif isinstance(child.tag, str):
            out.append(_esc("".join(str(t) for t in child.itertext())))
        out.append(_esc(child.tail or ""))
    return "".join(out)


def _esc(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _fix_documents(root: etree._Element, base_dir: str, compiled: Compiled) -> None:
    """Point ``doc(...)`` calls to missing files at an empty value set (and list them)."""
    # One file per process: pytest-xdist workers compile at the same time.
    empty_doc = Path(tempfile.gettempdir()) / f"ppa-schematron-empty-valueset-{os.getpid()}.xml"
    empty_doc.write_text("<valueSets/>", encoding="utf-8")

    def sub(m: re.Match[str]) -> str:
        target = os.path.normpath(os.path.join(base_dir, m.group(2)))
        if os.path.exists(target):
            return m.group(0)
        if target not in compiled.missing_documents:
            compiled.missing_documents.append(target)
        return f"doc({m.group(1)}{empty_doc.as_uri()}{m.group(1)})"

    for el in root.iter():
        for attr in ("test", "value", "select", "context"):
            if isinstance(el.tag, str) and el.get(attr):
                el.set(attr, re.sub(r"doc\((['\"])([^'\"]+)\1\)", sub, el.get(attr, "")))


def _rule_body(rule: etree._Element, abstract: dict[Any, etree._Element]) -> list[etree._Element]:
    """The children of ``rule``, with ``extends`` replaced by the abstract rule's children."""
    body: list[etree._Element] = []
    for child in rule:
        if not isinstance(child.tag, str):
            continue
        if child.tag == _q("extends"):
            base = abstract.get(child.get("rule"))
            if base is not None:
                body.extend(base)
        else:
            body.append(child)
    return body


def _rule_item(item: etree._Element, compiled: Compiled) -> str | None:
    """The XSLT of one ``let``, ``assert`` or ``report`` of a rule (None for anything else)."""
    if item.tag == _q("let"):
        return (
            f"<xsl:variable name={quoteattr(item.get('name', ''))} "
            f"select={quoteattr(item.get('value', '()'))}/>"
        )
    if item.tag not in (_q("assert"), _q("report")):
        return None
    compiled.asserts += 1
    is_assert = item.tag == _q("assert")
    kind = "failed-assert" if is_assert else "successful-report"
    role = item.get("role") or item.get("flag") or "error"
    test = item.get("test", "true()")
    cond = f"not({test})" if is_assert else test
    return (
        f"<xsl:if test={quoteattr(cond)}><svrl:{kind} test={quoteattr(test)} "
        f'role={quoteattr(role)} location="{{path()}}">'
        f"<svrl:text>{_message(item)}</svrl:text></svrl:{kind}></xsl:if>"
    )


def _rule_template(
    rule: etree._Element,
    mode: str,
    priority: int,
    abstract: dict[Any, etree._Element],
    compiled: Compiled,
) -> list[str]:
    """The XSLT template of one rule in pattern ``mode``."""
    compiled.rules += 1
    ctx = rule.get("context", "")
    out = [
        f'<xsl:template match={quoteattr(ctx)} priority="{priority}" mode="{mode}">'
        f"<svrl:fired-rule context={quoteattr(ctx)}/>"
    ]
    for item in _rule_body(rule, abstract):
        line = _rule_item(item, compiled)
        if line is not None:
            out.append(line)
    out.append(f'<xsl:apply-templates select="@*|node()" mode="{mode}"/></xsl:template>')
    return out


def compile_schematron(path: str) -> Compiled:
    """Compile the schematron at ``path`` (resolving includes) into an XSLT 3 stylesheet."""
    root = etree.parse(path).getroot()
    compiled = Compiled(xslt="")
    _resolve(root, os.path.dirname(path), compiled.missing_includes)
    ns = {n.get("prefix"): n.get("uri") for n in root.iter(_q("ns"))}
    ns_decl = " ".join(f"xmlns:{p}={quoteattr(u or '')}" for p, u in ns.items() if p != "xsl")
    abstract = {r.get("id"): r for r in root.iter(_q("rule")) if r.get("abstract") == "true"}
    base_dir = os.path.dirname(os.path.abspath(path))
    _fix_documents(root, base_dir, compiled)
    out: list[str] = [
        f'<xsl:stylesheet version="3.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform" '
        f'xmlns:svrl="{SVRL}" {ns_decl} exclude-result-prefixes="#all" '
        f"xml:base={quoteattr(Path(base_dir).as_uri() + '/')}>"
    ]
    globals_seen: set[str] = set()

    def global_let(let: etree._Element) -> None:
        name = let.get("name", "")
        if name in globals_seen:
            compiled.duplicate_lets.append(name)
            return
        globals_seen.add(name)
        out.append(
            f"<xsl:variable name={quoteattr(name)} select={quoteattr(let.get('value', '()'))}/>"
        )

    for let in root.findall(_q("let")):
        global_let(let)
    patterns = [p for p in root.iter(_q("pattern")) if p.get("abstract") != "true"]
    compiled.patterns = len(patterns)
    out.append('<xsl:template match="/"><svrl:schematron-output>')
    for i, pat in enumerate(patterns):
        out.append(f"<svrl:active-pattern id={quoteattr(pat.get('id', f'p{i}'))}/>")
        out.append(f'<xsl:apply-templates select="/" mode="M{i}"/>')
    out.append("</svrl:schematron-output></xsl:template>")
    for i, pat in enumerate(patterns):
        for let in pat.findall(_q("let")):
            global_let(let)
        rules = [
            r for r in pat.iter(_q("rule")) if r.get("abstract") != "true" and r.get("context")
        ]
        for j, rule in enumerate(rules):
            out += _rule_template(rule, f"M{i}", 10000 - j, abstract, compiled)
        out.append(f'<xsl:template match="text()" priority="-1" mode="M{i}"/>')
        out.append(
            f'<xsl:template match="@*|node()" priority="-2" mode="M{i}">'
            f'<xsl:apply-templates select="@*|node()" mode="M{i}"/></xsl:template>'
        )
    out.append("</xsl:stylesheet>")
    compiled.xslt = "\n".join(out)
    return compiled


@dataclass
class Finding:
    """One failed assert or successful report."""

    kind: str
    role: str
    location: str
    text: str


_SAXON: dict[str, Any] = {}


def _executable(compiled: Compiled) -> Any:
    """The compiled stylesheet, built once per schematron with one shared Saxon processor."""
    from saxonche import PySaxonProcessor  # type: ignore[import-not-found]

    if "proc" not in _SAXON:
        _SAXON["proc"] = PySaxonProcessor(license=False)
    key = hashlib.sha256(compiled.xslt.encode("utf-8")).hexdigest()
    if key not in _SAXON:
        xslt = _SAXON["proc"].new_xslt30_processor()
        _SAXON[key] = xslt.compile_stylesheet(stylesheet_text=compiled.xslt)
    return _SAXON[key]


def run_schematron(compiled: Compiled, xml: bytes) -> list[Finding]:
    """Run a compiled schematron on ``xml`` with saxonche; return the findings (SVRL)."""
    executable = _executable(compiled)
    node = _SAXON["proc"].parse_xml(xml_text=xml.decode("utf-8"))
    svrl = executable.transform_to_string(xdm_node=node)
    tree = etree.fromstring(svrl.encode("utf-8"))
    findings = []
    for el in tree:
        kind = etree.QName(el).localname
        if kind in ("failed-assert", "successful-report"):
            findings.append(
                Finding(
                    kind,
                    el.get("role", ""),
                    el.get("location", ""),
                    " ".join("".join(str(t) for t in el.itertext()).split()),
                )
            )
    return findings
