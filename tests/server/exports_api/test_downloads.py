"""``GET /api/ppas/{id}/versions/{n}/exports/{format}`` on a real server and database."""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from icalendar import Calendar
from lxml import etree
from pypdf import PdfReader

from exports import registry
from tests.conftest import Api
from tests.server.exports_api.support import (
    COORD,
    ESMS,
    Validated,
    add_avenant,
    new_validated,
)

VALIDATED_FORMATS = [name for name in registry.FORMATS if not name.startswith("mdph")]
MDPH_FORMATS = [name for name in registry.FORMATS if name.startswith("mdph")]
RESTRICTED = [name for name, fmt in registry.FORMATS.items() if not fmt.drafts_allowed]


@pytest.fixture(scope="module")
def ppa(api_as: Callable[[str], Api], demo: dict[str, Any], settings: Any) -> Validated:
    return add_avenant(api_as, settings, new_validated(api_as, demo))


def url(v: Validated, number: int, fmt: str) -> str:
    return f"/api/ppas/{v.ppa_id}/versions/{number}/exports/{fmt}"


def chain_hash(api: Api, v: Validated, number: int) -> str:
    response = api.get(f"/api/ppas/{v.ppa_id}/versions/{number}")
    assert response.status_code == 200, response.text
    value: str = response.json()["chain_hash"]
    return value


def looks_like(fmt: str, data: bytes) -> None:
    """The bytes are a file of the announced kind."""
    media = registry.FORMATS[fmt].media_type
    if media == "application/pdf":
        assert data.startswith(b"%PDF-")
        assert PdfReader(io.BytesIO(data)).pages
    elif media in ("application/zip", registry.FORMATS["docx"].media_type):
        assert zipfile.ZipFile(io.BytesIO(data)).testzip() is None
    elif media == "application/fhir+json":
        assert json.loads(data)["resourceType"] == "Bundle"
    elif media == "application/xml":
        assert etree.fromstring(data).tag == "{urn:hl7-org:v3}ClinicalDocument"
    elif media == "text/calendar":
        assert Calendar.from_ical(data).walk("VEVENT")
    else:  # pragma: no cover - a new format needs a check here
        raise AssertionError(fmt)


@pytest.mark.parametrize("who", [COORD, ESMS])
@pytest.mark.parametrize("fmt", VALIDATED_FORMATS + MDPH_FORMATS)
def test_every_format_downloads_with_its_media_type_name_and_etag(
    ppa: Validated, api_as: Callable[[str], Api], fmt: str, who: str
) -> None:
    number = ppa.avenant if fmt in MDPH_FORMATS else ppa.validated
    assert number is not None
    response = api_as(who).get(url(ppa, number, fmt))
    assert response.status_code == 200, response.text
    spec = registry.FORMATS[fmt]
    assert response.headers["content-type"].split(";")[0] == spec.media_type
    suffix = "" if fmt in ("pdf", "docx", "fhir", "cda", "xdm", "ics") else f"-{fmt}"
    # named after the person (first name, family name in capitals), her projet's first year
    # and the version (issue 17), never by ids
    name = rf"PPA-[A-Z][A-Za-z-]*-[A-Z][A-Z-]*-20\d\d-v{number}{suffix}\.{spec.extension}"
    assert re.fullmatch(f'attachment; filename="{name}"', response.headers["content-disposition"])
    assert ppa.ppa_id not in response.headers["content-disposition"]
    assert response.headers["etag"] == f'"{chain_hash(api_as(COORD), ppa, number)}"'
    assert "no-cache" in response.headers["cache-control"]
    looks_like(fmt, response.content)


@pytest.mark.parametrize("fmt", VALIDATED_FORMATS)
def test_same_version_same_bytes_whoever_asks(
    ppa: Validated, api_as: Callable[[str], Api], fmt: str
) -> None:
    first = api_as(COORD).get(url(ppa, ppa.validated, fmt))
    second = api_as(ESMS).get(url(ppa, ppa.validated, fmt))
    assert first.status_code == second.status_code == 200
    assert first.content == second.content


def test_if_none_match_answers_304(ppa: Validated, api_as: Callable[[str], Api]) -> None:
    esms = api_as(ESMS)
    first = esms.get(url(ppa, ppa.validated, "fhir"))
    etag = first.headers["etag"]
    again = esms.get(url(ppa, ppa.validated, "fhir"), headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    listed = esms.get(url(ppa, ppa.validated, "fhir"), headers={"If-None-Match": f'"x", {etag}'})
    assert listed.status_code == 304
    other = esms.get(url(ppa, ppa.validated, "fhir"), headers={"If-None-Match": '"other"'})
    assert other.status_code == 200
    assert other.content == first.content
    # Another version of the same PPA has another ETag.
    avenant = esms.get(url(ppa, ppa.avenant or 0, "fhir"), headers={"If-None-Match": etag})
    assert avenant.status_code == 200
    assert avenant.headers["etag"] != etag


@pytest.mark.parametrize("fmt", RESTRICTED)
def test_a_draft_is_refused_for_the_dmp_the_dui_and_agendas(
    ppa: Validated, api_as: Callable[[str], Api], fmt: str
) -> None:
    response = api_as(COORD).get(url(ppa, ppa.draft, fmt))
    assert response.status_code == 409, response.text
    body = response.json()
    assert body["error"] == "Conflict"
    assert "brouillon" in body["detail"]
    assert registry.FORMATS[fmt].label in body["detail"]


def test_a_draft_pdf_is_watermarked(ppa: Validated, api_as: Callable[[str], Api]) -> None:
    draft = api_as(COORD).get(url(ppa, ppa.draft, "pdf"))
    assert draft.status_code == 200, draft.text
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(draft.content)).pages)
    assert "BROUILLON" in text
    validated = api_as(COORD).get(url(ppa, ppa.validated, "pdf"))
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(validated.content)).pages)
    assert "BROUILLON" not in text


def test_esms_and_auditor_see_validated_versions_only(
    ppa: Validated, api_as: Callable[[str], Api]
) -> None:
    for who in (ESMS, "auditeur"):
        response = api_as(who).get(url(ppa, ppa.draft, "pdf"))
        assert response.status_code == 403, (who, response.text)
        assert api_as(who).get(url(ppa, ppa.validated, "pdf")).status_code == 200


def test_errors_for_unknown_things(ppa: Validated, api_as: Callable[[str], Api]) -> None:
    coord = api_as(COORD)
    unknown_format = coord.get(url(ppa, ppa.validated, "odt"))
    assert unknown_format.status_code == 404
    assert "odt" in unknown_format.json()["detail"]
    assert coord.get(url(ppa, 999, "pdf")).status_code == 404
    assert coord.get("/api/ppas/no-such-ppa/versions/1/exports/pdf").status_code == 404
    assert api_as("admin").get(url(ppa, ppa.validated, "pdf")).status_code == 404
    assert api_as("anonymous").get(url(ppa, ppa.validated, "pdf")).status_code == 401


def test_mdph_sheet_needs_an_avenant(ppa: Validated, api_as: Callable[[str], Api]) -> None:
    response = api_as(COORD).get(url(ppa, ppa.validated, "mdph"))
    assert response.status_code == 409
    assert "avenant" in response.json()["detail"]


def test_avenant_agenda_keeps_uids_bumps_sequence_and_cancels_removed(
    ppa: Validated, api_as: Callable[[str], Api]
) -> None:
    def events(number: int) -> dict[str, Any]:
        data = api_as(ESMS).get(url(ppa, number, "ics")).content
        return {str(e["UID"]): e for e in Calendar.from_ical(data).walk("VEVENT")}

    before, after = events(ppa.validated), events(ppa.avenant or 0)
    moved = f"{ppa.moved_action_id}@ppa-collab"
    removed = f"{ppa.removed_action_id}@ppa-collab"
    assert set(before) == set(after)
    assert int(after[moved]["SEQUENCE"]) == int(before[moved]["SEQUENCE"]) + 1
    assert str(after[removed]["STATUS"]) == "CANCELLED"
    assert int(after[removed]["SEQUENCE"]) == int(before[removed]["SEQUENCE"]) + 1
    assert after[moved].decoded("DTSTART").hour == 19


def test_exports_are_frozen_with_the_identity_at_validation(
    api_as: Callable[[str], Api], demo: dict[str, Any]
) -> None:
    fresh = new_validated(api_as, demo)
    before = api_as(ESMS).get(url(fresh, fresh.validated, "fhir"))
    assert before.status_code == 200
    renamed = api_as(COORD).patch(
        f"/api/persons/{fresh.person_id}", json={"used_name": "NOUVEAUNOM"}
    )
    assert renamed.status_code == 200, renamed.text
    after = api_as(ESMS).get(url(fresh, fresh.validated, "fhir"))
    assert after.content == before.content
    assert b"NOUVEAUNOM" not in after.content


def test_concurrent_first_exports_agree(api_as: Callable[[str], Api], demo: dict[str, Any]) -> None:
    """Eight simultaneous first downloads race on freezing the context and render in parallel
    worker threads: one frozen context, the same bytes for all."""
    fresh = new_validated(api_as, demo)
    api = api_as(COORD)
    with ThreadPoolExecutor(8) as pool:
        answers = list(
            pool.map(lambda fmt: api.get(url(fresh, fresh.validated, fmt)), ["pdf", "cda"] * 4)
        )
    assert all(a.status_code == 200 for a in answers), [a.text for a in answers]
    assert len({a.content for a in answers[0::2]}) == 1
    assert len({a.content for a in answers[1::2]}) == 1


def test_export_without_a_structure_is_refused(
    api_as: Callable[[str], Api], demo: dict[str, Any]
) -> None:
    fresh = new_validated(api_as, demo, structure=None)
    response = api_as(COORD).get(url(fresh, fresh.validated, "pdf"))
    assert response.status_code == 409
    assert "structure" in response.json()["detail"]


def test_every_export_is_traced(ppa: Validated, api_as: Callable[[str], Api]) -> None:
    assert api_as(ESMS).get(url(ppa, ppa.validated, "cda")).status_code == 200
    trail = api_as("auditeur").get(f"/api/persons/{ppa.person_id}/audit")
    assert trail.status_code == 200, trail.text
    exports = [
        e
        for e in trail.json()
        if e["action"] == f"ppa.export:cda:v{ppa.validated}" and e["object_id"] == ppa.ppa_id
    ]
    assert exports
    assert exports[-1]["actor_type"] == "api_client"
    assert exports[-1]["role"] == "esms"
