"""The French sentences the documents (PDF, DOCX) and the FHIR texts share for rules 2, 5 and 7
of ``docs/domain-rules.md``: the participation, the agreement and result of an objective, an
action's modalities and trial. Labels come from :mod:`editor.catalogue` (one source)."""

from __future__ import annotations

from editor.catalogue import ENUM_LABELS
from editor.schema import (
    AccordObjectif,
    Action,
    BesoinCommunication,
    DecisionEssai,
    ModaliteGroupe,
    ModaliteLieu,
    Objectif,
    PresenceReunion,
    Priorite,
    ResultatObjectif,
    StatutAction,
)
from exports import _common as c
from exports.context import ExportInput


def _label(value: object) -> str:
    return ENUM_LABELS[type(value)][str(value)]  # type: ignore[index]


def objective_result(inp: ExportInput, o: Objectif) -> str:
    """ "Partiellement atteint, évalué le 20 novembre 2026 par X : comment" ('' if not)."""
    if o.bilan_resultat is ResultatObjectif.NON_EVALUE:
        return ""
    text = _label(o.bilan_resultat)
    if o.bilan_date:
        text += f", évalué le {c.fr_date(o.bilan_date)}"
    if o.bilan_evalue_par:
        text += f" par {inp.professional_name(o.bilan_evalue_par)}"
    if o.bilan_commentaire:
        text += f" : {o.bilan_commentaire}"
    return text


def objective_rows(inp: ExportInput, o: Objectif) -> list[tuple[str, str]]:
    """Indicator, priority, the person's agreement, the result (only what is said)."""
    rows = [("Indicateur", o.indicateur)]
    if o.priorite is not Priorite.NON_DEFINIE:
        rows.append(("Priorité", _label(o.priorite)))
    if o.accord_usager is not AccordObjectif.NON_EXPRIME:
        rows.append(("Accord de la personne", _label(o.accord_usager)))
    rows.append(("Bilan de l'objectif", objective_result(inp, o)))
    return [(k, v) for k, v in rows if v]


def action_rows(a: Action) -> list[tuple[str, str]]:
    """Modalities, responsible structure, partners, trial end and decision."""
    modes = [
        _label(m)
        for m in (a.modalite_groupe, a.modalite_lieu)
        if m not in (ModaliteGroupe.NON_PRECISEE, ModaliteLieu.NON_PRECISEE)
    ]
    trial = ""
    if a.statut is StatutAction.ESSAI or a.date_fin_essai is not None:
        trial = f"jusqu'au {c.fr_date(a.date_fin_essai)}" if a.date_fin_essai else "sans date"
        if a.decision_essai is not DecisionEssai.EN_ATTENTE:
            trial += f" - {_label(a.decision_essai)}"
    rows = [
        ("Modalités", ", ".join(modes)),
        ("Structure responsable", a.structure_responsable),
        ("Partenaires extérieurs", a.partenaires),
        ("Essai", trial),
    ]
    return [(k, v) for k, v in rows if v]


def participation_rows(inp: ExportInput) -> list[tuple[str, str]]:
    """The project's referent and meeting, the person's participation and needs."""
    p = inp.content.projet
    people = [inp.professional_name(m) for m in p.participants_reunion]
    if p.participants_reunion_autres.strip():
        people.append(" ".join(p.participants_reunion_autres.split()))
    needs = [_label(BesoinCommunication(n)) for n in p.besoins_communication]
    confidence = inp.professional_name(p.personne_confiance_id) or p.personne_confiance
    rows = [
        ("Référent du projet", inp.professional_name(p.referent_id)),
        ("Réunion de projet", c.fr_date(p.date_reunion) if p.date_reunion else ""),
        ("Participants", ", ".join(people)),
        (
            "Participation de la personne",
            ""
            if p.presence_personne is PresenceReunion.NON_RENSEIGNE
            else _label(p.presence_personne),
        ),
        ("Besoins de communication", ", ".join(needs)),
        ("Personne de confiance", confidence),
    ]
    return [(k, v) for k, v in rows if v]
