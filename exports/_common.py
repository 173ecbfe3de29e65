"""French formatting and lookups shared by the human-readable renderers (PDF, DOCX, FALC)."""

from __future__ import annotations

from datetime import date, datetime

from editor.schema import (
    Action,
    Besoin,
    Frequence,
    Jour,
    Objectif,
    OrigineAttente,
    Planning,
    PPAContent,
    StatutAction,
    StatutObjectif,
    TypeMoyen,
)
from exports import communes, terminology
from exports.context import ExportInput
from exports.local_time import PARIS

MONTHS = (
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
)

DAY_LABELS: dict[Jour, str] = {
    Jour.LUNDI: "Lundi",
    Jour.MARDI: "Mardi",
    Jour.MERCREDI: "Mercredi",
    Jour.JEUDI: "Jeudi",
    Jour.VENDREDI: "Vendredi",
    Jour.SAMEDI: "Samedi",
    Jour.DIMANCHE: "Dimanche",
}

STATUT_OBJECTIF_FR: dict[StatutObjectif, str] = {
    StatutObjectif.EN_PREPARATION: "en préparation",
    StatutObjectif.ACTIF: "en cours",
    StatutObjectif.TERMINE: "terminé",
    StatutObjectif.ANNULE: "annulé",
}

STATUT_ACTION_FR: dict[StatutAction, str] = {
    StatutAction.EN_PREPARATION: "en préparation",
    StatutAction.ESSAI: "à l'essai",
    StatutAction.ACTIF: "en cours",
    StatutAction.TERMINE: "terminée",
    StatutAction.ANNULE: "annulée",
}

ORIGINE_FR: dict[OrigineAttente, str] = {
    OrigineAttente.PERSONNE: "la personne",
    OrigineAttente.ENTOURAGE: "l'entourage",
    OrigineAttente.PROFESSIONNEL: "un professionnel",
}

MOYEN_FR: dict[TypeMoyen, str] = {
    TypeMoyen.HUMAIN: "Humain",
    TypeMoyen.MATERIEL: "Matériel",
    TypeMoyen.FINANCIER: "Financier",
    TypeMoyen.AUTRE: "Autre",
}


def fr_date(d: date | None) -> str:
    """``12 septembre 2025`` ('non renseignée' for None)."""
    if d is None:
        return "non renseignée"
    day = "1er" if d.day == 1 else str(d.day)
    return f"{day} {MONTHS[d.month - 1]} {d.year}"


def fr_period(start: date | None, end: date | None) -> str:
    """``du 15 septembre 2025 au 30 juin 2026``; ``le 6 novembre 2025`` when it is one day.

    Open ends read ``à partir du ...`` / ``jusqu'au ...``; no dates at all, ``non renseignée``.
    Lower case: capitalise it at the start of a sentence.
    """
    if start is not None and start == end:
        return f"le {fr_date(start)}"
    if start is not None and end is not None:
        return f"du {fr_date(start)} au {fr_date(end)}"
    if start is not None:
        return f"à partir du {fr_date(start)}"
    if end is not None:
        return f"jusqu'au {fr_date(end)}"
    return "non renseignée"


def fr_datetime(dt: datetime | None) -> str:
    """``12 septembre 2025 à 18 h 05`` in Europe/Paris time."""
    if dt is None:
        return "non renseignée"
    local = dt.astimezone(PARIS)
    return f"{fr_date(local.date())} à {local.hour} h {local.minute:02d}"


def end_time(start: str, minutes: int | None) -> str:
    """``HH:MM`` + duration -> ``HH:MM`` (same day, capped at 23:59)."""
    h, m = (int(x) for x in start.split(":"))
    total = min(h * 60 + m + (minutes or 0), 23 * 60 + 59)
    return f"{total // 60:02d}:{total % 60:02d}"


def hour_fr(hhmm: str) -> str:
    """``08:15`` -> ``8 h 15``."""
    h, m = (int(x) for x in hhmm.split(":"))
    return f"{h} h {m:02d}"


def schedule_text(p: Planning | None) -> str:
    """One-line French description of a schedule."""
    if p is None:
        return "Pas de planning"
    parts: list[str] = []
    days = ", ".join(DAY_LABELS[j].lower() for j in p.jours)
    if p.frequence is Frequence.PONCTUELLE:
        parts.append("Séance ponctuelle")
    elif p.frequence is Frequence.QUOTIDIENNE:
        parts.append("Chaque jour" + (f" ({days})" if days else ""))
    elif p.frequence is Frequence.HEBDOMADAIRE:
        every = "Chaque semaine" if p.intervalle == 1 else f"Toutes les {p.intervalle} semaines"
        parts.append(every + (f", le {days}" if days else ""))
    else:
        every = "Chaque mois" if p.intervalle == 1 else f"Tous les {p.intervalle} mois"
        parts.append(every + (f", le {days}" if days else ""))
    if p.heure_debut:
        parts.append(
            f"de {hour_fr(p.heure_debut)} à {hour_fr(end_time(p.heure_debut, p.duree_minutes))}"
            if p.duree_minutes
            else f"à {hour_fr(p.heure_debut)}"
        )
    if p.lieu:
        parts.append(f"lieu : {p.lieu}")
    return ", ".join(parts)


def serafin_text(code: str | None) -> str:
    """``1.2.1.3 - Besoins pour la mobilité`` (code alone if unknown, '' for None)."""
    if not code:
        return ""
    lab = terminology.label(code)
    return f"{code} - {lab}" if lab else code


def projet_de_vie_text(content: PPAContent) -> str:
    """The projet de vie, else the recorded reason why there is none, else "Non renseigné."."""
    if content.projet_de_vie:
        return content.projet_de_vie
    reason = content.projet.motif_sans_projet_de_vie.strip()
    return f"Pas de projet de vie écrit : {reason}" if reason else "Non renseigné."


def besoin_analyse_text(besoin: Besoin) -> str:
    """The professional analysis, with the reason why no objective answers it when recorded."""
    reason = besoin.motif_sans_objectif.strip()
    if not reason:
        return besoin.analyse
    return "\n".join(filter(None, [besoin.analyse, f"Sans objectif : {reason}"]))


def besoin_of(content: PPAContent, obj: Objectif) -> str:
    """SERAFIN text of the besoin(s) an objective addresses."""
    by_id = {b.id: b for b in content.besoins}
    texts = [
        serafin_text(by_id[b].code) or by_id[b].description for b in obj.besoin_ids if b in by_id
    ]
    return " ; ".join(texts)


def actions_of(content: PPAContent, obj: Objectif) -> list[Action]:
    """Actions serving ``obj``, in document order."""
    return [a for a in content.actions if obj.id in a.objectif_ids]


def people_of(inp: ExportInput, action: Action) -> list[str]:
    """Display names of the referent then the other intervenants of an action."""
    ids = [action.referent_id, *action.intervenant_ids] if action.referent_id else []
    ids = ids or list(action.intervenant_ids)
    seen: list[str] = []
    for pid in ids:
        name = inp.professional_name(pid)
        if name and name not in seen:
            seen.append(name)
    return seen


def version_line(inp: ExportInput) -> str:
    """``Version 3 - Version validée le 12 septembre 2025 à 18 h 05``."""
    v = inp.version
    text = f"Version {v.number} - {v.kind.label_fr}"
    if v.avenant_number:
        text += f" (avenant n°{v.avenant_number} à la version {v.base_version})"
    if v.validated_at:
        text += f" le {fr_datetime(v.validated_at)}"
    else:
        text += f", enregistrée le {fr_datetime(v.created_at)}"
    return text


def identity_line(inp: ExportInput) -> str:
    """Person identity as printed in headers (INS traits)."""
    p = inp.person
    sexe = {"M": "Masculin", "F": "Féminin", "U": "Indéterminé"}[p.sex.value]
    born = "née" if p.sex.value == "F" else "né(e)"
    line = f"{p.birth_family_name.upper()} {' '.join(p.first_names)}"
    if p.used_name and p.used_name.upper() != p.birth_family_name.upper():
        line += f" (nom utilisé : {p.used_name.upper()})"
    return f"{line}, {born} le {fr_date(p.birth_date)}, sexe {sexe}"


def ins_line(inp: ExportInput) -> str:
    """``INS 2 08 03 75 115 123 69 (INS-NIR-TEST)``."""
    s = inp.person.ins
    spaced = f"{s[0]} {s[1:3]} {s[3:5]} {s[5:7]} {s[7:10]} {s[10:13]} {s[13:15]}"
    return f"Matricule INS {spaced} ({inp.person.ins_oid.type_code})"


def bilan_rows(inp: ExportInput) -> list[tuple[str, str]]:
    """The bilan as label/value rows: held or planned (never one for the other, rule 5), next
    review, scope, people invited, preparation, synthesis and its author."""
    b = inp.content.bilan
    rows: list[tuple[str, str]] = []
    if b.date_evaluation is not None or b.date_evaluation_prevue is None:
        rows.append(("Bilan réalisé le", fr_date(b.date_evaluation)))
    if b.date_evaluation_prevue is not None:
        rows.append(("Bilan prévu le", fr_date(b.date_evaluation_prevue)))
    rows.append(("Prochaine révision", fr_date(inp.next_review)))
    invited = [inp.professional_name(m) for m in b.invites_ids]
    invited += [line.strip() for line in b.invites_autres.splitlines() if line.strip()]
    for label, value in (
        ("Périmètre", b.perimetre),
        ("Invités", ", ".join(invited)),
        ("Préparation", b.notes_preparation),
        ("Synthèse", b.synthese),
    ):
        if value or label == "Préparation":
            rows.append((label, value or "-"))
    rows.append(("Rédigée par", inp.professional_name(b.redige_par) or "-"))
    return rows


def birthplace_text(inp: ExportInput) -> str:
    """The birthplace for a reader: the town's name (with its department), the INSEE code only
    when the commune table does not know it."""
    code = inp.person.birthplace_insee
    if not code:
        return ""
    if code.startswith("99"):
        return f"à l'étranger (code pays INSEE {code})"
    name = communes.name_of(code)
    return name if name else f"commune de code INSEE {code}"
