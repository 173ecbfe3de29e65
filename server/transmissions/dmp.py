"""Deposit in the DMP: POST the PDSm ITI-65 bundle with the structure's certificate."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import httpx

from server.transmissions.settings import TransmissionSettings, client_tls

DUPLICATE_CODES = frozenset({"XDSDuplicateUniqueIdInRegistry"})
"""Answer to a document already deposited with this uniqueId: our earlier attempt was
registered (its answer was lost), so the deposit is done, not to be made again."""


@dataclass(frozen=True)
class DmpOutcome:
    ok: bool
    permanent: bool
    status_code: int | None
    error_code: str | None = None
    error_label: str | None = None
    reason: str = ""


def _issue(body: Any) -> tuple[str | None, str | None]:
    if not isinstance(body, dict) or body.get("resourceType") != "OperationOutcome":
        return None, None
    for issue in body.get("issue") or []:
        if not isinstance(issue, dict):
            continue
        coding = ((issue.get("details") or {}).get("coding") or [{}])[0]
        code = coding.get("code") or issue.get("code")
        label = (issue.get("details") or {}).get("text") or issue.get("diagnostics")
        return (str(code)[:60] if code else None), (str(label)[:300] if label else None)
    return None, None


def outcome(status_code: int, content: bytes) -> DmpOutcome:
    try:
        body = json.loads(content)
    except ValueError:
        body = None
    if 200 <= status_code < 300:
        if not isinstance(body, dict) or body.get("type") != "transaction-response":
            return DmpOutcome(False, False, status_code, reason="no transaction-response")
        statuses = [
            str(((e or {}).get("response") or {}).get("status", "")) for e in body.get("entry", [])
        ]
        if statuses and all(s[:1] == "2" for s in statuses):
            return DmpOutcome(True, False, status_code)
        return DmpOutcome(False, True, status_code, "DMP_REFUS", "Dépôt refusé par le DMP")
    code, label = _issue(body)
    if code in DUPLICATE_CODES:
        return DmpOutcome(True, False, status_code, reason="already deposited")
    if 400 <= status_code < 500 and status_code not in (408, 429):
        return DmpOutcome(
            False,
            True,
            status_code,
            code or f"HTTP_{status_code}",
            label or f"Dépôt refusé par le DMP (HTTP {status_code})",
        )
    return DmpOutcome(False, False, status_code, code, label, reason=f"HTTP {status_code}")


async def deposit(settings: TransmissionSettings, bundle: dict[str, Any]) -> DmpOutcome:
    context = client_tls(
        settings.dmp_cert or settings.mss_cert,
        settings.dmp_key or (settings.mss_key if not settings.dmp_cert else None),
        settings.dmp_ca_file or settings.mss_ca_file,
    )
    try:
        async with httpx.AsyncClient(
            verify=context, timeout=settings.transmit_timeout_seconds, follow_redirects=False
        ) as client:
            response = await client.post(
                settings.dmp_fhir_url or "",
                content=json.dumps(bundle, ensure_ascii=False).encode(),
                headers={
                    "Content-Type": "application/fhir+json",
                    "Accept": "application/fhir+json",
                },
            )
    except httpx.HTTPError as exc:
        return DmpOutcome(False, False, None, reason=type(exc).__name__)
    return outcome(response.status_code, response.content)
