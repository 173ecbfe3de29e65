"""French labels of the API's enums, and the browser's whole catalogue generated from them.

The content model's fields and labels are :mod:`editor.catalogue`'s; this module adds what the
API names (roles, PPA statuses, version kinds, export formats). ``editor/web/build.mjs`` runs
``python -m server.labels --json`` into ``editor/web/src/generated/catalogue.json``.
"""

from __future__ import annotations

import sys
from typing import Any, Final

from editor.catalogue import catalogue_json, print_json
from exports.registry import FORMATS
from server.cercle.rules import MEASURE_LABELS
from server.models.person import Role
from server.models.ppa import PPAStatus
from versions.chain import VersionKind
from versions.lifecycle import AVENANT_OBJECTIF_FIELDS

ROLE_LABELS: Final[dict[Role, str]] = {
    Role.COORDINATOR: "Coordination",
    Role.CONTRIBUTOR: "Contribution",
    Role.READER: "Lecture",
    Role.PERSON: "Personne accompagnée",
    Role.AIDANT: "Aidant",
    Role.ESMS: "Système de structure (ESMS)",
    Role.AUDITOR: "Audit",
}
"""French label of each role in a cercle."""

PPA_STATUS_LABELS: Final[dict[PPAStatus, str]] = {
    PPAStatus.DRAFT: "Brouillon",
    PPAStatus.VALIDATED: "Validé",
    PPAStatus.AVENANT_DRAFT: "Avenant en préparation",
    PPAStatus.SUPERSEDED: "Remplacé",
}
"""French label of each state of a PPA."""

VERSION_KIND_LABELS: Final[dict[VersionKind, str]] = {
    VersionKind.CHECKPOINT: "Point de sauvegarde",
    VersionKind.NAMED: "Version enregistrée",
    VersionKind.VALIDATED: "Version validée",
    VersionKind.AVENANT: "Avenant validé",
    VersionKind.REVISION: "Révision (nouveau PPA)",
    VersionKind.RESTORE: "Restauration",
}
"""French label of each kind of version in the history."""


def browser_catalogue() -> dict[str, Any]:
    """Return the content catalogue plus the API's labels, as the browser build embeds them."""
    return {
        **catalogue_json(),
        "role_labels": {role.value: label for role, label in ROLE_LABELS.items()},
        "ppa_status_labels": {status.value: label for status, label in PPA_STATUS_LABELS.items()},
        "version_kind_labels": {kind.value: label for kind, label in VERSION_KIND_LABELS.items()},
        "measure_labels": {measure.value: label for measure, label in MEASURE_LABELS.items()},
        # What an avenant may still change of an objective (the editor's live freeze, rule 4).
        "avenant_objectif_fields": sorted(AVENANT_OBJECTIF_FIELDS),
        "export_formats": [
            {
                "name": fmt.name,
                "label": fmt.label,
                "drafts_allowed": fmt.drafts_allowed,
                "avenant_only": fmt.avenant_only,
            }
            for fmt in FORMATS.values()
        ],
    }


def main(argv: list[str]) -> int:
    """``python -m server.labels --json``: print the browser's catalogue."""
    return print_json(argv, "server.labels", browser_catalogue)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
