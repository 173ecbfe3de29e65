"""All ORM tables (one module per table family); imported here so metadata is complete."""

from server.models.agreements import OnlineAgreement  # noqa: F401  (person's online agreements)
from server.models.audit import AuditCheckpointRow, AuditEvent
from server.models.collab import PPAUpdate
from server.models.comments import PPAComment, PPASuggestion  # noqa: F401  (comments domain)
from server.models.exports import ExportContext  # noqa: F401  (exports domain tables)
from server.models.federation import ExternalIdentity, OidcLogin
from server.models.identity import ApiClient, Professional, Structure, User
from server.models.login import BrowserSession, LoginThrottle
from server.models.nde import NdeSubscription  # noqa: F401  (NdE subscriptions)
from server.models.notifications import Notice  # noqa: F401  (notifications tables)
from server.models.person import CercleDeparture, CercleMember, Person
from server.models.ppa import PPA, ContentState, PPADocument
from server.models.transmissions import Transmission
from server.models.versions import LogLeaf, LogNode, TreeHead, Version, VersionAccord

__all__ = [
    "PPA",
    "ApiClient",
    "AuditCheckpointRow",
    "AuditEvent",
    "BrowserSession",
    "CercleDeparture",
    "CercleMember",
    "ContentState",
    "ExternalIdentity",
    "LogLeaf",
    "LogNode",
    "LoginThrottle",
    "OidcLogin",
    "PPADocument",
    "PPAUpdate",
    "Person",
    "Professional",
    "Structure",
    "Transmission",
    "TreeHead",
    "User",
    "Version",
    "VersionAccord",
]
