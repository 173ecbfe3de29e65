"""The one place a test gets a valid PPA content: ``valid_ppa()``, or ``small_ppa()`` when minimal.

The content is the product's one realistic PPA (:mod:`exports.sample_content`, the demo's draft
and the exports' sample) with stable, readable ids.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from editor.schema import (
    Accord,
    Action,
    Attente,
    Besoin,
    Bilan,
    Frequence,
    Jour,
    Moyen,
    Objectif,
    Planning,
    PPAContent,
    PresenceReunion,
    Projet,
)
from exports.sample_content import SAMPLE_START, demo_content

ROLES = ("coordinatrice", "infirmier", "psychologue", "ergotherapeute", "assistante-sociale")
"""The professions the PPA's referents and intervenants are drawn from."""

MEMBERS: Mapping[str, str] = {
    "coordinatrice": "pro-coordinatrice",
    "infirmier": "pro-infirmier",
    "psychologue": "pro-psychologue",
    "ergotherapeute": "pro-ergotherapeute",
    "assistante-sociale": "pro-as",
}
"""Default member id per role (server tests pass the cercle's real ids instead)."""


def valid_ppa(
    *,
    members: Mapping[str, str] | None = None,
    fresh_ids: bool = False,
    start: date = SAMPLE_START,
) -> PPAContent:
    """A complete valid draft PPA (no accords yet): 5 besoins, 5 objectifs, 7 actions.

    Ids are stable (``b-sante``, ``o-logement``, ``a-cuisine``...); ``members`` maps each role of
    ``ROLES`` to a cercle member id (default ``MEMBERS``). ``fresh_ids`` suffixes every item id
    with a random tag, as two real PPAs never share item ids (server tests holding several PPAs).
    ``start``: the first day of its period, from which every date is counted; the default is the
    fixed sample (for tests that validate on a given day); tests validating on today's clock pass
    :func:`recent_start` so that they do not rot.
    """
    content = _valid_ppa(dict(MEMBERS if members is None else members), start)
    return _with_fresh_ids(content) if fresh_ids else content


def _with_fresh_ids(content: PPAContent) -> PPAContent:
    """``content`` with a random tag after every item id, links followed."""
    tag = uuid.uuid4().hex[:12]
    return _renamed(content, lambda old: f"{old}-{tag}")


def _renamed(content: PPAContent, rename: Callable[[str], str]) -> PPAContent:
    """``content`` with every item id renamed, links followed."""
    items: list[Attente | Besoin | Objectif | Action | Moyen | Accord] = [
        *content.attentes,
        *content.besoins,
        *content.objectifs,
        *content.actions,
        *content.moyens,
        *content.accords,
    ]
    for item in items:
        item.id = rename(item.id)
    for objectif in content.objectifs:
        objectif.besoin_ids = [rename(i) for i in objectif.besoin_ids]
    for action in content.actions:
        action.objectif_ids = [rename(i) for i in action.objectif_ids]
    return content


STABLE_IDS: Mapping[str, tuple[str, ...]] = {
    "attentes": ("at-1", "at-2", "at-3", "at-4"),
    "besoins": ("b-sante", "b-logement", "b-social", "b-mobilite", "b-budget"),
    "objectifs": ("o-sante", "o-logement", "o-social", "o-mobilite", "o-budget"),
    "actions": (
        "a-sante",
        "a-education",
        "a-cuisine",
        "a-budget",
        "a-theatre",
        "a-soutien",
        "a-tramway",
    ),
    "moyens": ("mo-1", "mo-2", "mo-3"),
}
"""The readable ids the tests name, in the order of the shared content's lists."""


def recent_start(today: date | None = None) -> date:
    """A period start 6 days before ``today`` (default: today, Europe/Paris): the sample's
    shape (started 01/12/2026, validated 07/12/2026), whatever the day the tests run."""
    day = today if today is not None else datetime.now(ZoneInfo("Europe/Paris")).date()
    return day - timedelta(days=6)


def _valid_ppa(pro: dict[str, str], start: date) -> PPAContent:
    """The product's one realistic content (:mod:`exports.sample_content`) with stable ids."""
    content = demo_content(pro, start)
    stable: dict[str, str] = {}
    for field, ids in STABLE_IDS.items():
        items = getattr(content, field)
        if len(items) != len(ids):
            raise RuntimeError(f"exports.sample_content changed: {field} has {len(items)} items")
        stable.update({item.id: new for item, new in zip(items, ids, strict=True)})
    return _renamed(content, stable.__getitem__)


def small_ppa() -> PPAContent:
    """The deliberately minimal valid PPA (ids ``b1``, ``o1``, ``a1``...) for histories, diffs.

    Complete for validation (rule 1 of docs/domain-rules.md) except for the dates relative to the
    day of validation: its next review (15/12/2025) is in the past, so it is for tests that
    validate without a clock (``validate(content)``), not through the server.
    """
    coordinatrice = MEMBERS["coordinatrice"]
    return PPAContent(
        projet=Projet(
            titre="PPA 2025",
            date_debut=date(2025, 1, 6),
            date_fin=date(2025, 12, 31),
            referent_id=coordinatrice,
            date_reunion=date(2025, 1, 6),
            presence_personne=PresenceReunion.PRESENTE,
        ),
        projet_de_vie="Vivre en appartement avec un accompagnement léger.",
        attentes=[Attente(id="at1", texte="Aller au travail seule.")],
        besoins=[
            Besoin(id="b1", code="1.3.1", description="Se déplacer", analyse="Peur du bus."),
            Besoin(id="b2", code="1.2.1.1", description="Entretien personnel"),
        ],
        objectifs=[
            Objectif(
                id="o1",
                titre="Prendre le bus seule",
                description="Aller seule à l'ESAT en bus.",
                besoin_ids=["b1"],
                date_echeance=date(2025, 6, 30),
                resultat_attendu="Trajet domicile-ESAT sans aide.",
                referent_id=coordinatrice,
            ),
            Objectif(
                id="o2",
                titre="Préparer ses repas",
                description="Cuisiner un repas simple.",
                besoin_ids=["b2"],
                date_echeance=date(2025, 12, 31),
                resultat_attendu="Un repas préparé seule chaque semaine.",
                referent_id=coordinatrice,
            ),
        ],
        actions=[
            Action(
                id="a1",
                titre="Trajets accompagnés",
                description="Accompagnement sur le trajet de la ligne 12.",
                objectif_ids=["o1"],
                prestations=["2.3.4.1"],
                referent_id=coordinatrice,
                date_debut=date(2025, 1, 13),
                planning=Planning(
                    frequence=Frequence.HEBDOMADAIRE,
                    jours=[Jour.LUNDI],
                    heure_debut="08:00",
                    duree_minutes=60,
                    lieu="Arrêt Mairie",
                ),
            ),
            Action(
                id="a2",
                titre="Atelier cuisine",
                objectif_ids=["o2"],
                prestations=["2.3.1.1"],
                referent_id=coordinatrice,
                date_debut=date(2025, 1, 15),
            ),
        ],
        bilan=Bilan(date_evaluation=date(2024, 12, 15), prochaine_revision=date(2025, 12, 15)),
        accords=[Accord(id="ac1", par="coordinatrice")],
    )
