"""FHIR R4 read API at ``/fhir`` (JSON, ``application/fhir+json``): the DUI's view of the PPA
(TDDUI CarePlan) and of the cercle (CDS CareTeam). See docs/fhir-api.md."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Header, Path, Query, Request, Response

from server import authz
from server.audit.trail import AuditTrail, audited
from server.authz import Capability
from server.config import Settings
from server.db import utcnow
from server.deps import SessionDep, SettingsDep
from server.errors import NotFound
from server.fhir import service
from server.fhir.capability import capability_statement
from server.fhir.outcome import fhir_response

router = APIRouter(prefix="/fhir", tags=["fhir"])

Json = dict[str, Any]
IDENT = Query(
    alias="patient.identifier",
    max_length=80,
    pattern=r"^urn:oid:1\.2\.250\.1\.213\.1\.4\.(8|9|10|11)\|[0-9A-Za-z]{1,40}$",
    description="INS de la personne : <système>|<matricule>",
)
ID_PATH = Path(max_length=36, pattern=r"^[A-Za-z0-9_.-]{1,36}$")
IfNoneMatch = Annotated[str | None, Header(max_length=200)]
IfModifiedSince = Annotated[str | None, Header(max_length=100)]


def _ok(
    description: str, *, not_modified: bool = False, search: bool = False, export: bool = False
) -> Any:
    out: dict[int | str, dict[str, Any]] = {
        200: {
            "description": description,
            "content": {"application/fhir+json": {"schema": {"type": "object"}}},
        }
    }
    if not_modified:
        out[304] = {"description": "Inchangé depuis l'ETag donné (If-None-Match)"}
    if search:
        out[400] = {"description": "Recherche invalide (OperationOutcome)"}
    if export:
        out[409] = {
            "description": "Le PPA ne peut pas être exporté en TDDUI : sa personne n'est "
            "rattachée à aucune structure (FINESS) (OperationOutcome)"
        }
    return out


def _base(request: Request, settings: Settings) -> str:
    return settings.resolved_public_url() + "/fhir"


def _searchset(base: str, rtype: str, resources: list[Json], patient_identifier: str) -> Json:
    """A searchset; its ``self`` link states the parameters actually used (FHIR search: the
    server SHALL return them; any other parameter sent was ignored)."""
    used = urlencode({"patient.identifier": patient_identifier})
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "link": [{"relation": "self", "url": f"{base}/{rtype}?{used}"}],
        "total": len(resources),
        "entry": [
            {
                "fullUrl": f"{base}/{rtype}/{r['id']}",
                "resource": r,
                "search": {"mode": "match"},
            }
            for r in resources
        ],
    }


def _last_modified(resource: Json) -> datetime | None:
    stamp = resource.get("meta", {}).get("lastUpdated")
    if not stamp:
        return None
    at = datetime.fromisoformat(stamp)
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def _not_modified_since(header: str | None, last_modified: datetime | None) -> bool:
    """``If-Modified-Since`` (RFC 9110 13.1.3): unchanged since that HTTP-date; an invalid
    date is ignored."""
    if not header or last_modified is None:
        return False
    try:
        since = parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return False
    if since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    return last_modified.replace(microsecond=0) <= since


def _resource(
    resource: Json, if_none_match: str | None, if_modified_since: str | None = None
) -> Response:
    """A read: ``ETag``, ``Last-Modified`` (from ``meta.lastUpdated``), and 304 when the
    caller's copy is current (``If-None-Match``; without it, ``If-Modified-Since``)."""
    etag = service.weak_etag(resource)
    headers = {"ETag": etag}
    last_modified = _last_modified(resource)
    if last_modified is not None:
        headers["Last-Modified"] = format_datetime(last_modified.astimezone(UTC), usegmt=True)
    if (
        service.etag_matches(if_none_match, etag)
        if if_none_match
        else _not_modified_since(if_modified_since, last_modified)
    ):
        return Response(status_code=304, headers=headers)
    return fhir_response(resource, headers=headers)


@router.get("/metadata", response_class=Response, responses=_ok("CapabilityStatement"))
async def metadata(request: Request, settings: SettingsDep) -> Response:
    """CapabilityStatement: what this FHIR server serves (no token needed, no data)."""
    return fhir_response(
        capability_statement(_base(request, settings), utcnow().date().isoformat())
    )


@router.get(
    "/CarePlan",
    response_class=Response,
    responses=_ok("Bundle searchset", search=True, export=True),
)
async def search_careplans(
    request: Request,
    settings: SettingsDep,
    audit: Annotated[AuditTrail, audited("fhir.careplan.search")],
    session: SessionDep,
    patient_identifier: Annotated[str, IDENT],
) -> Response:
    """The PPAs of the person named by INS, one CarePlan each (searchset)."""
    person = await service.find_person(session, audit.principal, patient_identifier)
    found = (
        []
        if person is None
        else await service.careplans_of_person(session, audit.principal, person)
    )
    if person is not None:
        await audit.person(person.id)
        await audit.each("ppa", [(ppa.id, ppa.person_id) for ppa, _ in found])
    careplans = [cp for _, cp in found]
    return fhir_response(
        _searchset(_base(request, settings), "CarePlan", careplans, patient_identifier)
    )


@router.get(
    "/CarePlan/{ppa_id}",
    response_class=Response,
    responses=_ok("CarePlan", not_modified=True, export=True),
)
async def read_careplan(
    ppa_id: Annotated[str, ID_PATH],
    audit: Annotated[AuditTrail, audited("fhir.careplan.read")],
    session: SessionDep,
    if_none_match: IfNoneMatch = None,
    if_modified_since: IfModifiedSince = None,
) -> Response:
    """The PPA as a TDDUI CarePlan: its last validated version (a writer's draft: status=draft)."""
    ppa = await service.get_ppa(session, audit.principal, ppa_id)
    version = await service.served_version(session, audit.principal, ppa)
    if version is None:
        raise NotFound("Ce PPA n'a pas encore de version validée.")
    careplan = await service.careplan_of(session, ppa, version)
    await audit.ppa(ppa)
    return _resource(careplan, if_none_match, if_modified_since)


@router.get(
    "/CarePlan/{ppa_id}/_history",
    response_class=Response,
    responses=_ok("Bundle history", export=True),
)
async def careplan_history(
    request: Request,
    settings: SettingsDep,
    ppa_id: Annotated[str, ID_PATH],
    audit: Annotated[AuditTrail, audited("fhir.careplan.history")],
    session: SessionDep,
    count: Annotated[int, Query(alias="_count", ge=1, le=50)] = 10,
    offset: Annotated[
        int,
        Query(
            alias="_offset",
            ge=0,
            le=10**6,
            description="Versions à sauter (pagination : suivre le lien next du Bundle)",
        ),
    ] = 0,
) -> Response:
    """The PPA's versions the caller reads, newest first (history Bundle), a page of `_count`
    from `_offset`; `total` counts them all and the `next` / `previous` links page through."""
    ppa = await service.get_ppa(session, audit.principal, ppa_id)
    base = _base(request, settings)
    total = await service.count_visible_versions(session, audit.principal, ppa)
    entries = []
    versions = await service.visible_versions(session, audit.principal, ppa, count, offset)
    for version in versions:
        careplan = await service.careplan_of(session, ppa, version)
        entries.append(
            {
                "fullUrl": f"{base}/CarePlan/{ppa.id}",
                "resource": careplan,
                "request": {"method": "PUT", "url": f"CarePlan/{ppa.id}"},
                "response": {
                    "status": "200 OK",
                    "etag": service.weak_etag(careplan),
                    "lastModified": service.instant(version),
                },
            }
        )
    await audit.ppa(ppa)

    def page(at: int) -> str:
        query = urlencode({"_count": count, **({"_offset": at} if at else {})})
        return f"{base}/CarePlan/{ppa.id}/_history?{query}"

    links = [{"relation": "self", "url": page(offset)}]
    if offset + count < total:
        links.append({"relation": "next", "url": page(offset + count)})
    if offset > 0:
        links.append({"relation": "previous", "url": page(max(0, offset - count))})
    return fhir_response(
        {
            "resourceType": "Bundle",
            "type": "history",
            "link": links,
            "total": total,
            "entry": entries,
        }
    )


@router.get(
    "/CarePlan/{ppa_id}/_history/{number}",
    response_class=Response,
    responses=_ok("CarePlan (version)", not_modified=True, export=True),
)
async def vread_careplan(
    ppa_id: Annotated[str, ID_PATH],
    number: Annotated[int, Path(ge=1, le=10**9)],
    audit: Annotated[AuditTrail, audited("fhir.careplan.vread")],
    session: SessionDep,
    if_none_match: IfNoneMatch = None,
    if_modified_since: IfModifiedSince = None,
) -> Response:
    """One version of the PPA as a CarePlan (drafts to the members who write only)."""
    ppa = await service.get_ppa(session, audit.principal, ppa_id)
    version = await service.readable_version(session, audit.principal, ppa, number)
    careplan = await service.careplan_of(session, ppa, version)
    await audit.ppa(ppa)
    return _resource(careplan, if_none_match, if_modified_since)


@router.get("/CareTeam", response_class=Response, responses=_ok("Bundle searchset", search=True))
async def search_careteams(
    request: Request,
    settings: SettingsDep,
    audit: Annotated[AuditTrail, audited("fhir.careteam.search")],
    session: SessionDep,
    patient_identifier: Annotated[str, IDENT],
) -> Response:
    """The cercle of the person named by INS (CDS cds-ihe-careteam), searchset."""
    person = await service.find_person(session, audit.principal, patient_identifier)
    teams = [] if person is None else [await service.careteam_of(session, person)]
    if person is not None:
        await audit.person(person.id)
    return fhir_response(
        _searchset(_base(request, settings), "CareTeam", teams, patient_identifier)
    )


@router.get(
    "/CareTeam/{person_id}", response_class=Response, responses=_ok("CareTeam", not_modified=True)
)
async def read_careteam(
    person_id: Annotated[str, ID_PATH],
    audit: Annotated[AuditTrail, audited("fhir.careteam.read")],
    session: SessionDep,
    if_none_match: IfNoneMatch = None,
) -> Response:
    """The cercle of the person (id = the person's id) as a CareTeam."""
    person = await authz.get_person(session, audit.principal, person_id, Capability.SEE_PERSON)
    team = await service.careteam_of(session, person)
    await audit.person(person.id)
    return _resource(team, if_none_match)
