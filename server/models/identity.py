from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base, IdMixin, TimestampMixin


class Structure(IdMixin, TimestampMixin, Base):
    """An ESMS, a hospital, a practice: identified by FINESS."""

    __tablename__ = "structures"

    finess: Mapped[str] = mapped_column(String(9), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    facility_type_code: Mapped[str] = mapped_column(String(10), default="SA41")
    """TRE_R02 code used as XDS healthcareFacilityTypeCode (SA16, SA17, SA41...)."""
    kind: Mapped[str] = mapped_column(String(20), default="esms", server_default="esms")
    """``esms`` (default), ``mdph`` (a maison départementale: recipient of fiches de liaison),
    ``sanitaire`` or ``autre``."""
    departement: Mapped[str | None] = mapped_column(String(3), default=None)
    """Département code (``75``, ``2A``, ``971``); an MDPH's is its département."""
    mss_address: Mapped[str | None] = mapped_column(String(254), default=None)
    """The structure's MSSanté (organisational or applicative) mailbox."""


class Professional(IdMixin, TimestampMixin, Base):
    __tablename__ = "professionals"

    rpps: Mapped[str | None] = mapped_column(String(11), unique=True, default=None)
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100))
    profession: Mapped[str] = mapped_column(String(100))
    structure_id: Mapped[str | None] = mapped_column(
        ForeignKey("structures.id", ondelete="RESTRICT"), default=None
    )
    mss_address: Mapped[str | None] = mapped_column(String(254), default=None)
    """The professional's personal MSSanté mailbox."""


class UserKind(StrEnum):
    PROFESSIONAL = "professional"
    PERSON = "person"
    AIDANT = "aidant"
    AUDITOR = "auditor"
    ADMIN = "admin"


class User(IdMixin, TimestampMixin, Base):
    """A login. Professionals link to their Professional row; persons/aidants to a Person."""

    __tablename__ = "users"

    username: Mapped[str] = mapped_column(String(100), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    display_name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20), default=UserKind.PROFESSIONAL.value)
    professional_id: Mapped[str | None] = mapped_column(
        ForeignKey("professionals.id", ondelete="RESTRICT"), default=None
    )
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)


class ApiClient(IdMixin, TimestampMixin, Base):
    """A structure's software (ESMS / DUI) calling the API with a bearer token (hashed at rest)."""

    __tablename__ = "api_clients"

    name: Mapped[str] = mapped_column(String(200))
    structure_id: Mapped[str | None] = mapped_column(
        ForeignKey("structures.id", ondelete="RESTRICT"), default=None
    )
    token_prefix: Mapped[str] = mapped_column(String(16), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64))
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
