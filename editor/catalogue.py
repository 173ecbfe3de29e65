"""The one catalogue of the content's fields and French labels, for Python and the browser.

Every model's field list with its CRDT storage kind (:data:`FIELDS`, what
:mod:`editor.crdt` enforces and the browser's item factories create), the French label of every
field (:data:`FIELD_LABELS`, used by diffs) and of every enum value of the content model
(:data:`ENUM_LABELS`). The browser gets them at build time: ``editor/web/build.mjs`` runs
``python -m server.labels --json`` (this catalogue plus the API's labels) into
``editor/web/src/generated/catalogue.json`` (not committed); ``docs/document-schema.md`` is
checked against it by ``tests/editor/test_catalogue.py``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from enum import Enum, StrEnum
from typing import Any, Final

from pydantic import BaseModel

from editor.schema import (
    SEVERITY_LABELS,
    TYPES_PROJET,
    Accord,
    AccordObjectif,
    Action,
    Attente,
    Besoin,
    BesoinCommunication,
    Bilan,
    DecisionEssai,
    Frequence,
    Jour,
    ModaliteGroupe,
    ModaliteLieu,
    ModeAccord,
    Moyen,
    Objectif,
    OrigineAttente,
    Planning,
    PPAContent,
    PresenceReunion,
    Priorite,
    Projet,
    ResultatObjectif,
    Severity,
    StatutAction,
    StatutObjectif,
    TypeAccord,
    TypeMoyen,
)
from editor.terminology import Kind


class FieldKind(Enum):
    """How one model field is stored in the CRDT."""

    TEXT = "Text"
    """``Text`` (``Y.Text``), plain text."""
    STRING = "string"
    """A plain string value."""
    OPTIONAL_STRING = "string|null"
    DATE = "date"
    """``"YYYY-MM-DD"`` string or ``null``."""
    ENUM = "enum"
    """A plain string, one of the enum's values."""
    INTEGER = "integer"
    """A number with an integral value."""
    OPTIONAL_INTEGER = "integer|null"
    OPTIONAL_TIME = "time|null"
    """``"HH:MM"`` string or ``null``."""
    STRING_ARRAY = "Array<string>"
    """``Array`` (``Y.Array``) of plain strings."""
    OPTIONAL_MAP = "Map|null"
    """A nested ``Map`` (``Y.Map``) or ``null``."""
    ID = "id"
    """The item id: non-empty string of at most 64 characters."""


K = FieldKind

FIELDS: Final[dict[type[BaseModel], dict[str, FieldKind]]] = {
    Projet: {
        "titre": K.TEXT,
        "type": K.STRING,
        "date_debut": K.DATE,
        "date_fin": K.DATE,
        "modalite_communication": K.TEXT,
        "motif_sans_projet_de_vie": K.TEXT,
        "referent_id": K.OPTIONAL_STRING,
        "date_reunion": K.DATE,
        "participants_reunion": K.STRING_ARRAY,
        "participants_reunion_autres": K.TEXT,
        "presence_personne": K.ENUM,
        "besoins_communication": K.STRING_ARRAY,
        "personne_confiance_id": K.OPTIONAL_STRING,
        "personne_confiance": K.TEXT,
    },
    Attente: {"id": K.ID, "origine": K.ENUM, "texte": K.TEXT},
    Besoin: {
        "id": K.ID,
        "code": K.OPTIONAL_STRING,
        "description": K.TEXT,
        "analyse": K.TEXT,
        "motif_sans_objectif": K.TEXT,
    },
    Objectif: {
        "id": K.ID,
        "titre": K.TEXT,
        "description": K.TEXT,
        "besoin_ids": K.STRING_ARRAY,
        "domaine": K.TEXT,
        "date_debut": K.DATE,
        "date_echeance": K.DATE,
        "resultat_attendu": K.TEXT,
        "strategie": K.TEXT,
        "referent_id": K.OPTIONAL_STRING,
        "avis_usager": K.TEXT,
        "statut": K.ENUM,
        "indicateur": K.TEXT,
        "priorite": K.ENUM,
        "accord_usager": K.ENUM,
        "bilan_resultat": K.ENUM,
        "bilan_date": K.DATE,
        "bilan_evalue_par": K.OPTIONAL_STRING,
        "bilan_commentaire": K.TEXT,
    },
    Planning: {
        "frequence": K.ENUM,
        "intervalle": K.INTEGER,
        "jours": K.STRING_ARRAY,
        "heure_debut": K.OPTIONAL_TIME,
        "duree_minutes": K.OPTIONAL_INTEGER,
        "lieu": K.TEXT,
    },
    Action: {
        "id": K.ID,
        "titre": K.TEXT,
        "description": K.TEXT,
        "objectif_ids": K.STRING_ARRAY,
        "prestations": K.STRING_ARRAY,
        "referent_id": K.OPTIONAL_STRING,
        "intervenant_ids": K.STRING_ARRAY,
        "date_debut": K.DATE,
        "date_fin": K.DATE,
        "planning": K.OPTIONAL_MAP,
        "statut": K.ENUM,
        "resultat_attendu": K.TEXT,
        "avis_usager": K.TEXT,
        "structure_responsable": K.TEXT,
        "partenaires": K.TEXT,
        "modalite_groupe": K.ENUM,
        "modalite_lieu": K.ENUM,
        "date_fin_essai": K.DATE,
        "decision_essai": K.ENUM,
    },
    Moyen: {
        "id": K.ID,
        "type": K.ENUM,
        "description": K.TEXT,
        "action_ids": K.STRING_ARRAY,
        "date_debut": K.DATE,
        "date_fin": K.DATE,
        "financement": K.TEXT,
    },
    Bilan: {
        "date_evaluation": K.DATE,
        "prochaine_revision": K.DATE,
        "notes_preparation": K.TEXT,
        "redige_par": K.STRING,
        "date_evaluation_prevue": K.DATE,
        "synthese": K.TEXT,
        "perimetre": K.TEXT,
        "invites_ids": K.STRING_ARRAY,
        "invites_autres": K.TEXT,
    },
    Accord: {
        "id": K.ID,
        "type": K.ENUM,
        "mode": K.ENUM,
        "par": K.STRING,
        "membre_id": K.OPTIONAL_STRING,
        "temoin": K.STRING,
        "date": K.DATE,
        "motif": K.TEXT,
    },
}
"""Layout of every model: field name -> storage kind, in model order (every field, nothing else)."""

SECTIONS: Final[dict[str, type[BaseModel]]] = {
    "projet": Projet,
    "attentes": Attente,
    "besoins": Besoin,
    "objectifs": Objectif,
    "actions": Action,
    "planning": Planning,
    "moyens": Moyen,
    "bilan": Bilan,
    "accords": Accord,
}
"""The model of each section (``planning``: an action's schedule), by its document name."""

FIELD_LABELS: Final[dict[str, str]] = {
    "titre": "titre",
    "description": "description",
    "texte": "texte",
    "origine": "origine",
    "code": "code SERAFIN-PH",
    "analyse": "analyse",
    "besoin_ids": "besoin traité",
    "domaine": "domaine",
    "date_debut": "date de début",
    "date_echeance": "échéance",
    "date_fin": "date de fin",
    "resultat_attendu": "résultat attendu",
    "strategie": "stratégie",
    "referent_id": "référent",
    "avis_usager": "avis de la personne",
    "statut": "statut",
    "objectif_ids": "objectifs servis",
    "prestations": "prestations",
    "intervenant_ids": "intervenants",
    "planning": "planning",
    "planning.frequence": "fréquence",
    "planning.intervalle": "intervalle",
    "planning.jours": "jours",
    "planning.heure_debut": "heure",
    "planning.duree_minutes": "durée",
    "planning.lieu": "lieu",
    "type": "type",
    "mode": "mode",
    "par": "donné par",
    "temoin": "témoin",
    "date": "date",
    "motif": "motif",
    "modalite_communication": "modalité de communication",
    "date_evaluation": "date d'évaluation",
    "prochaine_revision": "prochaine révision",
    "notes_preparation": "notes de préparation",
    "redige_par": "rédigé par",
    "projet_de_vie": "projet de vie",
    "motif_sans_projet_de_vie": "motif de l'absence de projet de vie",
    "motif_sans_objectif": "motif de l'absence d'objectif",
    # rules 2, 5, 7 (docs/domain-rules.md)
    "date_reunion": "date de la réunion de projet",
    "participants_reunion": "participants à la réunion de projet",
    "participants_reunion_autres": "autres participants à la réunion",
    "presence_personne": "présence de la personne à la réunion",
    "besoins_communication": "besoins de communication",
    "personne_confiance_id": "personne de confiance (membre du cercle)",
    "personne_confiance": "personne de confiance",
    "indicateur": "indicateur",
    "priorite": "priorité",
    "accord_usager": "accord de la personne",
    "bilan_resultat": "résultat à l'évaluation",
    "bilan_date": "date d'évaluation",
    "bilan_evalue_par": "évalué par",
    "bilan_commentaire": "commentaire d'évaluation",
    "structure_responsable": "structure responsable",
    "partenaires": "partenaires extérieurs",
    "modalite_groupe": "individuelle ou collective",
    "modalite_lieu": "sur place ou à distance",
    "date_fin_essai": "fin de l'essai",
    "decision_essai": "décision à la fin de l'essai",
    "action_ids": "actions servies",
    "financement": "financement",
    "date_evaluation_prevue": "date d'évaluation prévue",
    "synthese": "synthèse du bilan",
    "perimetre": "périmètre du bilan",
    "invites_ids": "invités au bilan",
    "invites_autres": "autres invités au bilan",
    "membre_id": "membre du cercle",
}
"""French labels of the content fields (dotted names for the planning's fields)."""

ENUM_LABELS: Final[dict[type[StrEnum], dict[str, str]]] = {
    OrigineAttente: {
        "personne": "La personne",
        "entourage": "L'entourage",
        "professionnel": "Un professionnel",
    },
    StatutObjectif: {
        "en_preparation": "En préparation",
        "actif": "Actif",
        "termine": "Terminé",
        "annule": "Annulé",
    },
    StatutAction: {
        "en_preparation": "En préparation",
        "essai": "À l'essai",
        "actif": "Actif",
        "termine": "Terminé",
        "annule": "Annulé",
    },
    Frequence: {
        "ponctuelle": "Ponctuelle",
        "quotidienne": "Quotidienne",
        "hebdomadaire": "Hebdomadaire",
        "mensuelle": "Mensuelle",
    },
    Jour: {
        "MO": "Lundi",
        "TU": "Mardi",
        "WE": "Mercredi",
        "TH": "Jeudi",
        "FR": "Vendredi",
        "SA": "Samedi",
        "SU": "Dimanche",
    },
    TypeMoyen: {
        "humain": "Humain",
        "materiel": "Matériel",
        "financier": "Financier",
        "autre": "Autre",
    },
    TypeAccord: {
        "structure": "Accord de la structure",
        "personne": "Accord de la personne",
        "representant": "Accord du représentant légal",
    },
    ModeAccord: {
        "signe": "Signé",
        "oral": "Oral (avec témoin)",
        "refuse": "Refusé",
        "non_sollicite": "Non sollicité",
    },
    PresenceReunion: {
        "non_renseigne": "Pas encore indiqué",
        "presente": "Présente à la réunion de projet",
        "absente": "Absente de la réunion de projet",
    },
    BesoinCommunication: {
        "falc": "FALC (facile à lire et à comprendre)",
        "lsf": "LSF (langue des signes française)",
        "caa": "CAA (communication alternative et améliorée)",
    },
    AccordObjectif: {
        "non_exprime": "Non exprimé",
        "accord": "D'accord",
        "desaccord": "Pas d'accord",
    },
    Priorite: {
        "non_definie": "Non définie",
        "haute": "Haute",
        "moyenne": "Moyenne",
        "basse": "Basse",
    },
    ResultatObjectif: {
        "non_evalue": "Non évalué",
        "atteint": "Atteint",
        "partiellement_atteint": "Partiellement atteint",
        "non_atteint": "Non atteint",
        "abandonne": "Abandonné",
    },
    ModaliteGroupe: {
        "non_precisee": "Non précisée",
        "individuelle": "Individuelle",
        "collective": "Collective",
    },
    ModaliteLieu: {
        "non_precisee": "Non précisée",
        "presentiel": "Sur place",
        "distance": "À distance",
    },
    DecisionEssai: {
        "en_attente": "En attente de décision",
        "stabilisee": "Stabilisée",
        "prolongee": "Essai prolongé",
        "arretee": "Arrêtée",
    },
}
"""French label of every value of every enum of the content model (the editor's choices)."""

SERAFIN_KIND_LABELS: Final[dict[Kind, str]] = {
    Kind.BESOIN: "Besoin",
    Kind.PRESTATION_DIRECTE: "Prestation directe",
    Kind.PRESTATION_INDIRECTE: "Prestation indirecte",
}
"""French label of each part of the SERAFIN-PH nomenclature."""

PROJET_TYPE_LABELS: Final[dict[str, str]] = dict(TYPES_PROJET)
"""The editor's choices for ``projet.type``: the TRE_R390 codes and their official displays."""

PROBLEM_SEVERITY_LABELS: Final[dict[Severity, str]] = dict(SEVERITY_LABELS)
"""French label of each severity of a validation problem."""

FREQUENCE_UNITS: Final[dict[str, str]] = {
    "ponctuelle": "fois",
    "quotidienne": "jour(s)",
    "hebdomadaire": "semaine(s)",
    "mensuelle": "mois",
}
"""Unit of an action's interval, per frequency (``tous les 2 semaine(s)``)."""


def _default(model: type[BaseModel], name: str) -> Any:
    """The JSON default of a field (``None`` for ids, which the writer creates)."""
    if name == "id":
        return None
    return model.model_fields[name].get_default(call_default_factory=True)


def catalogue_json() -> dict[str, Any]:
    """Return the catalogue as plain JSON (what the browser build embeds)."""
    return {
        "roots": list(PPAContent.model_fields),
        "fields": {
            section: [
                {
                    "name": name,
                    "kind": kind.value,
                    "default": _json_default(_default(model, name)),
                }
                for name, kind in FIELDS[model].items()
            ]
            for section, model in SECTIONS.items()
        },
        "field_labels": FIELD_LABELS,
        "enum_labels": {enum.__name__: labels for enum, labels in ENUM_LABELS.items()},
        "frequence_units": FREQUENCE_UNITS,
        "serafin_kind_labels": {kind.value: label for kind, label in SERAFIN_KIND_LABELS.items()},
        "projet_type_labels": PROJET_TYPE_LABELS,
        "problem_severity_labels": {
            severity.value: label for severity, label in PROBLEM_SEVERITY_LABELS.items()
        },
    }


def _json_default(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, Enum):
        return value.value
    return value


def print_json(argv: list[str], module: str, payload: Callable[[], dict[str, Any]]) -> int:
    """``python -m <module> --json``: print ``payload()`` as JSON (exit 2 with usage otherwise)."""
    if argv != ["--json"]:
        sys.stderr.write(f"usage: python -m {module} --json\n")
        return 2
    sys.stdout.write(json.dumps(payload(), ensure_ascii=False, indent=1) + "\n")
    return 0


def main(argv: list[str]) -> int:
    """``python -m editor.catalogue --json``: print the content catalogue."""
    return print_json(argv, "editor.catalogue", catalogue_json)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
