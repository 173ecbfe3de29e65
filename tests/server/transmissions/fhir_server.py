"""A loopback HTTPS PDSm endpoint (the DMP's place): mutual TLS (client certificate of the
test CA required), checks every ITI-65 bundle against the profile constraints
(:mod:`pdsm_checks`), answers a transaction-response, an OperationOutcome for a bundle that
breaks a constraint, ``XDSDuplicateUniqueIdInRegistry`` for a document deposited already, and
503 to the first ``fail_first`` requests; the answers to the first ``lose_answers`` bundles it
accepts are lost (the connection closes without a response)."""

from __future__ import annotations

import json
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.conftest import free_port
from tests.server.transmissions.pdsm_checks import check_bundle
from tests.server.transmissions.pki import Pki


class FhirServer:
    def __init__(
        self, pki: Pki, *, fail_first: int = 0, lose_answers: int = 0, port: int | None = None
    ) -> None:
        self.port = port or free_port()
        self.fail_first = fail_first
        self.lose_answers = lose_answers
        self.requests = 0
        self.received: list[dict[str, Any]] = []
        """Every bundle posted, accepted or not."""
        self.accepted: list[dict[str, Any]] = []
        self.problems: list[list[str]] = []
        self.client_subjects: list[str] = []
        self.reject_next: tuple[str, str] | None = None
        """(code, French label) of an OperationOutcome answered (400) to the next bundle."""
        self.lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _answer(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/fhir+json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                bundle = json.loads(self.rfile.read(length))
                cert: Any = self.connection.getpeercert()
                subject = dict(x[0] for x in cert["subject"]).get("commonName", "")
                status, body = owner.handle(bundle, subject)
                with owner.lock:
                    lose = status == 200 and owner.lose_answers > 0
                    owner.lose_answers -= 1 if lose else 0
                if lose:  # deposited, but the depositor never hears it
                    self.close_connection = True
                    return
                self._answer(status, body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(pki.ca))
        context.load_cert_chain(str(pki.server_cert), str(pki.server_key))
        context.verify_mode = ssl.CERT_REQUIRED
        self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}/fhir"

    def handle(self, bundle: dict[str, Any], subject: str) -> tuple[int, dict[str, Any]]:
        with self.lock:
            self.requests += 1
            self.received.append(bundle)
            if self.requests <= self.fail_first:
                return 503, _outcome("transient", "UNAVAILABLE", "Service indisponible")
            if self.reject_next is not None:
                code, label = self.reject_next
                self.reject_next = None
                return 400, _outcome("business-rule", code, label)
            problems = check_bundle(bundle)
            if problems:
                self.problems.append(problems)
                return 400, _outcome("invalid", "PROFILE", "; ".join(problems))
            ids = {_master(d) for d in _docrefs(bundle)}
            if ids & {_master(d) for b in self.accepted for d in _docrefs(b)}:
                return 409, _outcome(
                    "duplicate", "XDSDuplicateUniqueIdInRegistry", "Document déjà déposé"
                )
            self.accepted.append(bundle)
            self.client_subjects.append(subject)
            entries = [
                {
                    "response": {
                        "status": "201 Created",
                        "location": f"{r['resource']['resourceType']}/{i}",
                    }
                }
                for i, r in enumerate(bundle["entry"])
            ]
            return 200, {
                "resourceType": "Bundle",
                "type": "transaction-response",
                "entry": entries,
            }

    def start(self) -> FhirServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _docrefs(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        e["resource"]
        for e in bundle.get("entry", [])
        if e.get("resource", {}).get("resourceType") == "DocumentReference"
    ]


def _master(d: dict[str, Any]) -> str:
    mi = d.get("masterIdentifier") or {}
    return f"{mi.get('system')}|{mi.get('value')}"


def _outcome(code: str, detail: str, text: str) -> dict[str, Any]:
    return {
        "resourceType": "OperationOutcome",
        "issue": [
            {
                "severity": "error",
                "code": code,
                "details": {"coding": [{"code": detail}], "text": text},
            }
        ],
    }
