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
from datetime import date
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints

if TYPE_CHECKING:
    from editor.terminology import Terminology

ItemId = Annotated[str, StringConstraints(min_length=1, max_length=64)]
"""Stable identifier of a list item (UUID text for new items; any short string is accepted)."""


def _not_a_number(value: object) -> object:
    # pydantic would read a number as a Unix time: the schema says ISO text (AAAA-MM-JJ).
    if isinstance(value, int | float):
        raise ValueError("date attendue (AAAA-MM-JJ)")
    return value


IsoDate = Annotated[date, BeforeValidator(_not_a_number)]
"""A calendar day, as ISO text (``YYYY-MM-DD``) or a ``date``; never a number."""

HourMinute = Annotated[str, StringConstraints(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")]
"""Time of day, ``HH:MM`` (24 h, Europe/Paris local time)."""


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
    STRUCTURE = "structure"
    PERSONNE = "personne"


class ModeAccord(StrEnum):
    """How an agreement was given. ``signe``/``oral``/``refuse``/``non_sollicite``."""

    SIGNE = "signe"
    ORAL = "oral"
    REFUSE = "refuse"
    NON_SOLLICITE = "non_sollicite"


class Projet(_Model):
    """The project itself (TDDUI CarePlan): title, type TRE_R390, period, communication."""

    titre: str = ""
    type: str = "PPA"
    date_debut: IsoDate | None = None
    date_fin: IsoDate | None = None
    modalite_communication: str = ""


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
    code: str | None = None
    description: str = ""
    analyse: str = ""


class Objectif(_Model):
    """An objective (Goal tddui-goal-objectif). Must address exactly one besoin (validation)."""

    id: ItemId = Field(default_factory=new_id)
    titre: str = ""
    description: str = ""
    besoin_ids: list[ItemId] = Field(default_factory=list)
    domaine: str = ""
    date_debut: IsoDate | None = None
    date_echeance: IsoDate | None = None
    resultat_attendu: str = ""
    strategie: str = ""
    referent_id: str | None = None
    avis_usager: str = ""
    statut: StatutObjectif = StatutObjectif.EN_PREPARATION


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
    objectif_ids: list[ItemId] = Field(default_factory=list)
    prestations: list[str] = Field(default_factory=list)
    """SERAFIN-PH prestation codes (2.x directes, 3.x indirectes)."""
    referent_id: str | None = None
    intervenant_ids: list[str] = Field(default_factory=list)
    date_debut: IsoDate | None = None
    date_fin: IsoDate | None = None
    planning: Planning | None = None
    statut: StatutAction = StatutAction.EN_PREPARATION
    resultat_attendu: str = ""
    avis_usager: str = ""


class Moyen(_Model):
    """A means / resource (Task tddui-task-moyen-ressource)."""

    id: ItemId = Field(default_factory=new_id)
    type: TypeMoyen = TypeMoyen.AUTRE
    description: str = ""


class Bilan(_Model):
    """Evaluation (Task tddui-task-bilan): dates and preparation notes."""

    date_evaluation: IsoDate | None = None
    prochaine_revision: IsoDate | None = None
    notes_preparation: str = ""
    redige_par: str = ""


class Accord(_Model):
    """An agreement (Consent tddui-consent-accord): the structure's (required) or the person's."""

    id: ItemId = Field(default_factory=new_id)
    type: TypeAccord = TypeAccord.STRUCTURE
    mode: ModeAccord = ModeAccord.SIGNE
    par: str = ""
    """Who gave it (name, or the id of a professional / member)."""
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


class Problem(BaseModel):
    """A business-rule problem found by :func:`validate`.

    ``path`` names the field by **item id**, so that it stays right while others insert or delete
    items: ``collection[<item id>].field``, with ``[<index>]`` appended for one element of an id or
    code list (``actions[<id>].prestations[1]``), ``planning.`` for the schedule
    (``actions[<id>].planning.jours``), and ``projet.<field>`` / ``bilan.<field>`` for the
    singletons. ``item_id`` repeats the id (``None`` for projet/bilan). ``code`` is a stable
    machine key; ``message`` is French, short, and names the item by its title when it has one.
    """

    model_config = ConfigDict(frozen=True)

    path: str
    code: str
    message: str
    item_id: str | None = None


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
    }
)
"""Every ``Problem.code`` that :func:`validate` can return."""


def _name(noun: str, title: str, position: int) -> str:
    """``L'objectif « Titre »`` or ``L'objectif n°3`` (``noun`` carries its article)."""
    title = " ".join(title.split())
    if title:
        short = title if len(title) <= 60 else title[:59] + "…"
        return f"{noun} « {short} »"
    return f"{noun} n°{position + 1}"


def validate(
    content: PPAContent,
    *,
    accepted_codes: frozenset[str] = frozenset(),
    terminology: Terminology | None = None,
    member_ids: frozenset[str] | None = None,
) -> list[Problem]:
    """Every business-rule problem of ``content`` (``[]`` when none), in document order.

    ``accepted_codes``: deprecated SERAFIN-PH codes carried over from an import or a previous
    version, still allowed. ``terminology``: the SERAFIN-PH nomenclature (default: the shipped one).
    ``member_ids``: when given, ``referent_id`` / ``intervenant_ids`` must be among them.
    """
    from editor.terminology import terminology as default_terminology

    term = terminology if terminology is not None else default_terminology()
    problems: list[Problem] = []

    def add(path: str, code: str, message: str, item_id: str | None = None) -> None:
        problems.append(Problem(path=path, code=code, message=message, item_id=item_id))

    def check_code(path: str, code: str, item_id: str, *, want_besoin: bool, who: str) -> None:
        concept = term.get(code)
        if concept is None:
            add(path, "unknown_code", f"{who} : code SERAFIN-PH « {code} » inconnu.", item_id)
            return
        if want_besoin and not concept.is_besoin:
            add(
                path,
                "not_a_besoin",
                f"{who} : « {code} » est une prestation, pas un besoin (codes 1.x).",
                item_id,
            )
        elif not want_besoin and concept.is_besoin:
            add(
                path,
                "not_a_prestation",
                f"{who} : « {code} » est un besoin, pas une prestation (codes 2.x ou 3.x).",
                item_id,
            )
        if concept.deprecated and code not in accepted_codes:
            add(
                path,
                "deprecated_code",
                f"{who} : le code « {code} » est obsolète, choisissez un code actif"
                + (f" (par exemple « {concept.parent} »)." if concept.parent else "."),
                item_id,
            )

    def check_dates(
        path: str,
        start: date | None,
        end: date | None,
        who: str,
        item_id: str | None = None,
    ) -> None:
        if start is not None and end is not None and end < start:
            add(
                path,
                "dates_inverted",
                f"{who} : la date de fin ({end:%d/%m/%Y}) précède la date de début "
                f"({start:%d/%m/%Y}).",
                item_id,
            )

    def check_period(path: str, day: date | None, who: str, item_id: str) -> None:
        p = content.projet
        if day is None or (p.date_debut and p.date_fin and p.date_fin < p.date_debut):
            return  # no date, or no usable period (reported on the projet)
        if (p.date_debut is not None and day < p.date_debut) or (
            p.date_fin is not None and day > p.date_fin
        ):
            add(
                path,
                "outside_projet_period",
                f"{who} : la date du {day:%d/%m/%Y} est hors de la période du projet.",
                item_id,
            )

    def check_member(path: str, member: str | None, who: str, item_id: str) -> None:
        if member_ids is not None and member is not None and member not in member_ids:
            add(
                path,
                "unknown_member",
                f"{who} : la personne désignée ne fait pas partie du cercle.",
                item_id,
            )

    def check_refs(
        path: str, refs: list[str], known: set[str], code: str, what: str, who: str, item_id: str
    ) -> None:
        seen: set[str] = set()
        for index, ref in enumerate(refs):
            if ref in seen:
                add(
                    f"{path}[{index}]",
                    "duplicate_reference",
                    f"{who} : {what} est cité deux fois.",
                    item_id,
                )
            elif ref not in known:
                add(f"{path}[{index}]", code, f"{who} : {what} référencé n'existe plus.", item_id)
            seen.add(ref)

    # Duplicate ids, per collection.
    for collection in ("attentes", "besoins", "objectifs", "actions", "moyens", "accords"):
        seen_ids: set[str] = set()
        for item in getattr(content, collection):
            if item.id in seen_ids:
                add(
                    f"{collection}[{item.id}]",
                    "duplicate_id",
                    f"Deux éléments de « {collection} » ont le même identifiant.",
                    item.id,
                )
            seen_ids.add(item.id)

    projet = content.projet
    check_dates("projet.date_fin", projet.date_debut, projet.date_fin, "Le projet")

    for index, besoin in enumerate(content.besoins):
        concept = term.get(besoin.code) if besoin.code else None
        label = besoin.description or (concept.label if concept is not None else "")
        who = _name("Le besoin", label, index)
        path = f"besoins[{besoin.id}].code"
        if besoin.code is None or not besoin.code.strip():
            add(
                path,
                "besoin_uncoded",
                f"{who} doit être codé avec la nomenclature SERAFIN-PH.",
                besoin.id,
            )
        else:
            check_code(path, besoin.code, besoin.id, want_besoin=True, who=who)

    besoin_ids = {b.id for b in content.besoins}
    for index, objectif in enumerate(content.objectifs):
        who = _name("L'objectif", objectif.titre, index)
        base = f"objectifs[{objectif.id}]"
        oid = objectif.id
        if not objectif.titre.strip():
            add(f"{base}.titre", "missing_title", f"{who} n'a pas de titre.", oid)
        distinct = set(objectif.besoin_ids)
        if not distinct:
            add(
                f"{base}.besoin_ids",
                "objectif_without_besoin",
                f"{who} doit répondre à un besoin.",
                oid,
            )
        elif len(distinct) > 1:
            add(
                f"{base}.besoin_ids",
                "objectif_multiple_besoins",
                f"{who} doit répondre à un seul besoin ({len(distinct)} indiqués) : "
                "créez un objectif par besoin.",
                oid,
            )
        check_refs(
            f"{base}.besoin_ids",
            objectif.besoin_ids,
            besoin_ids,
            "missing_besoin",
            "le besoin",
            who,
            oid,
        )
        check_dates(f"{base}.date_echeance", objectif.date_debut, objectif.date_echeance, who, oid)
        check_period(f"{base}.date_debut", objectif.date_debut, who, oid)
        check_period(f"{base}.date_echeance", objectif.date_echeance, who, oid)
        check_member(f"{base}.referent_id", objectif.referent_id, who, oid)

    objectif_ids = {o.id for o in content.objectifs}
    for index, action in enumerate(content.actions):
        who = _name("L'action", action.titre, index)
        base = f"actions[{action.id}]"
        aid = action.id
        if not action.titre.strip():
            add(f"{base}.titre", "missing_title", f"{who} n'a pas de titre.", aid)
        if not action.objectif_ids:
            add(
                f"{base}.objectif_ids",
                "action_without_objectif",
                f"{who} doit servir au moins un objectif.",
                aid,
            )
        check_refs(
            f"{base}.objectif_ids",
            action.objectif_ids,
            objectif_ids,
            "missing_objectif",
            "l'objectif",
            who,
            aid,
        )
        seen_codes: set[str] = set()
        for pos, code in enumerate(action.prestations):
            path = f"{base}.prestations[{pos}]"
            if code in seen_codes:
                add(
                    path,
                    "duplicate_reference",
                    f"{who} : la prestation « {code} » est citée deux fois.",
                    aid,
                )
                continue
            seen_codes.add(code)
            check_code(path, code, aid, want_besoin=False, who=who)
        check_dates(f"{base}.date_fin", action.date_debut, action.date_fin, who, aid)
        check_period(f"{base}.date_debut", action.date_debut, who, aid)
        check_period(f"{base}.date_fin", action.date_fin, who, aid)
        check_member(f"{base}.referent_id", action.referent_id, who, aid)
        for pos, member in enumerate(action.intervenant_ids):
            check_member(f"{base}.intervenant_ids[{pos}]", member, who, aid)
        planning = action.planning
        if planning is not None:
            if planning.frequence is Frequence.HEBDOMADAIRE and not planning.jours:
                add(
                    f"{base}.planning.jours",
                    "planning_weekly_without_days",
                    f"{who} : indiquez les jours de la semaine du rythme hebdomadaire.",
                    aid,
                )
            if planning.duree_minutes is not None and planning.heure_debut is None:
                add(
                    f"{base}.planning.heure_debut",
                    "planning_duration_without_time",
                    f"{who} : une durée est indiquée sans heure de début.",
                    aid,
                )
            if action.date_debut is None:
                add(
                    f"{base}.date_debut",
                    "planning_without_start_date",
                    f"{who} : le planning demande une date de début.",
                    aid,
                )

    bilan = content.bilan
    check_dates(
        "bilan.prochaine_revision",
        bilan.date_evaluation,
        bilan.prochaine_revision,
        "Le bilan",
    )
    return problems
