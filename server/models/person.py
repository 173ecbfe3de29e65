from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Boolean, Date, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base, IdMixin, TimestampMixin


class Person(IdMixin, TimestampMixin, Base):
    """The person accompanied (usager), identified by the INS."""

    __tablename__ = "persons"

    ins_matricule: Mapped[str] = mapped_column(String(15))
    ins_oid: Mapped[str] = mapped_column(String(40))
    birth_family_name: Mapped[str] = mapped_column(String(100))
    used_name: Mapped[str | None] = mapped_column(String(100), default=None)
    first_names: Mapped[str] = mapped_column(String(200))
    birth_date: Mapped[date] = mapped_column(Date)
    sex: Mapped[str] = mapped_column(String(1))
    birthplace_insee: Mapped[str] = mapped_column(String(5))
    local_id: Mapped[str | None] = mapped_column(String(50), default=None)
    admission_date: Mapped[date | None] = mapped_column(Date, default=None)
    """Admission in the structure: the first PPA is due within 6 months (CASF D311)."""
    structure_id: Mapped[str | None] = mapped_column(
        ForeignKey("structures.id", ondelete="RESTRICT"), default=None
    )
    created_by: Mapped[str | None] = mapped_column(String(36), default=None)

    __table_args__ = (Index("uq_persons_ins", "ins_oid", "ins_matricule", unique=True),)


class MemberKind(StrEnum):
    PROFESSIONAL = "professional"
    STRUCTURE_SYSTEM = "structure_system"
    PERSON = "person"
    AIDANT = "aidant"
    LEGAL_REPRESENTATIVE = "legal_representative"
    AUDITOR = "auditor"


class ProtectionMeasure(StrEnum):
    """A legal protection measure (Code civil, art. 425 and following)."""

    TUTELLE = "tutelle"
    CURATELLE = "curatelle"
    CURATELLE_RENFORCEE = "curatelle_renforcee"
    HABILITATION_FAMILIALE = "habilitation_familiale"
    MANDAT_PROTECTION_FUTURE = "mandat_protection_future"


class MeasureScope(StrEnum):
    """What the measure covers: the person (personal decisions), her property, or both."""

    PERSONNE = "personne"
    BIENS = "biens"
    PERSONNE_ET_BIENS = "personne_et_biens"


class Role(StrEnum):
    COORDINATOR = "coordinator"
    CONTRIBUTOR = "contributor"
    READER = "reader"
    PERSON = "person"
    AIDANT = "aidant"
    ESMS = "esms"
    AUDITOR = "auditor"


class CercleMember(IdMixin, TimestampMixin, Base):
    """A member of the person's cercle de santé et d'accompagnement, with one role.

    The member is a user login (professional, person, aidant, auditor) or an API client
    (a structure's system). ``opposed`` records the person's opposition to sharing with
    that member: an opposed member reads nothing.
    """

    __tablename__ = "cercle_members"

    person_id: Mapped[str] = mapped_column(ForeignKey("persons.id", ondelete="RESTRICT"))
    kind: Mapped[str] = mapped_column(String(30))
    role: Mapped[str] = mapped_column(String(20))
    user_id: Mapped[str | None] = mapped_column(
        ForeignKey("users.id", ondelete="RESTRICT"), default=None
    )
    api_client_id: Mapped[str | None] = mapped_column(
        ForeignKey("api_clients.id", ondelete="RESTRICT"), default=None
    )
    professional_id: Mapped[str | None] = mapped_column(
        ForeignKey("professionals.id", ondelete="RESTRICT"), default=None
    )
    display_name: Mapped[str] = mapped_column(String(200))
    mesure: Mapped[str | None] = mapped_column(String(40), default=None)
    """A legal representative's measure (:class:`ProtectionMeasure`); ``None`` otherwise."""
    mesure_portee: Mapped[str | None] = mapped_column(String(40), default=None)
    """What the measure covers (:class:`MeasureScope`); ``None``: not said."""
    opposed: Mapped[bool] = mapped_column(Boolean, default=False)
    opposed_at: Mapped[datetime | None] = mapped_column(default=None)
    added_by: Mapped[str | None] = mapped_column(String(36), default=None)

    __table_args__ = (
        Index("ix_cercle_members_person", "person_id"),
        Index("ix_cercle_members_user", "user_id"),
        Index("ix_cercle_members_api_client", "api_client_id"),
    )


class CercleDeparture(IdMixin, TimestampMixin, Base):
    """A member who left the cercle (removed by a coordinator): who, in which role, from when
    (``joined_at``) to when (``created_at``). The FHIR CareTeam lists them with their
    ``participant.period.end`` (CDS: leaving and rejoining are separate participant entries);
    a member the person had opposed stays absent."""

    __tablename__ = "cercle_departures"

    person_id: Mapped[str] = mapped_column(ForeignKey("persons.id", ondelete="RESTRICT"))
    member_id: Mapped[str] = mapped_column(String(36))
    """The removed ``cercle_members`` row's id."""
    kind: Mapped[str] = mapped_column(String(30))
    role: Mapped[str] = mapped_column(String(20))
    user_id: Mapped[str | None] = mapped_column(String(36), default=None)
    api_client_id: Mapped[str | None] = mapped_column(String(36), default=None)
    professional_id: Mapped[str | None] = mapped_column(String(36), default=None)
    display_name: Mapped[str] = mapped_column(String(200))
    opposed: Mapped[bool] = mapped_column(Boolean, default=False)
    joined_at: Mapped[datetime]

    __table_args__ = (Index("ix_cercle_departures_person", "person_id"),)

    @classmethod
    def of(cls, member: CercleMember) -> CercleDeparture:
        return cls(
            person_id=member.person_id,
            member_id=member.id,
            kind=member.kind,
            role=member.role,
            user_id=member.user_id,
            api_client_id=member.api_client_id,
            professional_id=member.professional_id,
            display_name=member.display_name,
            opposed=member.opposed,
            joined_at=member.created_at,
        )
