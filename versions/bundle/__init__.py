"""Audit bundle of a PPA: a zip an auditor verifies offline, naming the first broken link.

:mod:`~versions.bundle.layout` (member names, limits, zip), :mod:`~versions.bundle.build`
(building one from versions, heads and proofs), :mod:`~versions.bundle.verify` (offline
verification, in order) and :mod:`~versions.bundle.report` (findings and the printed report).
"""

from versions.bundle.build import (
    BundleAuditEvent,
    BundleCheckpoint,
    BundleVersion,
    SealedBatch,
    assemble_bundle,
    build_bundle,
)
from versions.bundle.layout import (
    AUDIT_OBJECT_TYPE,
    BUNDLE_FORMAT,
    BUNDLE_FORMAT_V1,
    MAX_MEMBERS,
    MAX_TOTAL_BYTES,
    zip_members,
)
from versions.bundle.report import Finding, Report
from versions.bundle.verify import read_members, verify_bundle, verify_members

__all__ = [
    "AUDIT_OBJECT_TYPE",
    "BUNDLE_FORMAT",
    "BUNDLE_FORMAT_V1",
    "MAX_MEMBERS",
    "MAX_TOTAL_BYTES",
    "BundleAuditEvent",
    "BundleCheckpoint",
    "BundleVersion",
    "Finding",
    "Report",
    "SealedBatch",
    "assemble_bundle",
    "build_bundle",
    "read_members",
    "verify_bundle",
    "verify_members",
    "zip_members",
]
