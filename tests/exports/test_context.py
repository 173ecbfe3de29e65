from __future__ import annotations

from datetime import datetime

import pytest
from pydantic import ValidationError

from exports.context import ExportInput, ins_is_valid, ins_key
from exports.sample import PERSON, sample_input


def test_ins_key_matches_the_ans_example_and_corsica_rule() -> None:
    assert ins_key("2790351215189") == 89  # ANS CDA example 279035121518989
    assert ins_is_valid("279035121518989")
    assert not ins_is_valid("279035121518988")
    corsica = "1822A12345678"
    assert ins_key(corsica) == 97 - int("1821912345678") % 97


def test_person_with_a_wrong_ins_key_is_refused() -> None:
    with pytest.raises(ValidationError, match="INS"):
        PERSON.model_validate({**PERSON.model_dump(), "ins": "208037511512368"})


def test_export_input_is_immutable_and_checks_its_references(validated: ExportInput) -> None:
    with pytest.raises(ValidationError):
        validated.author_id = "pro-psy"  # type: ignore[misc]
    data = validated.model_dump()
    data["author_id"] = "inconnu"
    with pytest.raises(ValidationError, match="auteur"):
        ExportInput.model_validate(data)
    data = validated.model_dump()
    data["generated_at"] = datetime(2026, 1, 1)
    with pytest.raises(ValidationError, match="fuseau"):
        ExportInput.model_validate(data)


def test_avenant_metadata_needs_number_and_base(avenant: ExportInput) -> None:
    data = avenant.model_dump()
    data["version"]["avenant_number"] = None
    with pytest.raises(ValidationError, match="avenant"):
        ExportInput.model_validate(data)


def test_accords_are_resolved_from_the_content(validated: ExportInput) -> None:
    by_type = {a.type.value: a for a in validated.accords}
    assert by_type["structure"].by == "Claire DURAND"
    assert by_type["structure"].by_professional_id == "pro-coord"
    assert by_type["personne"].by == "Léa MARTIN"
    assert by_type["personne"].witness == "Karim BENALI"


def test_uuid_for_is_deterministic_and_version_scoped() -> None:
    a, b = sample_input(), sample_input()
    assert a.uuid_for("x", "1") == b.uuid_for("x", "1")
    assert a.uuid_for("x", "1") != a.uuid_for("x", "2")
