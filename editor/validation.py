"""The business-rule checks of :func:`editor.schema.validate`, one validator per section."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from editor.schema import TOP_LEVEL_KEYS, Action, Frequence, PPAContent, Problem, Severity
from editor.terminology import JDV_TRANSPORTS_ID, Kind, Terminology


def _name(noun: str, title: str, position: int) -> str:
    """``L'objectif « Titre »`` or ``L'objectif n°3`` (``noun`` carries its article)."""
    title = " ".join(title.split())
    if title:
        short = title if len(title) <= 60 else title[:59] + "…"
        return f"{noun} « {short} »"
    return f"{noun} n°{position + 1}"


@dataclass
class _Checks:
    """The shared checks of :func:`validate`, collecting problems in the order they are found."""

    content: PPAContent
    term: Terminology
    accepted_codes: frozenset[str]
    member_ids: frozenset[str] | None
    validated_on: date | None = None
    problems: list[Problem] = field(default_factory=list)

    def add(
        self,
        path: str,
        code: str,
        message: str,
        item_id: str | None = None,
        *,
        severity: Severity = Severity.BLOQUANT,
    ) -> None:
        """Record one problem."""
        self.problems.append(
            Problem(path=path, code=code, message=message, item_id=item_id, severity=severity)
        )

    def code(self, path: str, code: str, item_id: str, *, want_besoin: bool, who: str) -> None:
        """A SERAFIN-PH code: known, of the right family (besoin or prestation), not obsolete."""
        concept = self.term.get(code)
        if concept is None:
            self.add(path, "unknown_code", f"{who} : code SERAFIN-PH « {code} » inconnu.", item_id)
            return
        if want_besoin and not concept.is_besoin:
            self.add(
                path,
                "not_a_besoin",
                f"{who} : « {code} » est une prestation, pas un besoin (codes 1.x).",
                item_id,
            )
        elif not want_besoin and concept.is_besoin:
            self.add(
                path,
                "not_a_prestation",
                f"{who} : « {code} » est un besoin, pas une prestation (codes 2.x ou 3.x).",
                item_id,
            )
        if concept.deprecated and code not in self.accepted_codes:
            self.add(
                path,
                "deprecated_code",
                f"{who} : le code « {code} » est obsolète, choisissez un code actif"
                + (f" (par exemple « {concept.parent} »)." if concept.parent else "."),
                item_id,
            )

    def dates(
        self,
        path: str,
        start: date | None,
        end: date | None,
        who: str,
        item_id: str | None = None,
    ) -> None:
        """An end date not before its start date."""
        if start is not None and end is not None and end < start:
            self.add(
                path,
                "dates_inverted",
                f"{who} : la date de fin ({end:%d/%m/%Y}) précède la date de début "
                f"({start:%d/%m/%Y}).",
                item_id,
            )

    def period(self, path: str, day: date | None, who: str, item_id: str) -> None:
        """A date inside the projet's period (when it has a usable one)."""
        p = self.content.projet
        if day is None or (p.date_debut and p.date_fin and p.date_fin < p.date_debut):
            return  # no date, or no usable period (reported on the projet)
        if (p.date_debut is not None and day < p.date_debut) or (
            p.date_fin is not None and day > p.date_fin
        ):
            self.add(
                path,
                "outside_projet_period",
                f"{who} : la date du {day:%d/%m/%Y} est hors de la période du projet.",
                item_id,
            )

    def member(self, path: str, member: str | None, who: str, item_id: str) -> None:
        """A designated person among the cercle's members (when they are known)."""
        if self.member_ids is not None and member is not None and member not in self.member_ids:
            self.add(
                path,
                "unknown_member",
                f"{who} : la personne désignée ne fait pas partie du cercle.",
                item_id,
            )

    def refs(
        self,
        path: str,
        refs: list[str],
        known: set[str],
        code: str,
        what: str,
        who: str,
        item_id: str,
    ) -> None:
        """References to existing items, each cited once."""
        seen: set[str] = set()
        for index, ref in enumerate(refs):
            if ref in seen:
                self.add(
                    f"{path}[{index}]",
                    "duplicate_reference",
                    f"{who} : {what} est cité deux fois.",
                    item_id,
                )
            elif ref not in known:
                self.add(
                    f"{path}[{index}]", code, f"{who} : {what} référencé n'existe plus.", item_id
                )
            seen.add(ref)


def _validate_ids(checks: _Checks) -> None:
    """No two items of one collection share an id."""
    for collection in ("attentes", "besoins", "objectifs", "actions", "moyens", "accords"):
        seen_ids: set[str] = set()
        for item in getattr(checks.content, collection):
            if item.id in seen_ids:
                checks.add(
                    f"{collection}[{item.id}]",
                    "duplicate_id",
                    f"Deux éléments de « {collection} » ont le même identifiant.",
                    item.id,
                )
            seen_ids.add(item.id)


def _validate_projet(checks: _Checks) -> None:
    """The projet's period is in order."""
    projet = checks.content.projet
    checks.dates("projet.date_fin", projet.date_debut, projet.date_fin, "Le projet")


def _validate_besoins(checks: _Checks) -> None:
    """Every besoin is coded with an active SERAFIN-PH besoin."""
    for index, besoin in enumerate(checks.content.besoins):
        concept = checks.term.get(besoin.code) if besoin.code else None
        label = besoin.description or (concept.label if concept is not None else "")
        who = _name("Le besoin", label, index)
        path = f"besoins[{besoin.id}].code"
        if besoin.code is None or not besoin.code.strip():
            checks.add(
                path,
                "besoin_uncoded",
                f"{who} doit être codé avec la nomenclature SERAFIN-PH.",
                besoin.id,
            )
        else:
            checks.code(path, besoin.code, besoin.id, want_besoin=True, who=who)
            _besoin_level(checks, path, besoin.code, besoin.id, who)


def _besoin_level(checks: _Checks, path: str, code: str, item_id: str, who: str) -> None:
    """A besoin coded at level 3 or 4 of SERAFIN-PH (a deprecated code: its parent's level)."""
    concept = checks.term.get(code)
    level = checks.term.level_number(code)
    if concept is None or not concept.is_besoin or level is None or level >= 3:
        return
    checks.add(
        path,
        "besoin_too_general",
        f"{who} : le code « {concept.code} » ({concept.label}) est trop général (niveau {level} "
        "de SERAFIN-PH) : choisissez un besoin de niveau 3 ou 4, plus précis.",
        item_id,
    )


def _validate_objectifs(checks: _Checks) -> None:
    """Every objectif has a title, answers exactly one existing besoin, and fits its dates."""
    besoin_ids = {b.id for b in checks.content.besoins}
    for index, objectif in enumerate(checks.content.objectifs):
        who = _name("L'objectif", objectif.titre, index)
        base = f"objectifs[{objectif.id}]"
        oid = objectif.id
        if not objectif.titre.strip():
            checks.add(f"{base}.titre", "missing_title", f"{who} n'a pas de titre.", oid)
        distinct = set(objectif.besoin_ids)
        if not distinct:
            checks.add(
                f"{base}.besoin_ids",
                "objectif_without_besoin",
                f"{who} doit répondre à un besoin.",
                oid,
            )
        elif len(distinct) > 1:
            checks.add(
                f"{base}.besoin_ids",
                "objectif_multiple_besoins",
                f"{who} doit répondre à un seul besoin ({len(distinct)} indiqués) : "
                "créez un objectif par besoin.",
                oid,
            )
        checks.refs(
            f"{base}.besoin_ids",
            objectif.besoin_ids,
            besoin_ids,
            "missing_besoin",
            "le besoin",
            who,
            oid,
        )
        checks.dates(f"{base}.date_echeance", objectif.date_debut, objectif.date_echeance, who, oid)
        checks.period(f"{base}.date_debut", objectif.date_debut, who, oid)
        checks.period(f"{base}.date_echeance", objectif.date_echeance, who, oid)
        checks.member(f"{base}.referent_id", objectif.referent_id, who, oid)


def _validate_prestations(checks: _Checks, action: Action, who: str) -> None:
    """An action's prestations: SERAFIN-PH prestation codes, each cited once."""
    seen_codes: set[str] = set()
    for pos, code in enumerate(action.prestations):
        path = f"actions[{action.id}].prestations[{pos}]"
        if code in seen_codes:
            checks.add(
                path,
                "duplicate_reference",
                f"{who} : la prestation « {code} » est citée deux fois.",
                action.id,
            )
            continue
        seen_codes.add(code)
        checks.code(path, code, action.id, want_besoin=False, who=who)
        concept = checks.term.get(code)
        if (
            concept is not None
            and concept.kind is Kind.PRESTATION_INDIRECTE
            and not checks.term.in_valueset(JDV_TRANSPORTS_ID, code)
        ):
            checks.add(
                path,
                "prestation_not_individual",
                f"{who} : « {concept.code} » ({concept.label}) est une prestation indirecte "
                "(pilotage ou fonction support de la structure), pas une prestation rendue à la "
                "personne : seuls les transports liés au projet individuel (3.2.4.x) peuvent "
                "figurer sur une action ; choisissez une prestation directe (2.x).",
                action.id,
            )


def _validate_planning(checks: _Checks, action: Action, who: str) -> None:
    """An action's schedule: days when weekly, a start time with a duration, a start date."""
    planning = action.planning
    if planning is None:
        return
    base, aid = f"actions[{action.id}]", action.id
    if planning.frequence is Frequence.HEBDOMADAIRE and not planning.jours:
        checks.add(
            f"{base}.planning.jours",
            "planning_weekly_without_days",
            f"{who} : indiquez les jours de la semaine du rythme hebdomadaire.",
            aid,
        )
    if planning.duree_minutes is not None and planning.heure_debut is None:
        checks.add(
            f"{base}.planning.heure_debut",
            "planning_duration_without_time",
            f"{who} : une durée est indiquée sans heure de début.",
            aid,
        )
    if action.date_debut is None:
        checks.add(
            f"{base}.date_debut",
            "planning_without_start_date",
            f"{who} : le planning demande une date de début.",
            aid,
        )


def _validate_actions(checks: _Checks) -> None:
    """Every action has a title, serves existing objectifs, and has sound codes, dates, people."""
    objectif_ids = {o.id for o in checks.content.objectifs}
    for index, action in enumerate(checks.content.actions):
        who = _name("L'action", action.titre, index)
        base = f"actions[{action.id}]"
        aid = action.id
        if not action.titre.strip():
            checks.add(f"{base}.titre", "missing_title", f"{who} n'a pas de titre.", aid)
        if not action.objectif_ids:
            checks.add(
                f"{base}.objectif_ids",
                "action_without_objectif",
                f"{who} doit servir au moins un objectif.",
                aid,
            )
        checks.refs(
            f"{base}.objectif_ids",
            action.objectif_ids,
            objectif_ids,
            "missing_objectif",
            "l'objectif",
            who,
            aid,
        )
        _validate_prestations(checks, action, who)
        checks.dates(f"{base}.date_fin", action.date_debut, action.date_fin, who, aid)
        checks.period(f"{base}.date_debut", action.date_debut, who, aid)
        checks.period(f"{base}.date_fin", action.date_fin, who, aid)
        checks.member(f"{base}.referent_id", action.referent_id, who, aid)
        for pos, member in enumerate(action.intervenant_ids):
            checks.member(f"{base}.intervenant_ids[{pos}]", member, who, aid)
        _validate_planning(checks, action, who)


def _validate_bilan(checks: _Checks) -> None:
    """The next review comes after the evaluation."""
    bilan = checks.content.bilan
    checks.dates(
        "bilan.prochaine_revision",
        bilan.date_evaluation,
        bilan.prochaine_revision,
        "Le bilan",
    )


_SECTION_VALIDATORS = (
    _validate_ids,
    _validate_projet,
    _validate_besoins,
    _validate_objectifs,
    _validate_actions,
    _validate_bilan,
)
"""One validator per section, in document order (the order problems are reported in)."""


def _document_order(content: PPAContent, problems: list[Problem]) -> list[Problem]:
    """``problems`` sorted by section, then by item position (stable within one item)."""
    roots = {name: index for index, name in enumerate(TOP_LEVEL_KEYS)}
    positions: dict[str, int] = {}
    for name in ("attentes", "besoins", "objectifs", "actions", "moyens", "accords"):
        for index, item in enumerate(getattr(content, name)):
            positions.setdefault(f"{name}/{item.id}", index)

    def key(problem: Problem) -> tuple[int, int]:
        root = problem.path.split(".", 1)[0].split("[", 1)[0]
        where = f"{root}/{problem.item_id}" if problem.item_id is not None else ""
        return roots.get(root, len(roots)), positions.get(where, -1)

    return sorted(problems, key=key)


def validate_sections(
    content: PPAContent,
    term: Terminology,
    accepted_codes: frozenset[str],
    member_ids: frozenset[str] | None,
    validated_on: date | None = None,
) -> list[Problem]:
    """Run every section's validator, then the completeness checks; the problems in document
    order."""
    from editor.completeness import COMPLETENESS_CHECKS
    from editor.followup import FOLLOWUP_CHECKS

    checks = _Checks(content, term, accepted_codes, member_ids, validated_on)
    for validator in (*_SECTION_VALIDATORS, *COMPLETENESS_CHECKS, *FOLLOWUP_CHECKS):
        validator(checks)
    return _document_order(content, checks.problems)
