"""Editable Word (DOCX) version of a PPA: same content as the PDF, real Word styles.

Styles used: ``Title``, ``Heading 1``/``Heading 2``, ``List Bullet``, tables in ``Table Grid`` with
a repeated header row. Core properties (title, author, subject, language, dates) come from the
version, never the clock, and the ZIP entries get fixed dates: same input, same bytes.
"""

from __future__ import annotations

import io
import zipfile
from datetime import UTC

from docx import Document
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Pt
from docx.table import Table

from editor.schema import Jour, TypeAccord
from exports import _common as c
from exports.context import MODE_ACCORD_FR, ExportInput
from exports.pdf import weekly_rows


def _table(doc: object, header: list[str], rows: list[list[str]]) -> Table:
    table: Table = doc.add_table(rows=1, cols=len(header))  # type: ignore[attr-defined]
    table.style = "Table Grid"
    hdr = table.rows[0]
    tr_pr = hdr._tr.get_or_add_trPr()
    el = OxmlElement("w:tblHeader")
    el.set(qn("w:val"), "true")
    tr_pr.append(el)
    for cell, text in zip(hdr.cells, header, strict=True):
        cell.text = ""
        run = cell.paragraphs[0].add_run(text)
        run.bold = True
    for row in rows:
        cells = table.add_row().cells  # type: ignore[no-untyped-call]
        for cell, text in zip(cells, row, strict=True):
            cell.text = text
    return table


def _kv(doc: object, rows: list[tuple[str, str]]) -> None:
    _table(doc, ["Rubrique", "Contenu"], [[k, v] for k, v in rows if v])


def _fix_zip(data: bytes, inp: ExportInput) -> bytes:
    """Rewrite the DOCX ZIP with fixed entry dates and order (determinism)."""
    stamp = inp.version.document_date.astimezone(UTC)
    date_time = (stamp.year, stamp.month, stamp.day, stamp.hour, stamp.minute, stamp.second)
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as dst:
        for name in src.namelist():
            info = zipfile.ZipInfo(name, date_time=date_time)
            info.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(info, src.read(name))
    return out.getvalue()


def render_docx(inp: ExportInput) -> bytes:
    """Render the PPA version as an editable DOCX document."""
    ct = inp.content
    v = inp.version
    doc = Document()
    normal = doc.styles["Normal"]
    normal.font.name = "Calibri"
    normal.font.size = Pt(10.5)
    props = doc.core_properties
    props.title = f"PPA - {inp.person.display_name} - version {v.number}"
    props.author = inp.author.display_name
    props.subject = "Projet personnalisé d'accompagnement"
    props.language = "fr-FR"
    props.keywords = f"PPA; SERAFIN-PH; sha256:{v.content_hash}"
    props.created = v.created_at.astimezone(UTC).replace(tzinfo=None)
    props.modified = v.document_date.astimezone(UTC).replace(tzinfo=None)
    props.last_modified_by = inp.author.display_name
    props.revision = v.number
    if v.kind.is_draft:
        props.category = "BROUILLON"

    doc.add_paragraph(ct.projet.titre or "Projet personnalisé d'accompagnement", style="Title")
    if v.kind.is_draft:
        doc.add_paragraph("BROUILLON - document non validé", style="Intense Quote")
    _kv(
        doc,
        [
            ("Personne accompagnée", c.identity_line(inp)),
            ("Identifiant national de santé", c.ins_line(inp)),
            ("Structure", f"{inp.structure.name} - FINESS {inp.structure.finess}"),
            ("Version", c.version_line(inp)),
            ("Intitulé de la version", v.label),
            ("Empreinte SHA-256", v.content_hash),
            (
                "Période de mise en œuvre",
                c.fr_period(ct.projet.date_debut, ct.projet.date_fin),
            ),
            ("Prochaine révision", c.fr_date(inp.next_review)),
            ("Modalités de communication", ct.projet.modalite_communication),
        ],
    )

    doc.add_heading("1. Projet de vie", level=1)
    doc.add_paragraph(ct.projet_de_vie or "Non renseigné.")

    doc.add_heading("2. Attentes", level=1)
    for att in ct.attentes:
        doc.add_paragraph(
            f"{att.texte} (exprimée par {c.ORIGINE_FR[att.origine]})", style="List Bullet"
        )

    doc.add_heading("3. Besoins (nomenclature SERAFIN-PH)", level=1)
    _table(
        doc,
        ["Code SERAFIN-PH", "Libellé officiel", "Description", "Analyse du professionnel"],
        [
            [b.code or "", c.serafin_text(b.code).partition(" - ")[2], b.description, b.analyse]
            for b in ct.besoins
        ],
    )

    doc.add_heading("4. Objectifs et actions", level=1)
    for i, o in enumerate(ct.objectifs, 1):
        doc.add_heading(f"Objectif {i} : {o.titre}", level=2)
        _kv(
            doc,
            [
                ("Besoin", c.besoin_of(ct, o)),
                ("Domaine", o.domaine),
                ("Description", o.description),
                ("Période", c.fr_period(o.date_debut, o.date_echeance)),
                ("Résultat attendu", o.resultat_attendu),
                ("Stratégie", o.strategie),
                ("Référent", inp.professional_name(o.referent_id)),
                ("Avis de la personne", o.avis_usager or "non recueilli"),
                ("Statut", c.STATUT_OBJECTIF_FR[o.statut]),
            ],
        )
        for a in c.actions_of(ct, o):
            doc.add_heading(f"Action : {a.titre}", level=3)
            prest = [c.serafin_text(code) for code in a.prestations]
            for line in (
                a.description,
                *(f"Prestation SERAFIN-PH : {p}" for p in prest),
                f"Référent et intervenants : {', '.join(c.people_of(inp, a))}",
                f"Dates : {c.fr_period(a.date_debut, a.date_fin)}",
                f"Planning : {c.schedule_text(a.planning)}",
                f"Statut : {c.STATUT_ACTION_FR[a.statut]}",
                f"Avis de la personne : {a.avis_usager}" if a.avis_usager else "",
            ):
                if line:
                    doc.add_paragraph(line, style="List Bullet")

    doc.add_heading("5. Emploi du temps hebdomadaire", level=1)
    _table(doc, ["Action", *(c.DAY_LABELS[j] for j in Jour), "Lieu"], weekly_rows(inp))

    doc.add_heading("6. Moyens et ressources", level=1)
    for m in ct.moyens:
        doc.add_paragraph(f"{c.MOYEN_FR[m.type]} : {m.description}", style="List Bullet")

    doc.add_heading("7. Bilan", level=1)
    _kv(
        doc,
        [
            ("Date d'évaluation", c.fr_date(ct.bilan.date_evaluation)),
            ("Prochaine révision", c.fr_date(inp.next_review)),
            ("Préparation", ct.bilan.notes_preparation),
            ("Rédigée par", ct.bilan.redige_par),
        ],
    )

    doc.add_heading("8. Accords", level=1)
    _table(
        doc,
        ["Accord de", "Donné par", "Date", "Modalité"],
        [
            [
                "Structure" if acc.type is TypeAccord.STRUCTURE else "Personne accompagnée",
                acc.by
                + (f" (témoin : {acc.witness})" if acc.witness else "")
                + (f" - motif : {acc.reason}" if acc.reason else ""),
                c.fr_date(acc.date),
                MODE_ACCORD_FR[acc.mode],
            ]
            for acc in inp.accords
        ],
    )
    buf = io.BytesIO()
    doc.save(buf)
    return _fix_zip(buf.getvalue(), inp)
