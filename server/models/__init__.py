"""All ORM tables (one module per table family); imported here so metadata is complete."""

from server.models.audit import AuditEvent
from server.models.identity import ApiClient, Professional, Structure, User
from server.models.person import CercleMember, Person
from server.models.ppa import PPA, PPADocument

__all__ = [
    "PPA",
    "ApiClient",
    "AuditEvent",
    "CercleMember",
    "PPADocument",
    "Person",
    "Professional",
    "Structure",
    "User",
]
