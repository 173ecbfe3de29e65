from __future__ import annotations

import hashlib
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from server.people.identifiers import (
    IdentifierError,
    InsSystem,
    ins_key,
    luhn_key,
    validate_finess,
    validate_ins,
    validate_rpps,
)
from tests.conftest import DatabaseInfo
from tests.server.helpers import person_body


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


# --------------------------------------------------------------------------- literal vectors
# Computed by hand (independently of server.people.identifiers); the arithmetic is in comments.


class TestInsCorsicaLiterals:
    """Corsica: the department 2A / 2B counts as 19 / 18 in the key computation (standards.md).

    Number ``2 91 11 2A 004 123`` (woman born in November 1991, Ajaccio 2A004, order 123):
    with 2A -> 19: 2911119004123 (that is 29111 20 004123 - 1,000,000).
    97 x 30011536124 = 2911119004028, so 2911119004123 mod 97 = 95 and the key is 97 - 95 = 02.
    Same number in 2B -> 18: 2911118004123 (29111 20 004123 - 2,000,000).
    97 x 30011525815 = 2911118004055, so 2911118004123 mod 97 = 68 and the key is 97 - 68 = 29.
    A validator that read 2A as 20 (no substitution) would expect: 2911120004123 mod 97 = 25
    (97 x 30011546434 = 2911120004098), key 72.
    """

    INS_2A = "291112A00412302"
    INS_2B = "291112B00412329"

    def test_2a_valid(self) -> None:
        ins = validate_ins(self.INS_2A)
        assert ins.matricule == self.INS_2A
        assert ins.system is InsSystem.NIR

    def test_2b_valid(self) -> None:
        assert validate_ins(self.INS_2B).matricule == self.INS_2B

    def test_lower_case_department_is_read_as_upper_case(self) -> None:
        assert validate_ins("291112a00412302").matricule == self.INS_2A

    @pytest.mark.parametrize(
        "value",
        [
            "291112A00412303",  # 2A, key 03 instead of 02
            "291112A00412329",  # 2A with the 2B key
            "291112B00412302",  # 2B with the 2A key
            "291112A00412372",  # the key of 2A read as 20
            "291112B00412372",  # the key of 2B read as 20
        ],
    )
    def test_wrong_key_refused(self, value: str) -> None:
        with pytest.raises(IdentifierError, match="clé INS invalide"):
            validate_ins(value)


class TestRppsLiterals:
    """Luhn over 11 digits: from the right, every second digit doubled (minus 9 above 9); the
    sum must be a multiple of 10."""

    def test_valid(self) -> None:
        # 1 0 0 1 2 3 4 5 6 7 3 -> 1 0 0 2 2 6 4 10-9=1 6 14-9=5 3 = 30
        assert validate_rpps("10012345673") == "10012345673"

    @pytest.mark.parametrize(
        "value",
        [
            "10012345674",  # key 4: sum 31
            "10012335673",  # one digit changed (4 -> 3): sum 29
            # The examples of standards.md ("8" + RPPS: 810005678901, and the CDA author
            # 801234534765) are illustrative numbers whose last digit is not a Luhn key:
            "10005678901",  # 1 0 0 0 5 3 7 7 9 0 1 = 33
            "01234534765",  # 0 2 2 6 4 1 3 8 7 3 5 = 41
        ],
    )
    def test_invalid(self, value: str) -> None:
        with pytest.raises(IdentifierError, match="clé RPPS invalide"):
            validate_rpps(value)


class TestFinessLiterals:
    """Luhn over the 9 digits of a numeric FINESS."""

    @pytest.mark.parametrize(
        "value",
        [
            "691234561",  # 6 18-9=9 1 4 3 8 5 12-9=3 1 = 40
            "750712184",  # AP-HP: 7 10-9=1 0 14-9=5 1 4 1 16-9=7 4 = 30
        ],
    )
    def test_valid(self, value: str) -> None:
        assert validate_finess(value) == value

    @pytest.mark.parametrize(
        "value",
        [
            "691234562",  # key 2: sum 41
            "691243561",  # two digits swapped (34 -> 43): 6 9 1 4 4 6 5 3 1 = 39
            # The FINESS inside standards.md's TDDUI/CDA examples ("3" + 480787529/...,
            # "1" + 120459876) are illustrative numbers without a Luhn key:
            "480787529",  # 4 7 0 5 8 5 5 4 9 = 47
            "120459876",  # 1 4 0 8 5 9 8 5 6 = 46
        ],
    )
    def test_invalid(self, value: str) -> None:
        with pytest.raises(IdentifierError, match="clé FINESS invalide"):
            validate_finess(value)


# --------------------------------------------------------------------------- over HTTP


def test_person_with_a_corsican_ins_through_the_api(api_as: Any) -> None:
    coord = api_as("coordinatrice")
    body = person_body(
        ins_matricule=TestInsCorsicaLiterals.INS_2A,
        birth_date="1991-11-05",
        sex="F",
        birthplace_insee="2A004",
    )
    created = coord.post("/api/persons", json=body)
    assert created.status_code == 201, created.text
    assert created.json()["ins_matricule"] == "291112A00412302"
    read = coord.get(f"/api/persons/{created.json()['id']}")
    assert read.status_code == 200, read.text
    assert read.json()["ins_matricule"] == "291112A00412302"
    assert read.json()["birthplace_insee"] == "2A004"

    wrong = coord.post(
        "/api/persons", json={**body, "ins_matricule": TestInsCorsicaLiterals.INS_2A[:13] + "29"}
    )
    assert wrong.status_code == 422, wrong.text
    assert wrong.json()["error"] == "InvalidInput"
    assert "ins_matricule" in wrong.json()["detail"]
    assert "clé INS invalide" in wrong.json()["detail"]


def test_api_client_token_is_stored_only_as_a_hash(api_as: Any, database: DatabaseInfo) -> None:
    created = api_as("admin").post("/api/api-clients", json={"name": "Logiciel DUI de test"})
    assert created.status_code == 201, created.text
    token = created.json()["token"]
    client_id = created.json()["id"]
    me = httpx.get(
        f"{api_as('anonymous').client.base_url}/api/auth/me",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert me.status_code == 200, me.text
    assert me.json()["id"] == client_id

    engine = sa.create_engine(database.sync_url)
    try:
        with engine.connect() as conn:
            row = conn.execute(
                sa.text("SELECT * FROM api_clients WHERE id = :id"), {"id": client_id}
            ).one()
    finally:
        engine.dispose()
    stored = row._asdict()
    assert stored["token_hash"] == hashlib.sha256(token.encode()).hexdigest()
    secret_part = token.rsplit("_", 1)[1]
    for column, value in stored.items():
        assert token not in str(value), column
        assert secret_part not in str(value), column
