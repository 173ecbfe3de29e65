"""The CapabilityStatement of ``/fhir``: exactly the interactions the routes serve."""

from __future__ import annotations

from typing import Any

from exports.fhir import SD
from server.esms.nde import SUBSCRIPTION_PROFILE
from server.fhir.careteam import CARETEAM_PROFILE

Json = dict[str, Any]

PATIENT_PARAM: Json = {
    "name": "patient",
    "type": "reference",
    "documentation": "Chaîné uniquement : patient.identifier=<système INS>|<matricule INS> "
    "(système urn:oid:1.2.250.1.213.1.4.8, .9, .10 ou .11).",
}


def capability_statement(base: str, date: str) -> Json:
    """CapabilityStatement (R4) of the server whose FHIR base URL is ``base``."""
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": date,
        "publisher": "ppa-collab",
        "kind": "instance",
        "software": {"name": "ppa-collab"},
        "implementation": {
            "description": "PPA collaboratif : lecture FHIR des PPA (TDDUI) et du cercle "
            "(CDS), import TDDUI",
            "url": base,
        },
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json", "json"],
        "rest": [
            {
                "mode": "server",
                "documentation": "Lecture des PPA et du cercle ; import TDDUI par transaction "
                "(POST [base] d'un Bundle tddui-bundle : fusion dans le brouillon du PPA nommé "
                "par l'identifiant du CarePlan, sinon nouveau brouillon pour la personne de "
                "l'INS) ; abonnements NdE (CI-SIS Notification d'événements 3.0.0) des "
                "logiciels des structures. Les autres écritures passent par "
                "PATCH /api/ppas/{id}/content (JSON Merge Patch) ; voir docs/fhir-api.md.",
                "interaction": [
                    {
                        "code": "transaction",
                        "documentation": "Bundle tddui-bundle (TDDUI 2.3.0, flux 1) uniquement, "
                        "vérifié en entier (TDDUI et FR Core) : refusé en entier avec un "
                        "OperationOutcome listant chaque problème.",
                    }
                ],
                "security": {
                    "cors": False,
                    "description": "Jeton d'API de la structure (Authorization: Bearer), "
                    "membre du cercle de la personne ; chaque accès est tracé.",
                },
                "resource": [
                    {
                        "type": "CarePlan",
                        "profile": SD + "tddui-careplan-projet-personnalise",
                        "supportedProfile": [SD + "tddui-careplan-projet-personnalise"],
                        "documentation": "Un CarePlan par PPA (id = id du PPA), version validée "
                        "la plus récente ; brouillon (status=draft) pour les membres qui "
                        "écrivent. Les autres ressources TDDUI sont contenues (contained).",
                        "interaction": [
                            {"code": "read"},
                            {"code": "vread"},
                            {"code": "history-instance"},
                            {"code": "search-type"},
                        ],
                        "versioning": "versioned",
                        "readHistory": True,
                        "updateCreate": False,
                        "conditionalRead": "full-support",
                        "searchParam": [PATIENT_PARAM],
                    },
                    {
                        "type": "CareTeam",
                        "profile": CARETEAM_PROFILE,
                        "supportedProfile": [CARETEAM_PROFILE],
                        "documentation": "Le cercle de la personne (id = id de la personne) ; "
                        "les membres auxquels elle s'oppose sont absents.",
                        "interaction": [{"code": "read"}, {"code": "search-type"}],
                        "versioning": "no-version",
                        "conditionalRead": "not-match",
                        "searchParam": [PATIENT_PARAM],
                    },
                    {
                        "type": "Subscription",
                        "profile": SUBSCRIPTION_PROFILE,
                        "supportedProfile": [SUBSCRIPTION_PROFILE],
                        "documentation": "Abonnement NdE d'un logiciel de structure membre du "
                        "cercle de la personne : event-type DOC (version validée ou avenant du "
                        "PPA ; JDV_J46 n'a pas de code PPA), canal rest-hook avec l'en-tête "
                        "X-PPA-Webhook-Secret. Chaque événement est envoyé à l'endpoint comme "
                        "CommunicationRequest nde-notificationrequest, signé (X-PPA-Signature) "
                        "et réessayé.",
                        "interaction": [
                            {"code": "create"},
                            {"code": "read"},
                            {"code": "delete"},
                        ],
                        "versioning": "no-version",
                        "conditionalCreate": False,
                        "conditionalDelete": "not-supported",
                    },
                ],
            }
        ],
    }
