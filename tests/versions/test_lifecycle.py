"""Lifecycle: transitions, the avenant rule (allowed and refused), revisions, review dates."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from editor.schema import (
    AccordObjectif,
    Action,
    Besoin,
    Bilan,
    DecisionEssai,
    Frequence,
    Objectif,
    PPAContent,
    PresenceReunion,
    ResultatObjectif,
    StatutAction,
    StatutObjectif,
)
from tests.factories import small_ppa
from versions.chain import VersionKind, VersionMeta
from versions.lifecycle import (
    TRANSITIONS,
    AvenantRefusedError,
    LifecycleError,
    LifecycleEvent,
    PPAState,
    ReviewStatus,
    add_months,
    avenant_summary,
    avenant_title,
    avenant_violations,
    check_avenant,
    is_locked,
    last_validated,
    next_review_date,
    review_status,
    revision_content,
    transition,
    version_kind_for,
)


def test_main_path_and_avenant_cycle() -> None:
    state = PPAState.DRAFT
    for event in (LifecycleEvent.CHECKPOINT, LifecycleEvent.SAVE_NAMED, LifecycleEvent.RESTORE):
        state = transition(state, event)
    assert state is PPAState.DRAFT
    assert not is_locked(state)
    state = transition(state, LifecycleEvent.VALIDATE)
    assert state is PPAState.VALIDATED
    assert is_locked(state)
    state = transition(state, LifecycleEvent.OPEN_AVENANT)
    assert (state, is_locked(state)) == (PPAState.AVENANT_DRAFT, False)
    assert version_kind_for(state, LifecycleEvent.VALIDATE) is VersionKind.AVENANT
    assert version_kind_for(PPAState.DRAFT, LifecycleEvent.VALIDATE) is VersionKind.VALIDATED
    assert version_kind_for(state, LifecycleEvent.OPEN_AVENANT) is None
    assert transition(state, LifecycleEvent.ABANDON_AVENANT) is PPAState.VALIDATED
    state = transition(state, LifecycleEvent.VALIDATE)
    assert transition(state, LifecycleEvent.SUPERSEDE) is PPAState.SUPERSEDED


@pytest.mark.parametrize(
    ("state", "event"),
    [
        (PPAState.VALIDATED, LifecycleEvent.CHECKPOINT),
        (PPAState.VALIDATED, LifecycleEvent.SAVE_NAMED),
        (PPAState.VALIDATED, LifecycleEvent.RESTORE),
        (PPAState.VALIDATED, LifecycleEvent.VALIDATE),
        (PPAState.DRAFT, LifecycleEvent.OPEN_AVENANT),
        (PPAState.DRAFT, LifecycleEvent.SUPERSEDE),
        (PPAState.AVENANT_DRAFT, LifecycleEvent.OPEN_AVENANT),
        *[(PPAState.SUPERSEDED, event) for event in LifecycleEvent],
    ],
)
def test_refused_transitions_explain_in_french(state: PPAState, event: LifecycleEvent) -> None:
    assert (state, event) not in TRANSITIONS
    with pytest.raises(LifecycleError) as error:
        transition(state, event)
    assert error.value.message_fr.startswith("Impossible de ")
    if state in (PPAState.VALIDATED, PPAState.SUPERSEDED):
        assert "avenant ou une révision" in error.value.message_fr


def test_avenant_may_change_actions_schedule_and_prestations() -> None:
    base = small_ppa()
    avenant = base.model_copy(deep=True)
    action = avenant.actions[0]
    assert action.planning is not None
    action.planning.frequence = Frequence.QUOTIDIENNE
    action.planning.heure_debut = "07:45"
    action.planning.lieu = "Gare"
    action.prestations.append("2.3.1.1")
    action.description = "Nouvelles modalités."
    action.referent_id = "member-9"
    avenant.actions.append(Action(id="a9", titre="Piscine", objectif_ids=["o2"]))
    del avenant.actions[1]
    avenant.actions.reverse()
    avenant.objectifs.reverse()  # order is not a change
    avenant.moyens = []
    avenant.accords = []
    assert avenant_violations(base, avenant) == []
    check_avenant(base, avenant)
    summary = avenant_summary(base, avenant)
    assert summary.startswith("1 action modifiée (« Trajets accompagnés »), 1 action ajoutée")
    assert avenant_title(1, 2, 1) == "v2 - avenant n°1 à v1"


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (
            lambda c: setattr(c.objectifs[0], "titre", "Prendre le train seule"),
            "L'objectif « Prendre le train seule » a été modifié (champ « titre »)",
        ),
        (
            lambda c: setattr(c.objectifs[0], "description", "Aller seule au travail en train."),
            "L'objectif « Prendre le bus seule » a été modifié (champ « description »)",
        ),
        (
            lambda c: setattr(c.objectifs[1], "resultat_attendu", "Deux repas par semaine."),
            "L'objectif « Préparer ses repas » a été modifié (champ « résultat attendu »)",
        ),
        (
            lambda c: setattr(c.objectifs[1], "besoin_ids", ["b1"]),
            "L'objectif « Préparer ses repas » a été modifié (champ « besoin traité »)",
        ),
        (
            lambda c: c.objectifs.append(Objectif(id="o9", titre="Travailler")),
            "Ajout d'un objectif « Travailler »",
        ),
        (lambda c: c.objectifs.pop(), "L'objectif « Préparer ses repas » a été supprimé"),
        (
            lambda c: setattr(c.besoins[0], "analyse", "Autre analyse"),
            "Le besoin « Se déplacer » a été modifié (champ « analyse »)",
        ),
        (
            lambda c: setattr(c.besoins[0], "code", "1.1.1"),
            "Le besoin « Se déplacer » a été modifié (champ « code SERAFIN-PH »)",
        ),
        (
            lambda c: c.besoins.append(Besoin(id="b9", description="Sommeil")),
            "Ajout d'un besoin « Sommeil »",
        ),
        (lambda c: c.besoins.pop(0), "Le besoin « Se déplacer » a été supprimé"),
    ],
)
def test_avenant_touching_objectives_or_besoins_is_refused(mutate: object, expected: str) -> None:
    base = small_ppa()
    avenant = base.model_copy(deep=True)
    avenant.actions[0].titre = "Trajets accompagnés (nouvel horaire)"  # allowed change alongside
    mutate(avenant)  # type: ignore[operator]
    violations = avenant_violations(base, avenant)
    assert len(violations) == 1
    assert violations[0].message.startswith(expected)
    assert "interdit dans un avenant" in violations[0].message
    with pytest.raises(AvenantRefusedError) as error:
        check_avenant(base, avenant)
    assert expected in error.value.message_fr
    assert "créez un nouveau PPA (révision)" in error.value.message_fr
    assert "ajouter ou supprimer un objectif" in error.value.message_fr
    assert error.value.violations == tuple(violations)


def test_avenant_may_update_an_objectives_follow_up() -> None:
    """Rule 4: status, opinion and due date of an objective are the mid-year follow-up."""
    base = small_ppa()
    avenant = base.model_copy(deep=True)
    avenant.objectifs[0].statut = StatutObjectif.TERMINE
    avenant.objectifs[0].avis_usager = "Je prends le bus seule depuis mars."
    avenant.objectifs[1].date_echeance = date(2025, 9, 30)
    avenant.objectifs[1].statut = StatutObjectif.ANNULE
    avenant.bilan.prochaine_revision = date(2025, 11, 30)  # earlier: allowed
    assert avenant_violations(base, avenant, full_validated_on=date(2025, 1, 6)) == []
    check_avenant(base, avenant, full_validated_on=date(2025, 1, 6))


def test_avenant_objective_follow_up_alongside_a_frozen_field_names_only_the_frozen() -> None:
    base = small_ppa()
    avenant = base.model_copy(deep=True)
    avenant.objectifs[0].statut = StatutObjectif.TERMINE
    avenant.objectifs[0].titre = "Prendre le train seule"
    [violation] = avenant_violations(base, avenant)
    assert "(champ « titre »)" in violation.message
    assert violation.path == "objectifs/o1"


def test_removing_an_objective_suggests_cancelling_it() -> None:
    base = small_ppa()
    avenant = base.model_copy(deep=True)
    avenant.objectifs.pop()
    [violation] = avenant_violations(base, avenant)
    assert "passez son statut à « annulé »" in violation.message


@pytest.mark.parametrize(
    ("mutate", "expected", "path"),
    [
        (
            lambda c: setattr(c.projet, "date_fin", date(2026, 1, 7)),
            "La fin du projet a été reportée au 07/01/2026, au-delà de 12 mois après son "
            "début (au plus tard le 06/01/2026)",
            "projet/date_fin",
        ),
        (
            lambda c: setattr(c.projet, "date_debut", date(2025, 2, 1)),
            "La date de début du projet a été modifiée",
            "projet/date_debut",
        ),
        (
            lambda c: setattr(c.bilan, "prochaine_revision", date(2026, 1, 7)),
            "La prochaine révision a été reportée au 07/01/2026, au-delà de 12 mois après la "
            "dernière validation complète du 06/01/2025 (au plus tard le 06/01/2026)",
            "bilan/prochaine_revision",
        ),
    ],
)
def test_avenant_may_not_stretch_the_period_or_the_review(
    mutate: object, expected: str, path: str
) -> None:
    """Rule 4: the 12-month rule holds through avenants, counted from the full validation."""
    base = small_ppa()
    avenant = base.model_copy(deep=True)
    mutate(avenant)  # type: ignore[operator]
    [violation] = avenant_violations(base, avenant, full_validated_on=date(2025, 1, 6))
    assert violation.message.startswith(expected)
    assert violation.path == path
    with pytest.raises(AvenantRefusedError) as error:
        check_avenant(base, avenant, full_validated_on=date(2025, 1, 6))
    assert expected in error.value.message_fr


def test_avenant_may_move_the_end_and_review_within_the_12_months() -> None:
    base = small_ppa()
    avenant = base.model_copy(deep=True)
    avenant.projet.date_fin = date(2026, 1, 6)  # exactly 12 months after the start
    avenant.bilan.prochaine_revision = date(2026, 1, 6)  # 12 months after the full validation
    assert avenant_violations(base, avenant, full_validated_on=date(2025, 1, 6)) == []


def test_every_violation_is_listed() -> None:
    base = small_ppa()
    avenant = base.model_copy(deep=True)
    avenant.objectifs[0].titre = "Autre"
    avenant.objectifs[0].strategie = "Autre stratégie"
    avenant.besoins.pop()
    avenant.objectifs.append(Objectif(id="o9", titre="Nouveau"))
    messages = [v.message for v in avenant_violations(base, avenant)]
    assert len(messages) == 3
    assert "(champs « titre », « stratégie »)" in messages[0]


def test_revision_starts_from_the_last_validated_version() -> None:
    t = datetime(2025, 1, 1, tzinfo=UTC)
    metas = [
        VersionMeta("p", 1, VersionKind.CHECKPOINT, "", t, "m"),
        VersionMeta("p", 2, VersionKind.VALIDATED, "", t, "m"),
        VersionMeta("p", 3, VersionKind.AVENANT, "", t, "m"),
        VersionMeta("p", 4, VersionKind.CHECKPOINT, "", t, "m"),
    ]
    last = last_validated(metas)
    assert last is not None
    assert last.number == 3
    assert last_validated(metas[:1]) is None
    source = small_ppa()
    source.bilan.prochaine_revision = date(2025, 12, 1)
    content = revision_content(source)
    assert content.accords == []
    assert (content.projet.date_debut, content.projet.date_fin) == (None, None)
    assert content.bilan.prochaine_revision is None
    assert [o.id for o in content.objectifs] == [o.id for o in source.objectifs]
    assert source.accords  # the source is untouched


def test_a_revision_does_not_carry_last_years_evaluation_as_current() -> None:
    """Rule 6: opinions, statuses and the bilan's notes of last year start blank."""
    source = small_ppa()
    source.objectifs[0].statut = StatutObjectif.TERMINE
    source.objectifs[0].avis_usager = "J'y arrive."
    source.objectifs[1].statut = StatutObjectif.ANNULE
    source.actions[0].statut = StatutAction.ACTIF
    source.actions[0].avis_usager = "Trop tôt le matin."
    source.bilan.notes_preparation = "Bilan de juin : objectifs atteints."
    source.bilan.redige_par = "coordinatrice"
    source.objectifs[0].accord_usager = AccordObjectif.ACCORD
    source.objectifs[0].bilan_resultat = ResultatObjectif.ATTEINT
    source.objectifs[0].bilan_date = date(2025, 6, 15)
    source.objectifs[0].bilan_commentaire = "Atteint en juin."
    source.actions[0].decision_essai = DecisionEssai.STABILISEE
    source.projet.date_reunion = date(2024, 11, 20)
    source.projet.presence_personne = PresenceReunion.PRESENTE
    content = revision_content(source)
    fresh = PPAContent()
    assert content.projet.date_reunion is None
    assert content.projet.presence_personne == fresh.projet.presence_personne
    assert (
        content.objectifs[0].accord_usager,
        content.objectifs[0].bilan_resultat,
        content.objectifs[0].bilan_date,
        content.objectifs[0].bilan_commentaire,
    ) == (AccordObjectif.NON_EXPRIME, ResultatObjectif.NON_EVALUE, None, "")
    assert content.actions[0].decision_essai is DecisionEssai.EN_ATTENTE
    assert [(o.statut, o.avis_usager) for o in content.objectifs] == [
        (StatutObjectif.EN_PREPARATION, ""),
        (StatutObjectif.ANNULE, ""),  # kept cancelled, for the record
    ]
    assert (content.actions[0].statut, content.actions[0].avis_usager) == (
        StatutAction.EN_PREPARATION,
        "",
    )
    assert content.bilan == Bilan()
    # what the team wrote stays as the starting point
    assert content.objectifs[0].description == source.objectifs[0].description
    assert source.objectifs[0].avis_usager == "J'y arrive."  # the source is untouched


def test_next_review_date_and_status() -> None:
    assert next_review_date(date(2025, 3, 15), None) == date(2026, 3, 15)
    assert next_review_date(date(2024, 2, 29), Bilan()) == date(2025, 2, 28)
    assert next_review_date(date(2025, 3, 15), Bilan(prochaine_revision=date(2025, 9, 1))) == (
        date(2025, 9, 1)
    )
    assert add_months(date(2025, 1, 31), 1) == date(2025, 2, 28)
    assert add_months(date(2025, 11, 30), 3) == date(2026, 2, 28)
    review = date(2026, 3, 15)
    assert review_status(review, date(2026, 1, 1)) is ReviewStatus.OK
    assert review_status(review, date(2026, 2, 13)) is ReviewStatus.DUE
    assert review_status(review, date(2026, 3, 15)) is ReviewStatus.DUE
    assert review_status(review, date(2026, 3, 16)) is ReviewStatus.OVERDUE
