"""Versions of PPAs: checkpoints, named versions, validation, avenants, restores, revisions.

``recording`` (versions, checkpoints; the ordering rules of every step), ``claims`` (restore
claims), ``validation``, ``avenants``, ``restore`` (restores, revisions), ``queries`` (diffs,
history, bundles, reviews), ``common`` (live document, the PPA row's compare-and-set). The
names the endpoints use are re-exported here.
"""

from server.versions_api.service.agreements import RepresentativeInput
from server.versions_api.service.avenants import (
    PendingAvenant,
    abandon_avenant,
    open_avenant,
    pending_avenant,
)
from server.versions_api.service.common import (
    AvenantRefusedError,
    ValidationRefused,
    content_of,
    content_of_state,
    local_day,
    read_state,
    write_live,
)
from server.versions_api.service.queries import (
    History,
    audit_bundle,
    diff_versions,
    history,
    review_due,
)
from server.versions_api.service.recording import (
    SYSTEM_CHECKPOINT,
    NewVersion,
    SessionCheckpoints,
    checkpoint,
    record_version,
    save_named,
)
from server.versions_api.service.restore import (
    Restored,
    restore,
    restore_preview,
    start_revision,
)
from server.versions_api.service.validation import AccordInput, validate

__all__ = [
    "SYSTEM_CHECKPOINT",
    "AccordInput",
    "AvenantRefusedError",
    "History",
    "NewVersion",
    "PendingAvenant",
    "RepresentativeInput",
    "Restored",
    "SessionCheckpoints",
    "ValidationRefused",
    "abandon_avenant",
    "audit_bundle",
    "checkpoint",
    "content_of",
    "content_of_state",
    "diff_versions",
    "history",
    "local_day",
    "open_avenant",
    "pending_avenant",
    "read_state",
    "record_version",
    "restore",
    "restore_preview",
    "review_due",
    "save_named",
    "start_revision",
    "validate",
    "write_live",
]
