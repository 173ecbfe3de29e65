from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    ValidationInfo,
    field_validator,
    model_validator,
)

from editor.schema import IsoDate
from server.people.identifiers import (
    InsSystem,
    validate_finess,
    validate_ins,
    validate_rpps,
)
from server.text_input import TextInput
from versions.timeline import first_ppa_deadline


class _Schema(BaseModel):
    model_config = ConfigDict(extra="forbid", from_attributes=True)


# Identifier forms, as JSON Schema patterns (ASCII digits, as ECMA's \d); their keys (Luhn,
# modulo 97) are beyond JSON Schema: server.people.identifiers checks them (422).
FINESS_PATTERN = r"^([0-9]{2}|2[AB])[0-9]{7}$"
RPPS_PATTERN = r"^([0-9]{11})?$"
INS_PATTERN = r"^[1-478][0-9]{4}([0-9]{2}|2[AB])[0-9]{8}$"
# A NIA starts with 7 or 8 (the other INS systems take any matricule of the pattern).
NIA_RULE: dict[str, Any] = {
    "anyOf": [
        {"properties": {"ins_system": {"enum": ["nir", "test", "demo", None]}}},
        {"properties": {"ins_matricule": {"pattern": "^[78]"}}},
    ]
}


MSS_ADDRESS_PATTERN = r"^[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9.-]{1,180}\.[A-Za-z]{2,}$"
DEPARTEMENT_PATTERN = r"^([0-9]{2}|2[AB]|97[1-8])$"


def _mss(value: str | None) -> str | None:
    return value.lower() if value else None


class StructureCreate(_Schema, TextInput):
    finess: str = Field(
        pattern=FINESS_PATTERN,
        description="FINESS : 9 caractères (département, 2A/2B en Corse), clé de Luhn",
    )
    name: str = Field(min_length=1, max_length=200)
    facility_type_code: str = Field(default="SA41", max_length=10)
    kind: Literal["esms", "mdph", "sanitaire", "autre"] = Field(
        default="esms", description="esms, mdph (destinataire des fiches de liaison), ..."
    )
    departement: str | None = Field(
        default=None, pattern=DEPARTEMENT_PATTERN, description="Code du département (75, 2A, 971)"
    )
    mss_address: str | None = Field(
        default=None,
        max_length=254,
        pattern=MSS_ADDRESS_PATTERN,
        description="Boîte aux lettres MSSanté de la structure",
    )

    @field_validator("mss_address")
    @classmethod
    def _mss_address(cls, value: str | None) -> str | None:
        return _mss(value)

    @field_validator("finess")
    @classmethod
    def _finess(cls, value: str) -> str:
        return validate_finess(value)


class StructureRead(_Schema):
    id: str
    finess: str
    name: str
    facility_type_code: str
    kind: str
    departement: str | None
    mss_address: str | None


class ProfessionalCreate(_Schema, TextInput):
    first_name: str = Field(min_length=1, max_length=100)
    last_name: str = Field(min_length=1, max_length=100)
    profession: str = Field(min_length=1, max_length=100)
    rpps: str | None = Field(
        default=None,
        pattern=RPPS_PATTERN,
        description="RPPS : 11 chiffres dont la clé de Luhn, facultatif",
    )
    structure_id: str | None = Field(default=None, min_length=1, max_length=36)
    mss_address: str | None = Field(
        default=None,
        max_length=254,
        pattern=MSS_ADDRESS_PATTERN,
        description="Boîte aux lettres MSSanté personnelle",
    )

    @field_validator("rpps")
    @classmethod
    def _rpps(cls, value: str | None) -> str | None:
        return validate_rpps(value) if value else None

    @field_validator("mss_address")
    @classmethod
    def _mss_address(cls, value: str | None) -> str | None:
        return _mss(value)


class ProfessionalRead(_Schema):
    id: str
    first_name: str
    last_name: str
    profession: str
    rpps: str | None
    structure_id: str | None
    mss_address: str | None


class PersonCreate(_Schema, TextInput):
    model_config = ConfigDict(json_schema_extra=NIA_RULE)

    ins_system: InsSystem | None = Field(
        default=None, description="nir, nia, test ou demo (déduit du matricule si absent)"
    )
    ins_matricule: str = Field(
        pattern=INS_PATTERN,
        description="Matricule INS : 15 caractères (NIR ou NIA de 13 caractères + clé modulo 97)",
    )
    birth_family_name: str = Field(min_length=1, max_length=100)
    used_name: str | None = Field(default=None, max_length=100)
    first_names: str = Field(min_length=1, max_length=200)
    birth_date: IsoDate = Field(description="Pas dans le futur")
    sex: Literal["M", "F", "I"]
    birthplace_insee: str = Field(pattern=r"^(\d{5}|2[AB]\d{3}|99\d{3})$")
    local_id: str | None = Field(default=None, max_length=50)
    structure_id: str | None = Field(default=None, min_length=1, max_length=36)
    admission_date: IsoDate | None = Field(
        default=None, description="Admission dans la structure (premier PPA sous 6 mois)"
    )

    @field_validator("ins_matricule")
    @classmethod
    def _ins(cls, value: str, info: ValidationInfo) -> str:
        return validate_ins(value, info.data.get("ins_system")).matricule

    @model_validator(mode="after")
    def _ins_system(self) -> PersonCreate:
        if self.ins_system is None:
            self.ins_system = validate_ins(self.ins_matricule).system
        return self

    @field_validator("birth_date")
    @classmethod
    def _birth(cls, value: date) -> date:
        if value > date.today():
            raise ValueError("date de naissance dans le futur")
        return value

    @model_validator(mode="after")
    def _admission(self) -> PersonCreate:
        if self.admission_date is not None and self.admission_date < self.birth_date:
            raise ValueError("date d'admission avant la date de naissance")
        return self


class PersonUpdate(_Schema, TextInput):
    used_name: str | None = Field(default=None, max_length=100)
    local_id: str | None = Field(default=None, max_length=50)
    structure_id: str | None = Field(default=None, min_length=1, max_length=36)
    admission_date: IsoDate | None = Field(
        default=None, description="Admission dans la structure (premier PPA sous 6 mois)"
    )


class PersonRead(_Schema):
    id: str
    ins_matricule: str
    ins_oid: str
    birth_family_name: str
    used_name: str | None
    first_names: str
    birth_date: IsoDate = Field(description="Pas dans le futur")
    sex: str
    birthplace_insee: str
    local_id: str | None
    structure_id: str | None
    admission_date: IsoDate | None = None
    first_ppa_deadline: IsoDate | None = Field(
        default=None, description="Admission + 6 mois (CASF D311)"
    )
    created_at: datetime
    my_role: str | None = None

    @model_validator(mode="after")
    def _deadline(self) -> PersonRead:
        if self.admission_date is not None:
            self.first_ppa_deadline = first_ppa_deadline(self.admission_date)
        return self


class ApiClientCreate(_Schema, TextInput):
    name: str = Field(min_length=1, max_length=200)
    structure_id: str | None = Field(default=None, min_length=1, max_length=36)


class ApiClientRead(_Schema):
    id: str
    name: str
    structure_id: str | None
    token_prefix: str
    revoked_at: datetime | None


class ApiClientCreated(ApiClientRead):
    token: str = Field(description="Shown once; only its hash is stored")


class ApiClientListed(_Schema):
    """An API client in the administrators' list: no token, not even its prefix."""

    id: str
    name: str
    structure_id: str | None
    created_at: datetime
    revoked_at: datetime | None


class UserUpdate(_Schema, TextInput):
    is_active: StrictBool = Field(description="false: deactivate the account; true: reactivate it")


class UserRead(_Schema):
    id: str
    username: str
    display_name: str
    kind: str
    professional_id: str | None
    is_active: bool
