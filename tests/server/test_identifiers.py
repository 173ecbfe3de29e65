from __future__ import annotations

import pytest

from server.people.identifiers import (
    IdentifierError,
    InsSystem,
    ins_key,
    luhn_key,
    validate_finess,
    validate_ins,
    validate_rpps,
)


class TestIns:
    def test_ans_example_key_is_89(self) -> None:
        assert ins_key("2790351215189") == 89
        ins = validate_ins("279035121518989")
        assert ins.matricule == "279035121518989"
        assert ins.system is InsSystem.NIR
        assert ins.oid == "1.2.250.1.213.1.4.8"

    def test_ans_example_as_test_identity(self) -> None:
        assert validate_ins("279035121518989", InsSystem.TEST).oid == "1.2.250.1.213.1.4.10"

    @pytest.mark.parametrize("key", ["00", "88", "90", "97"])
    def test_wrong_key_is_refused(self, key: str) -> None:
        with pytest.raises(IdentifierError, match="clé INS invalide"):
            validate_ins("2790351215189" + key)

    def test_corsica_2a_and_2b(self) -> None:
        for dept, digits in (("2A", "19"), ("2B", "18")):
            number = f"18506{dept}004012"
            expected = 97 - int(number.replace(dept, digits)) % 97
            assert ins_key(number) == expected
            assert validate_ins(f"{number}{expected:02d}").matricule == f"{number}{expected:02d}"
            wrong = (expected + 1) % 97
            with pytest.raises(IdentifierError, match="clé INS invalide"):
                validate_ins(f"{number}{wrong:02d}")

    def test_nia_detected_from_first_digit(self) -> None:
        number = "7980469123045"
        ins = validate_ins(f"{number}{ins_key(number):02d}")
        assert ins.system is InsSystem.NIA
        assert ins.oid == "1.2.250.1.213.1.4.9"

    def test_nia_system_requires_7_or_8(self) -> None:
        with pytest.raises(IdentifierError, match="NIA"):
            validate_ins("279035121518989", InsSystem.NIA)

    @pytest.mark.parametrize(
        ("value", "reason"),
        [
            ("27903512151898", "15 caractères"),
            ("2790351215189899", "15 caractères"),
            ("579035121518989", "1er caractère"),
            ("27903512151X989", "1er caractère"),
            ("", "15 caractères"),
        ],
    )
    def test_malformed(self, value: str, reason: str) -> None:
        with pytest.raises(IdentifierError, match=reason):
            validate_ins(value)


class TestRpps:
    def test_valid(self) -> None:
        rpps = "1000212345" + luhn_key("1000212345")
        assert validate_rpps(rpps) == rpps

    def test_wrong_key(self) -> None:
        rpps = "1000212345" + str((int(luhn_key("1000212345")) + 1) % 10)
        with pytest.raises(IdentifierError, match="clé RPPS invalide"):
            validate_rpps(rpps)

    @pytest.mark.parametrize("value", ["123", "1000212345a", "100021234567"])
    def test_malformed(self, value: str) -> None:
        with pytest.raises(IdentifierError, match="11 chiffres"):
            validate_rpps(value)


class TestFiness:
    def test_valid_real_number(self) -> None:
        assert validate_finess("750712184") == "750712184"

    def test_wrong_key(self) -> None:
        with pytest.raises(IdentifierError, match="clé FINESS invalide"):
            validate_finess("750712185")

    def test_corsica_form(self) -> None:
        assert validate_finess("2A0000123") == "2A0000123"

    @pytest.mark.parametrize("value", ["75071218", "7507121840", "2C0000123", "ABCDEFGHI"])
    def test_malformed(self, value: str) -> None:
        with pytest.raises(IdentifierError, match="9 caractères"):
            validate_finess(value)
