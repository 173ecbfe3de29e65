"""The diff's field kinds come from the content model (``editor.schema``), not from a list."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel

from editor.catalogue import FIELD_LABELS
from editor.schema import MemberRef, SerafinCode
from versions import diff


def test_every_labelled_field_has_its_kind() -> None:
    assert set(diff._KINDS) == set(FIELD_LABELS) - {"planning"}


def test_kinds_follow_the_model() -> None:
    expected = {
        "code": "code",
        "prestations": "codes",
        "referent_id": "link",
        "besoin_ids": "links",
        "objectif_ids": "links",
        "intervenant_ids": "links",
        "date": "date",
        "date_debut": "date",
        "prochaine_revision": "date",
        "statut": "value",
        "type": "value",
        "planning.jours": "value",
        "planning.heure_debut": "value",
        "planning.intervalle": "value",
        "planning.duree_minutes": "value",
        "planning.lieu": "text",
        "titre": "text",
        "par": "text",
        "projet_de_vie": "text",
    }
    assert {name: diff._KINDS[name] for name in expected} == expected


def test_a_new_field_gets_its_kind_from_its_type() -> None:
    class Extra(BaseModel):
        codes: list[SerafinCode]
        member: MemberRef | None
        note: str
        level: Annotated[int, "unrelated metadata"]

    kinds = {
        name: diff._kind_of(info.annotation, info.metadata)
        for name, info in Extra.model_fields.items()
    }
    assert kinds == {"codes": "codes", "member": "link", "note": "text", "level": "value"}
