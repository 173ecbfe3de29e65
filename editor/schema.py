"""Typed content model of a PPA (Projet Personnalisé d'Accompagnement).

Names follow the ANS TDDUI concepts (projet, projet de vie, attentes, besoins, objectifs, actions,
moyens, bilan, accords). Every list item carries a stable ``id`` (a UUID string chosen by the
writer) so that concurrent edits, diffs between versions and exports can refer to it.

The model is deliberately permissive about *business* rules (an objective may hold zero or two
besoins, an action may point to a missing objective): such documents can exist transiently while
a team co-edits. :func:`validate` (below) reports every such problem with a path and a
French message. The model is strict about *shape* (types, enums, unknown keys), which is what the
CRDT schema guard enforces.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Final, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints

if TYPE_CHECKING:
    from editor.terminology import Terminology

ItemId = Annotated[str, StringConstraints(min_length=1, max_length=64)]
"""Stable identifier of a list item (UUID text for new items; any short string is accepted)."""


@dataclass(frozen=True)
class Semantic:
    """Field metadata: what a string holds when it is not free text.

    ``code``: a SERAFIN-PH code; ``link``: the id of an item of the document or of a person;
    ``value``: a coded value compared as a whole. Diffs derive their field kinds from it.
    """

    kind: Literal["code", "link", "value"]


def _not_a_number(value: object) -> object:
    # pydantic would read a number as a Unix time: the schema says ISO text (AAAA-MM-JJ).
    if isinstance(value, int | float):
        raise ValueError("date attendue (AAAA-MM-JJ)")
    return value


IsoDate = Annotated[date, BeforeValidator(_not_a_number)]
"""A calendar day, as ISO text (``YYYY-MM-DD``) or a ``date``; never a number."""

HourMinute = Annotated[
    str, StringConstraints(pattern=r"^([01]\d|2[0-3]):[0-5]\d$"), Semantic("value")
]
"""Time of day, ``HH:MM`` (24 h, Europe/Paris local time)."""

SerafinCode = Annotated[str, Semantic("code")]
"""A SERAFIN-PH code (``1.1.1.1`` besoin, ``2.x`` / ``3.x`` prestation)."""

ItemRef = Annotated[ItemId, Semantic("link")]
"""The id of another item of the document."""

MemberRef = Annotated[str, Semantic("link")]
"""The id of a member of the person's cercle."""


def new_id() -> str:
    """Return a fresh item id."""
    return str(uuid.uuid4())


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=False, str_strip_whitespace=False)


class OrigineAttente(StrEnum):
    """Who expressed an expectation (TDDUI: attente usager / entourage / professionnel)."""

    PERSONNE = "personne"
    ENTOURAGE = "entourage"
    PROFESSIONNEL = "professionnel"


class StatutObjectif(StrEnum):
    """Goal.lifecycleStatus mapping in TDDUI: planned / active / completed / cancelled."""

    EN_PREPARATION = "en_preparation"
    ACTIF = "actif"
    TERMINE = "termine"
    ANNULE = "annule"


class StatutAction(StrEnum):
    """Task.status mapping in TDDUI, plus ``essai`` (trial before stabilisation)."""

    EN_PREPARATION = "en_preparation"
    ESSAI = "essai"
    ACTIF = "actif"
    TERMINE = "termine"
    ANNULE = "annule"


class Jour(StrEnum):
    """Day of the week, iCalendar BYDAY codes."""

    LUNDI = "MO"
    MARDI = "TU"
    MERCREDI = "WE"
    JEUDI = "TH"
    VENDREDI = "FR"
    SAMEDI = "SA"
    DIMANCHE = "SU"


class Frequence(StrEnum):
    """Recurrence of an action's sessions."""

    PONCTUELLE = "ponctuelle"
    QUOTIDIENNE = "quotidienne"
    HEBDOMADAIRE = "hebdomadaire"
    MENSUELLE = "mensuelle"


class TypeMoyen(StrEnum):
    HUMAIN = "humain"
    MATERIEL = "materiel"
    FINANCIER = "financier"
    AUTRE = "autre"


class TypeAccord(StrEnum):
    """Whose agreement: the structure's, the person's, or her legal representative's."""

    STRUCTURE = "structure"
    PERSONNE = "personne"
    REPRESENTANT = "representant"


class ModeAccord(StrEnum):
    """How an agreement was given. ``signe``/``oral``/``refuse``/``non_sollicite``."""

    SIGNE = "signe"
    ORAL = "oral"
    REFUSE = "refuse"
    NON_SOLLICITE = "non_sollicite"


class PresenceReunion(StrEnum):
    """Whether the person took part in the project meeting (rule 2)."""

    NON_RENSEIGNE = "non_renseigne"
    PRESENTE = "presente"
    ABSENTE = "absente"


class BesoinCommunication(StrEnum):
    """A communication need of the person (rule 2): easy-to-read, sign language, AAC."""

    FALC = "falc"
    LSF = "lsf"
    CAA = "caa"


class AccordObjectif(StrEnum):
    """The person's agreement with one objective (rule 2)."""

    NON_EXPRIME = "non_exprime"
    ACCORD = "accord"
    DESACCORD = "desaccord"


class Priorite(StrEnum):
    """Priority of an objective (rule 7)."""

    NON_DEFINIE = "non_definie"
    HAUTE = "haute"
    MOYENNE = "moyenne"
    BASSE = "basse"


class ResultatObjectif(StrEnum):
    """Result of an objective at its evaluation (rule 5)."""

    NON_EVALUE = "non_evalue"
    ATTEINT = "atteint"
    PARTIELLEMENT_ATTEINT = "partiellement_atteint"
    NON_ATTEINT = "non_atteint"
    ABANDONNE = "abandonne"


class ModaliteGroupe(StrEnum):
    """Whether an action is individual or collective (rule 7)."""

    NON_PRECISEE = "non_precisee"
    INDIVIDUELLE = "individuelle"
    COLLECTIVE = "collective"


class ModaliteLieu(StrEnum):
    """Whether an action takes place on site or remotely (rule 7)."""

    NON_PRECISEE = "non_precisee"
    PRESENTIEL = "presentiel"
    DISTANCE = "distance"


class DecisionEssai(StrEnum):
    """The decision taken at the end of an action's trial (rule 7)."""

    EN_ATTENTE = "en_attente"
    STABILISEE = "stabilisee"
    PROLONGEE = "prolongee"
    ARRETEE = "arretee"


TYPES_PROJET: Final[dict[str, str]] = {
    "PAI": "Projet d'Accompagnement Individuel",
    "PPA": "Projet Personnalisé d'Accompagnement",
    "PPIA": "Projet Personnalisé Individuel d'Accompagnement",
    "PP": "Projet Personnalisé",
    "PPI": "Projet Personnalisé Individuel",
    "PA": "Projet d'Accompagnement",
    "PI": "Projet Individuel",
}
"""The codes of TRE_R390 (type de projet personnalisé, version 20250422120000) and displays.

``Projet.type`` stays a string (documents written before the list was enforced stay readable);
validation refuses any other value (see ``docs/domain-rules.md``).
"""


class Projet(_Model):
    """The project itself (TDDUI CarePlan): title, type TRE_R390, period, communication."""

    titre: str = ""
    type: Annotated[str, Semantic("value")] = "PPA"
    """A code of :data:`TYPES_PROJET`."""
    date_debut: IsoDate | None = None
    date_fin: IsoDate | None = None
    modalite_communication: str = ""
    motif_sans_projet_de_vie: str = ""
    """Why the person has no projet de vie written (required when ``projet_de_vie`` is empty)."""
    referent_id: MemberRef | None = None
    """The project's referent (coordinator of the projet), a cercle member (rule 7)."""
    date_reunion: IsoDate | None = None
    """Day of the project meeting (réunion de projet) (rule 7)."""
    participants_reunion: list[MemberRef] = Field(default_factory=list)
    """Cercle members present at the project meeting."""
    participants_reunion_autres: str = ""
    """Other participants (not cercle members), as written."""
    presence_personne: PresenceReunion = PresenceReunion.NON_RENSEIGNE
    """Whether the person took part in the project meeting (rule 2)."""
    besoins_communication: list[BesoinCommunication] = Field(default_factory=list)
    personne_confiance_id: MemberRef | None = None
    """The personne de confiance when she is a cercle member (rule 2)."""
    personne_confiance: str = ""
    """The personne de confiance as written (name, link, contact) when not a member."""


class Attente(_Model):
    """An expectation, with its origin (Goal tddui-goal-attente)."""

    id: ItemId = Field(default_factory=new_id)
    origine: OrigineAttente = OrigineAttente.PERSONNE
    texte: str = ""


class Besoin(_Model):
    """A need coded with a SERAFIN-PH besoin (1.x, JDV_J285).

    TDDUI: ServiceRequest tddui-service-request-besoin.
    """

    id: ItemId = Field(default_factory=new_id)
    code: SerafinCode | None = None
    description: str = ""
    analyse: str = ""
    motif_sans_objectif: str = ""
    """Why no objective answers this besoin (required when none does)."""


class Objectif(_Model):
    """An objective (Goal tddui-goal-objectif). Must address exactly one besoin (validation)."""

    id: ItemId = Field(default_factory=new_id)
    titre: str = ""
    description: str = ""
    besoin_ids: list[ItemRef] = Field(default_factory=list)
    domaine: str = ""
    date_debut: IsoDate | None = None
    date_echeance: IsoDate | None = None
    resultat_attendu: str = ""
    strategie: str = ""
    referent_id: MemberRef | None = None
    avis_usager: str = ""
    statut: StatutObjectif = StatutObjectif.EN_PREPARATION
    indicateur: str = ""
    """How the result is measured (rule 7)."""
    priorite: Priorite = Priorite.NON_DEFINIE
    accord_usager: AccordObjectif = AccordObjectif.NON_EXPRIME
    """The person's agreement with this objective (rule 2); her words in ``avis_usager``."""
    bilan_resultat: ResultatObjectif = ResultatObjectif.NON_EVALUE
    """Result at the evaluation (rule 5)."""
    bilan_date: IsoDate | None = None
    """Day the objective **was** evaluated (never a planned day)."""
    bilan_evalue_par: MemberRef | None = None
    bilan_commentaire: str = ""


class Planning(_Model):
    """Schedule of an action: one recurring slot (time, duration, days, place)."""

    frequence: Frequence = Frequence.HEBDOMADAIRE
    intervalle: int = Field(default=1, ge=1, le=52)
    jours: list[Jour] = Field(default_factory=list)
    heure_debut: HourMinute | None = None
    duree_minutes: int | None = Field(default=None, ge=1, le=24 * 60)
    lieu: str = ""


class Action(_Model):
    """An action / modalité d'accompagnement (Task tddui-task-action) and its prestations."""

    id: ItemId = Field(default_factory=new_id)
    titre: str = ""
    description: str = ""
    objectif_ids: list[ItemRef] = Field(default_factory=list)
    prestations: list[SerafinCode] = Field(default_factory=list)
    """SERAFIN-PH prestation codes (2.x directes, 3.x indirectes)."""
    referent_id: MemberRef | None = None
    intervenant_ids: list[MemberRef] = Field(default_factory=list)
    date_debut: IsoDate | None = None
    date_fin: IsoDate | None = None
    planning: Planning | None = None
    statut: StatutAction = StatutAction.EN_PREPARATION
    resultat_attendu: str = ""
    avis_usager: str = ""
    structure_responsable: str = ""
    """The structure responsible for the action (name, FINESS) when not the PPA's (rule 7)."""
    partenaires: str = ""
    """External partners who are not cercle members (a club, an association...)."""
    modalite_groupe: ModaliteGroupe = ModaliteGroupe.NON_PRECISEE
    modalite_lieu: ModaliteLieu = ModaliteLieu.NON_PRECISEE
    date_fin_essai: IsoDate | None = None
    """End of the trial of an action ``essai`` (required for one)."""
    decision_essai: DecisionEssai = DecisionEssai.EN_ATTENTE


class Moyen(_Model):
    """A means / resource (Task tddui-task-moyen-ressource)."""

    id: ItemId = Field(default_factory=new_id)
    type: TypeMoyen = TypeMoyen.AUTRE
    description: str = ""
    action_ids: list[ItemRef] = Field(default_factory=list)
    """The actions this means serves (rule 7)."""
    date_debut: IsoDate | None = None
    date_fin: IsoDate | None = None
    financement: str = ""
    """Funding source (PCH, structure's budget, family...)."""


class Bilan(_Model):
    """Evaluation (Task tddui-task-bilan): dates, preparation notes, synthesis (rule 5)."""

    date_evaluation: IsoDate | None = None
    """Day the bilan **was** held (never a planned day: ``date_evaluation_prevue``)."""
    prochaine_revision: IsoDate | None = None
    notes_preparation: str = ""
    redige_par: str = ""
    """Author of the synthesis (a cercle member id)."""
    date_evaluation_prevue: IsoDate | None = None
    """Day the bilan is planned."""
    synthese: str = ""
    perimetre: str = ""
    """Scope of the bilan (which objectives, which part of the projet)."""
    invites_ids: list[MemberRef] = Field(default_factory=list)
    """Cercle members invited to the bilan."""
    invites_autres: str = ""
    """Other people invited (not cercle members), as written."""


class Accord(_Model):
    """An agreement (Consent tddui-consent-accord): the structure's (required) or the person's."""

    id: ItemId = Field(default_factory=new_id)
    type: TypeAccord = TypeAccord.STRUCTURE
    mode: ModeAccord = ModeAccord.SIGNE
    par: str = ""
    """Who gave it (name, or the id of a professional / member)."""
    membre_id: MemberRef | None = None
    """The cercle member who gave it (a legal representative); ``None``: the person herself
    (type ``personne``) or ``par`` (type ``structure``)."""
    temoin: str = ""
    date: IsoDate | None = None
    motif: str = ""


class PPAContent(_Model):
    """The whole editable content of a PPA: the CRDT document's projection."""

    projet: Projet = Field(default_factory=Projet)
    projet_de_vie: str = ""
    attentes: list[Attente] = Field(default_factory=list)
    besoins: list[Besoin] = Field(default_factory=list)
    objectifs: list[Objectif] = Field(default_factory=list)
    actions: list[Action] = Field(default_factory=list)
    moyens: list[Moyen] = Field(default_factory=list)
    bilan: Bilan = Field(default_factory=Bilan)
    accords: list[Accord] = Field(default_factory=list)


TOP_LEVEL_KEYS: tuple[str, ...] = tuple(PPAContent.model_fields)
"""Top-level keys of the document, in a fixed order."""


# --------------------------------------------------------------------------- validation


class Severity(StrEnum):
    """Whether a problem refuses the validation (``bloquant``) or only asks a look."""

    BLOQUANT = "bloquant"
    A_VERIFIER = "a_verifier"


SEVERITY_LABELS: Final[dict[Severity, str]] = {
    Severity.BLOQUANT: "Bloquant",
    Severity.A_VERIFIER: "À vérifier",
}
"""French label of each severity."""


class Problem(BaseModel):
    """A business-rule problem found by :func:`validate`.

    ``path`` names the field by **item id**, so that it stays right while others insert or delete
    items: ``collection[<item id>].field``, with ``[<index>]`` appended for one element of an id or
    code list (``actions[<id>].prestations[1]``), ``planning.`` for the schedule
    (``actions[<id>].planning.jours``), ``projet.<field>`` / ``bilan.<field>`` for the
    singletons, and the collection alone (``attentes``) for what is missing from it.
    ``item_id`` repeats the id (``None`` for projet/bilan). ``code`` is a stable
    machine key; ``message`` is French, short, and names the item by its title when it has one.
    ``severity``: ``bloquant`` refuses the validation, ``a_verifier`` is shown but does not.
    """

    model_config = ConfigDict(frozen=True)

    path: str
    code: str
    message: str
    item_id: str | None = None
    severity: Severity = Severity.BLOQUANT

    @property
    def blocking(self) -> bool:
        return self.severity is Severity.BLOQUANT


PROBLEM_CODES: frozenset[str] = frozenset(
    {
        "duplicate_id",
        "missing_title",
        "objectif_without_besoin",
        "objectif_multiple_besoins",
        "missing_besoin",
        "duplicate_reference",
        "besoin_uncoded",
        "unknown_code",
        "deprecated_code",
        "not_a_besoin",
        "not_a_prestation",
        "action_without_objectif",
        "missing_objectif",
        "dates_inverted",
        "outside_projet_period",
        "planning_weekly_without_days",
        "planning_duration_without_time",
        "planning_without_start_date",
        "unknown_member",
        # completeness (docs/domain-rules.md, rule 1)
        "missing_field",
        "unknown_projet_type",
        "projet_period_too_long",
        "no_attente",
        "no_attente_of_person",
        "no_besoin",
        "besoin_without_objectif",
        "objectif_without_action",
        "review_not_after_validation",
        "review_too_late",
        "review_after_projet_end",
        # coding limits (docs/domain-rules.md, rule 8)
        "besoin_too_general",
        "prestation_not_individual",
        # participation, bilan, richer items (docs/domain-rules.md, rules 2, 5, 7)
        "participation_not_recorded",
        "disagreement_without_opinion",
        "evaluation_without_result",
        "evaluation_date_in_future",
        "objectif_done_not_evaluated",
        "trial_decision_due",
        "trial_decision_inconsistent",
        "missing_action",
    }
)
"""Every ``Problem.code`` that :func:`validate` can return."""


def validate(
    content: PPAContent,
    *,
    accepted_codes: frozenset[str] = frozenset(),
    terminology: Terminology | None = None,
    member_ids: frozenset[str] | None = None,
    validated_on: date | None = None,
) -> list[Problem]:
    """Every business-rule problem of ``content`` (``[]`` when none), in document order.

    ``accepted_codes``: deprecated SERAFIN-PH codes carried over from an import or a previous
    version, still allowed. ``terminology``: the SERAFIN-PH nomenclature (default: the shipped one).
    ``member_ids``: when given, ``referent_id`` / ``intervenant_ids`` must be among them.
    ``validated_on``: the day of the validation (today for a draft), which the next review date
    is checked against; ``None`` skips those checks. Only the ``bloquant`` problems refuse a
    validation. The checks, one validator per section, live in :mod:`editor.validation` and
    :mod:`editor.completeness` and :mod:`editor.followup`.
    """
    from editor.terminology import terminology as default_terminology
    from editor.validation import validate_sections

    term = terminology if terminology is not None else default_terminology()
    return validate_sections(content, term, accepted_codes, member_ids, validated_on)
