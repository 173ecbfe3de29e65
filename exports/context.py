"""The one typed, immutable input every renderer of :mod:`exports` takes.

The server builds an :class:`ExportInput` from an immutable stored version (content, metadata)
plus the people and structures it refers to; renderers are pure functions
``ExportInput -> bytes``. Same input, same bytes, except where a format itself requires a
generation timestamp (XDM ``submissionTime``): that one comes from :attr:`ExportInput.generated_at`,
never from the clock.
"""

from __future__ import annotations

import datetime as _dt
import re
import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from editor.schema import ModeAccord, PPAContent, TypeAccord
from editor.text_rules import scrub

Sha256Hex = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
Finess = Annotated[str, StringConstraints(pattern=r"^(\d{9}|2[AB]\d{7})$")]
Rpps = Annotated[str, StringConstraints(pattern=r"^\d{11}$")]
InseeCode = Annotated[str, StringConstraints(pattern=r"^(\d{5}|2[AB]\d{3})$")]

EXPORT_NAMESPACE = uuid.UUID("6f0c3c1e-5b0a-4f55-9a59-2f1d0c2a7e11")
"""Namespace of every deterministic UUID an export derives (uuid5)."""

OID_ID_NAT_PS = "1.2.250.1.71.4.2.1"
OID_ID_NAT_STRUCT = "1.2.250.1.71.4.2.2"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class VersionKind(StrEnum):
    """Kind of the stored version being exported."""

    DRAFT = "draft"
    CHECKPOINT = "checkpoint"
    VALIDATED = "validated"
    AVENANT = "avenant"

    @property
    def is_draft(self) -> bool:
        """True for versions that were never validated (only watermarked PDFs allowed)."""
        return self in (VersionKind.DRAFT, VersionKind.CHECKPOINT)

    @property
    def label_fr(self) -> str:
        """French label shown in documents."""
        return {
            VersionKind.DRAFT: "Brouillon",
            VersionKind.CHECKPOINT: "Version de travail",
            VersionKind.VALIDATED: "Version validée",
            VersionKind.AVENANT: "Avenant validé",
        }[self]


class InsOid(StrEnum):
    """OIDs of the INS identifier kinds (FR Core slices)."""

    NIR = "1.2.250.1.213.1.4.8"
    NIA = "1.2.250.1.213.1.4.9"
    TEST = "1.2.250.1.213.1.4.10"
    DEMO = "1.2.250.1.213.1.4.11"

    @property
    def type_code(self) -> str:
        """FR Core ``fr-core-v2-0203`` identifier type code."""
        return {
            InsOid.NIR: "INS-NIR",
            InsOid.NIA: "INS-NIA",
            InsOid.TEST: "INS-NIR-TEST",
            InsOid.DEMO: "INS-NIR-DEMO",
        }[self]

    @property
    def use(self) -> str:
        """FHIR ``Identifier.use`` for this INS kind (NIA: temp)."""
        return "temp" if self is InsOid.NIA else "official"


class Sexe(StrEnum):
    """Administrative sex of the INS (M, F, or unknown)."""

    MASCULIN = "M"
    FEMININ = "F"
    INDETERMINE = "U"


def ins_key(matricule13: str) -> int:
    """Return the 2-digit key of a 13-character NIR/NIA (Corsica 2A -> 19, 2B -> 18)."""
    digits = matricule13.upper().replace("2A", "19").replace("2B", "18")
    return 97 - (int(digits) % 97)


def ins_is_valid(matricule: str) -> bool:
    """True if ``matricule`` is 15 characters whose last two are the key of the first 13."""
    if not re.fullmatch(r"[12378]\d{4}(\d{2}|2A|2B)\d{6}\d{2}", matricule.upper()):
        return False
    return ins_key(matricule[:13]) == int(matricule[13:])


class Person(_Frozen):
    """The person accompanied, with the INS traits (qualified identity)."""

    ins: Annotated[str, StringConstraints(min_length=15, max_length=15)]
    ins_oid: InsOid = InsOid.NIR
    birth_family_name: str
    used_name: str = ""
    first_names: tuple[str, ...] = Field(min_length=1)
    """Birth-certificate first names, in order; the first one is the INS first name."""
    used_first_name: str = ""
    birth_date: date
    sex: Sexe
    birthplace_insee: InseeCode
    local_id: str = Field(min_length=1, max_length=64)
    """The person's id in the structure's DUI (TDDUI identifier ``3+FINESS/localId``)."""

    @model_validator(mode="after")
    def _check_ins(self) -> Person:
        if not ins_is_valid(self.ins):
            raise ValueError("matricule INS invalide (15 caractères, clé de contrôle)")
        return self

    @property
    def display_family(self) -> str:
        """Used name if any, else birth name."""
        return self.used_name or self.birth_family_name

    @property
    def display_given(self) -> str:
        """Used first name if any, else the first birth first name."""
        return self.used_first_name or self.first_names[0]

    @property
    def display_name(self) -> str:
        """``Prénom NOM`` as written on documents."""
        return f"{self.display_given} {self.display_family.upper()}"


class Structure(_Frozen):
    """The ESSMS responsible for the PPA (custodian of the documents)."""

    finess: Finess
    name: str
    facility_type_code: str = "SA16"
    """healthcareFacilityTypeCode, TRE_R02 / JDV_J02 (SA16, SA17, SA41...)."""
    facility_type_label: str = "Etablissement pour personnes handicapées"
    practice_setting_code: str = "ESSMS"
    practice_setting_label: str = "Etablissement ou Service Social ou Médico-Social"
    address_lines: tuple[str, ...] = ()
    postal_code: str = ""
    city: str = ""

    @property
    def id_nat_struct(self) -> str:
        """idNat_Struct (``1`` + FINESS)."""
        return "1" + self.finess


class Professional(_Frozen):
    """A member of the cercle (name, optional RPPS, profession, structure)."""

    id: str
    family_name: str
    given_name: str
    rpps: Rpps | None = None
    profession_code: str | None = None
    """Code in TRE_G15 / JDV_J01 (e.g. ``G15_60``); CDA author code when present."""
    profession_label: str = ""
    structure_finess: Finess | None = None
    structure_name: str = ""
    local_id: str = ""
    email: str = ""
    """Agenda address (ATTENDEE mailto:) when known."""

    @property
    def display_name(self) -> str:
        """``Prénom NOM``."""
        return f"{self.given_name} {self.family_name.upper()}"

    def id_nat_ps(self, fallback_finess: str) -> str:
        """idNat_PS: ``8`` + RPPS, else ``3`` + FINESS/local id."""
        if self.rpps:
            return "8" + self.rpps
        return f"3{self.structure_finess or fallback_finess}/{self.local_id or self.id}"


class RelatedPerson(_Frozen):
    """A relative of the person in her cercle: her legal representative (TDDUI: FR Core
    RelatedPerson), with the measure he holds."""

    id: str
    """His cercle member id."""
    name: str
    measure: str = ""
    """French name of the protection measure (``tutelle``...), ``""`` when unknown."""
    scope: str = ""
    """What it covers (``personne``, ``biens``, ``personne_et_biens``), ``""`` when not said."""


class AccordRecord(_Frozen):
    """A resolved agreement: who, when, how (signed, oral, refused, not sought)."""

    id: str
    type: TypeAccord
    mode: ModeAccord
    by: str
    """Display name of who gave it."""
    by_professional_id: str | None = None
    by_related_id: str | None = None
    """For a legal representative's agreement: his id in :attr:`ExportInput.related_persons`."""
    witness: str = ""
    date: _dt.date | None = None
    reason: str = ""


MODE_ACCORD_FR: dict[ModeAccord, str] = {
    ModeAccord.SIGNE: "accord signé",
    ModeAccord.ORAL: "accord oral",
    ModeAccord.REFUSE: "refus",
    ModeAccord.NON_SOLLICITE: "non sollicité",
}

TYPE_ACCORD_FR: dict[TypeAccord, str] = {
    TypeAccord.STRUCTURE: "Structure",
    TypeAccord.PERSONNE: "Personne accompagnée",
    TypeAccord.REPRESENTANT: "Représentant légal",
}
"""Whose agreement, as the documents say it."""


class VersionMeta(_Frozen):
    """Metadata of the immutable version exported."""

    ppa_id: str
    number: int = Field(ge=1)
    kind: VersionKind
    label: str = ""
    content_hash: Sha256Hex
    created_at: datetime
    validated_at: datetime | None = None
    next_review: date | None = None
    series_id: uuid.UUID
    """Stable id of the document series (CDA setId): same for all versions/avenants of a PPA."""
    series_version: int = Field(default=1, ge=1)
    """Rank of this document in the series (CDA versionNumber)."""
    avenant_number: int | None = Field(default=None, ge=1)
    base_version: int | None = Field(default=None, ge=1)
    """For an avenant: the validated version it amends."""
    ppa_number: int = Field(default=1, ge=1)
    """Number of the projet for the person (TDDUI ``-PPER-n``)."""

    @model_validator(mode="after")
    def _check(self) -> VersionMeta:
        for dt in (self.created_at, self.validated_at):
            if dt is not None and dt.tzinfo is None:
                raise ValueError("les dates doivent porter un fuseau horaire")
        if self.kind is VersionKind.AVENANT and (
            self.avenant_number is None or self.base_version is None
        ):
            raise ValueError("un avenant doit indiquer son numéro et sa version de base")
        if not self.kind.is_draft and self.validated_at is None:
            raise ValueError("une version validée doit porter sa date de validation")
        return self

    @property
    def document_date(self) -> datetime:
        """Date the document stands for: validation date, else creation date."""
        return self.validated_at or self.created_at


class ExportInput(_Frozen):
    """Everything a renderer needs; built by the server from an immutable version.

    Every text is made XML-safe on the way in (:func:`editor.text_rules.scrub`), so that no
    renderer meets a character its format cannot carry.
    """

    content: PPAContent
    version: VersionMeta
    person: Person
    structure: Structure
    professionals: dict[str, Professional] = Field(default_factory=dict)
    accords: tuple[AccordRecord, ...] = ()
    """Resolved agreements; derived from ``content.accords`` when left empty."""
    related_persons: dict[str, RelatedPerson] = Field(default_factory=dict)
    """The person's relatives in her cercle (by member id): her legal representatives (their
    agreements, as RelatedPerson) and the others a meeting or a bilan names."""
    author_id: str
    """Professional who authored the version (CDA author)."""
    legal_authenticator_id: str | None = None
    """Professional who validated it (CDA legalAuthenticator); author when absent."""
    previous_contents: tuple[PPAContent, ...] = ()
    """Earlier versions of the same series, oldest first (agenda SEQUENCE, MDPH diff)."""
    generated_at: datetime
    """Generation time, used only by formats that require one (XDM submissionTime)."""

    @model_validator(mode="before")
    @classmethod
    def _xml_safe(cls, data: Any) -> Any:
        """Drop what XML 1.0 cannot carry from every text (an old version may hold a NUL)."""
        return scrub(data)

    @model_validator(mode="after")
    def _check(self) -> ExportInput:
        if self.author_id not in self.professionals:
            raise ValueError("l'auteur doit figurer parmi les professionnels")
        if (
            self.legal_authenticator_id is not None
            and self.legal_authenticator_id not in self.professionals
        ):
            raise ValueError("le responsable doit figurer parmi les professionnels")
        if self.generated_at.tzinfo is None:
            raise ValueError("generated_at doit porter un fuseau horaire")
        if not self.accords and self.content.accords:
            object.__setattr__(self, "accords", tuple(self._derive_accords()))
        return self

    def _derive_accords(self) -> list[AccordRecord]:
        out = []
        for a in self.content.accords:
            pro = self.professionals.get(a.par)
            related = self.related_persons.get(a.membre_id or "")
            out.append(
                AccordRecord(
                    id=a.id,
                    type=a.type,
                    mode=a.mode,
                    by=related.name if related else pro.display_name if pro else a.par,
                    by_professional_id=pro.id if pro else None,
                    by_related_id=related.id if related else None,
                    witness=a.temoin,
                    date=a.date,
                    reason=a.motif,
                )
            )
        return out

    @property
    def author(self) -> Professional:
        """The author professional."""
        return self.professionals[self.author_id]

    @property
    def legal_authenticator(self) -> Professional:
        """The validating professional (author when none given)."""
        return self.professionals[self.legal_authenticator_id or self.author_id]

    @property
    def next_review(self) -> date | None:
        """Next review date: version metadata, else the bilan's."""
        return self.version.next_review or self.content.bilan.prochaine_revision

    def professional_name(self, pro_id: str | None) -> str:
        """Display name of a professional id, or of a relative's member id (the id itself when
        unknown, '' for None)."""
        if not pro_id:
            return ""
        pro = self.professionals.get(pro_id)
        if pro is not None:
            return pro.display_name
        related = self.related_persons.get(pro_id)
        return related.name if related else pro_id

    def uuid_for(self, *parts: str) -> uuid.UUID:
        """Deterministic UUID for an item of this version (uuid5 of the hash and ``parts``)."""
        return uuid.uuid5(EXPORT_NAMESPACE, ":".join((self.version.content_hash, *parts)))

    @property
    def tddui_prefix(self) -> str:
        """TDDUI business identifier prefix ``3+FINESS/localId``."""
        return f"3{self.structure.finess}/{self.person.local_id}"

    @property
    def document_oid_root(self) -> str:
        """OID under which CDA document ids are minted (2.25 = UUID-derived OID)."""
        return "2.25." + str(self.version.series_id.int)


def uuid_oid(u: uuid.UUID) -> str:
    """The ``2.25.<integer>`` OID of a UUID (ISO/IEC 9834-8)."""
    return f"2.25.{u.int}"
