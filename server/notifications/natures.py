"""The registry of notification natures: one place to add one.

Each nature has a stable code (stored in notices and preferences: never renamed), a French label
for professionals, a plain, easy-to-read wording (FALC) for the person and the aidant when the
nature concerns them, the capability a recipient needs on the person's cercle, and the defaults
of each role (channels, frequency of the channels other than the bell).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from server.authz import Capability
from server.models.notifications import Channel, Frequency
from server.models.person import Role


@dataclass(frozen=True)
class Default:
    channels: tuple[Channel, ...]
    frequency: Frequency = Frequency.IMMEDIATE


APP_ONLY = Default((Channel.APP,))
APP_EMAIL_DAILY = Default((Channel.APP, Channel.EMAIL), Frequency.DAILY)
APP_EMAIL_WEEKLY = Default((Channel.APP, Channel.EMAIL), Frequency.WEEKLY)
APP_EMAIL_NOW = Default((Channel.APP, Channel.EMAIL), Frequency.IMMEDIATE)
NOTHING = Default(())


@dataclass(frozen=True)
class Nature:
    code: str
    label: str
    """French, for professionals (settings page, bell, messages)."""
    capability: Capability | None
    """What a cercle member needs to be told (``None``: not a cercle nature, see ``audience``)."""
    easy_label: str | None = None
    """Plain French (FALC) for the person and the aidant; ``None``: not told to them."""
    roles: frozenset[Role] | None = None
    """Restrict to these cercle roles (``None``: every role with the capability)."""
    audience: str = "cercle"
    """``cercle`` (members of the person's cercle) or ``admins`` (the service's admins)."""
    defaults: dict[Role | None, Default] = field(default_factory=dict)
    """Per role; the ``None`` key is the default of every other role (and of admins)."""

    def default_for(self, role: Role | None) -> Default:
        if role in self.defaults:
            return self.defaults[role]
        return self.defaults.get(None, APP_ONLY)


EASY_ROLES = frozenset({Role.PERSON, Role.AIDANT})
COORD = Role.COORDINATOR


def by_code(natures: tuple[Nature, ...]) -> dict[str, Nature]:
    """Index ``natures`` by code; two natures with one code are a programming error."""
    index: dict[str, Nature] = {}
    for item in natures:
        if item.code in index:
            raise ValueError(f"notification nature {item.code!r} registered twice")
        index[item.code] = item
    return index


NATURES: Final[dict[str, Nature]] = by_code(
    (
        Nature(
            "cercle.member_added",
            "Un membre a été ajouté au cercle d'une personne que j'accompagne",
            Capability.SEE_PERSON,
            easy_label="Une nouvelle personne fait partie de votre cercle.",
            defaults={COORD: APP_EMAIL_DAILY},
        ),
        Nature(
            "cercle.member_removed",
            "Un membre a quitté le cercle d'une personne que j'accompagne",
            Capability.SEE_PERSON,
            easy_label="Une personne ne fait plus partie de votre cercle.",
            defaults={COORD: APP_EMAIL_DAILY},
        ),
        Nature(
            "cercle.role_changed",
            "Le rôle d'un membre du cercle a changé",
            Capability.SEE_PERSON,
            defaults={COORD: APP_EMAIL_DAILY},
        ),
        Nature(
            "cercle.opposition",
            "Une opposition au partage a été enregistrée ou levée",
            Capability.MANAGE_CERCLE,
            roles=frozenset({COORD}),
            defaults={COORD: APP_EMAIL_NOW},
        ),
        Nature(
            "ppa.iteration",
            "Nouvelle itération du PPA (version enregistrée ou fin de session d'édition)",
            Capability.READ_HISTORY,
            defaults={Role.READER: NOTHING, Role.AUDITOR: NOTHING},
        ),
        Nature(
            "ppa.validated",
            "Le PPA a été validé",
            Capability.READ_VALIDATED,
            easy_label="Votre projet est validé. Vous pouvez le relire.",
            defaults={
                COORD: APP_EMAIL_DAILY,
                Role.CONTRIBUTOR: APP_EMAIL_DAILY,
                Role.READER: APP_EMAIL_WEEKLY,
                Role.PERSON: APP_EMAIL_NOW,
                Role.AIDANT: APP_EMAIL_NOW,
            },
        ),
        Nature(
            "ppa.avenant_opened",
            "Un avenant au PPA a été ouvert",
            Capability.READ,
            defaults={COORD: APP_ONLY, Role.CONTRIBUTOR: APP_ONLY, None: NOTHING},
        ),
        Nature(
            "ppa.avenant_validated",
            "Un avenant au PPA a été validé",
            Capability.READ_VALIDATED,
            easy_label="Votre projet a changé. Le changement est validé.",
            defaults={
                COORD: APP_EMAIL_DAILY,
                Role.CONTRIBUTOR: APP_EMAIL_DAILY,
                Role.READER: APP_EMAIL_WEEKLY,
                Role.PERSON: APP_EMAIL_NOW,
                Role.AIDANT: APP_EMAIL_NOW,
            },
        ),
        Nature(
            "ppa.revision_started",
            "La révision du PPA a commencé (nouveau PPA)",
            Capability.READ,
            easy_label="Nous préparons votre nouveau projet avec vous.",
            defaults={COORD: APP_EMAIL_DAILY},
        ),
        Nature(
            "ppa.review_due",
            "La révision du PPA est à faire dans les 30 jours",
            Capability.READ_VALIDATED,
            easy_label="Bientôt, nous allons revoir votre projet ensemble.",
            roles=frozenset({COORD, Role.CONTRIBUTOR, Role.PERSON, Role.AIDANT}),
            defaults={COORD: APP_EMAIL_WEEKLY},
        ),
        Nature(
            "ppa.review_overdue",
            "Le PPA est échu (date de révision dépassée ou période terminée)",
            Capability.READ_VALIDATED,
            roles=frozenset({COORD, Role.CONTRIBUTOR}),
            defaults={COORD: APP_EMAIL_DAILY},
        ),
        Nature(
            "agenda.planning_changed",
            "Le planning d'une action qui me concerne a changé",
            Capability.READ,
            defaults={None: APP_EMAIL_DAILY},
        ),
        Nature(
            "mention",
            "Quelqu'un m'a mentionné dans un commentaire",
            Capability.READ,
            easy_label="Quelqu'un a écrit votre nom dans un message. Vous pouvez le lire.",
            defaults={None: APP_EMAIL_NOW},
        ),
        Nature(
            "esms.delivery_failed",
            "Une transmission au logiciel d'une structure a échoué définitivement",
            None,
            audience="admins",
            defaults={None: APP_EMAIL_NOW},
        ),
    )
)
"""Every nature, by code (in the order the settings page shows them)."""


def nature(code: str) -> Nature:
    return NATURES[code]


def label_for(code: str, role: Role | None) -> str:
    """The nature's words for a recipient with this role (plain French for person, aidant)."""
    found = NATURES.get(code)
    if found is None:
        return code
    if role in EASY_ROLES and found.easy_label:
        return found.easy_label
    return found.label


def concerns(found: Nature, role: Role) -> bool:
    """Whether a cercle member with ``role`` is told of this nature (capability aside)."""
    if found.roles is not None and role not in found.roles:
        return False
    return not (role in EASY_ROLES and found.easy_label is None)


CHANNEL_LABELS: Final[dict[Channel, str]] = {
    Channel.APP: "Dans l'application",
    Channel.EMAIL: "Courriel",
    Channel.SMS: "SMS",
}
FREQUENCY_LABELS: Final[dict[Frequency, str]] = {
    Frequency.IMMEDIATE: "Au fil de l'eau",
    Frequency.DAILY: "Quotidienne",
    Frequency.WEEKLY: "Hebdomadaire",
}
