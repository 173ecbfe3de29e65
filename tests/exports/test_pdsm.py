"""The PDSm ITI-65 bundle of a version: valid against the profile constraints the loopback DMP
checks, the same bytes for the same submission, an avenant replacing the version before it, the
MDPH fiche in its own series (no replacement)."""

from __future__ import annotations

import json
import uuid

from exports.cda import render_cda_document
from exports.context import ExportInput
from exports.dispatch import render_documents
from exports.pdsm import master_identifier, provide_bundle
from tests.server.transmissions.pdsm_checks import check_bundle

SUBMISSION = uuid.UUID("9a0c7e52-6f1b-4f0e-8d7a-2b7c4b1f9e10")


def _docref(bundle: dict[str, object]) -> dict[str, object]:
    entries = bundle["entry"]
    assert isinstance(entries, list)
    found: dict[str, object] = next(
        e["resource"] for e in entries if e["resource"]["resourceType"] == "DocumentReference"
    )
    return found


def test_bundle_meets_the_profile_and_is_stable(validated: ExportInput) -> None:
    cda = render_cda_document(validated)
    bundle = provide_bundle(validated, cda, SUBMISSION)
    assert check_bundle(bundle) == []
    again = provide_bundle(validated, render_cda_document(validated), SUBMISSION)
    assert json.dumps(again, sort_keys=True) == json.dumps(bundle, sort_keys=True)
    docref = _docref(bundle)
    assert docref["masterIdentifier"] == master_identifier(cda)
    assert "relatesTo" not in docref


def test_a_broken_bundle_is_caught(validated: ExportInput) -> None:
    bundle = provide_bundle(validated, render_cda_document(validated), SUBMISSION)
    docref = _docref(bundle)
    docref.pop("custodian")
    docref["content"][0]["attachment"]["size"] += 1  # type: ignore[index]
    assert check_bundle(bundle) == ["custodian 1..", "content.attachment.size = Binary size"]


def test_an_avenant_replaces_the_validated_version(
    validated: ExportInput, avenant: ExportInput
) -> None:
    before = master_identifier(render_cda_document(validated))
    bundle = provide_bundle(avenant, render_cda_document(avenant), SUBMISSION)
    assert check_bundle(bundle) == []
    assert _docref(bundle)["relatesTo"] == [{"code": "replaces", "target": {"identifier": before}}]


def test_the_mdph_fiche_is_its_own_document(avenant: ExportInput) -> None:
    docs = render_documents(avenant, "mdph")
    bundle = provide_bundle(avenant, docs.cda, SUBMISSION)
    assert check_bundle(bundle) == []
    docref = _docref(bundle)
    assert "relatesTo" not in docref
    assert docref["type"] == {
        "coding": [
            {
                "system": "http://loinc.org",
                "code": "28653-4",
                "display": "Document du secteur social / médico-social",
            }
        ]
    }
