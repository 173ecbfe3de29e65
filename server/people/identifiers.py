"""National identifiers: INS matricule (NIR/NIA), RPPS, FINESS. Pure functions, French messages."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum


class InsSystem(StrEnum):
    """Identifier systems of the INS matricule (FR Core patient-ins slices)."""

    NIR = "nir"
    NIA = "nia"
    TEST = "test"
    DEMO = "demo"


INS_OIDS: dict[InsSystem, str] = {
    InsSystem.NIR: "1.2.250.1.213.1.4.8",
    InsSystem.NIA: "1.2.250.1.213.1.4.9",
    InsSystem.TEST: "1.2.250.1.213.1.4.10",
    InsSystem.DEMO: "1.2.250.1.213.1.4.11",
}
OID_TO_INS_SYSTEM = {oid: system for system, oid in INS_OIDS.items()}

_INS_RE = re.compile(r"^[1-478]\d{4}(\d{2}|2[AB])\d{6}\d{2}$")


class IdentifierError(ValueError):
    """An identifier is malformed; ``str(error)`` is a French message for people."""


@dataclass(frozen=True, slots=True)
class Ins:
    matricule: str
    system: InsSystem

    @property
    def oid(self) -> str:
        return INS_OIDS[self.system]


def ins_key(number13: str) -> int:
    """Key of a 13-character NIR/NIA: 97 - (number mod 97), Corsica 2A -> 19, 2B -> 18."""
    digits = number13.upper().replace("2A", "19").replace("2B", "18")
    if len(digits) != 13 or not digits.isdigit():
        raise IdentifierError("numéro INS invalide : 13 chiffres attendus avant la clé")
    return 97 - int(digits) % 97


def validate_ins(matricule: str, system: InsSystem | None = None) -> Ins:
    """Check an INS matricule (15 characters: 13-character NIR/NIA + 2-digit key)."""
    value = matricule.strip().replace(" ", "").upper()
    if len(value) != 15:
        raise IdentifierError(
            f"matricule INS invalide : 15 caractères attendus, {len(value)} reçus"
        )
    if not _INS_RE.match(value):
        raise IdentifierError(
            "matricule INS invalide : le 1er caractère doit être 1, 2, 3, 4, 7 ou 8, "
            "puis des chiffres (2A/2B admis pour le département)"
        )
    expected = ins_key(value[:13])
    if int(value[13:]) != expected:
        raise IdentifierError(f"clé INS invalide (clé attendue : {expected:02d})")
    if system is None:
        system = InsSystem.NIA if value[0] in "78" else InsSystem.NIR
    elif system is InsSystem.NIA and value[0] not in "78":
        raise IdentifierError("un NIA commence par 7 ou 8")
    return Ins(value, system)


def luhn_valid(digits: str) -> bool:
    """Luhn (mod 10) check over a string of digits, key included as the last digit."""
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def luhn_key(payload: str) -> str:
    """The Luhn check digit to append to ``payload``."""
    for key in "0123456789":
        if luhn_valid(payload + key):
            return key
    raise AssertionError("unreachable")


def validate_rpps(rpps: str) -> str:
    """RPPS: 11 digits, the last one a Luhn key."""
    value = rpps.strip()
    if len(value) != 11 or not value.isdigit():
        raise IdentifierError("numéro RPPS invalide : 11 chiffres attendus")
    if not luhn_valid(value):
        raise IdentifierError("clé RPPS invalide")
    return value


def validate_finess(finess: str) -> str:
    """FINESS: 9 characters (department 2 characters, 2A/2B for Corsica), Luhn key last."""
    value = finess.strip().upper()
    if len(value) != 9 or not re.match(r"^(\d{2}|2[AB])\d{7}$", value):
        raise IdentifierError(
            "numéro FINESS invalide : 9 caractères attendus (chiffres, 2A/2B pour la Corse)"
        )
    # The Luhn key is only defined here for numeric FINESS; Corsican numbers are checked by form.
    if value.isdigit() and not luhn_valid(value):
        raise IdentifierError("clé FINESS invalide")
    return value
