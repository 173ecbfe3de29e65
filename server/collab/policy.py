"""What a person or their aidant may write live: their own expression fields only.

Those are the ``projet_de_vie`` text (her own words, issue 17 point 8), the ``attentes`` whose
``origine`` is ``personne`` or ``entourage`` (create, edit, delete), the ``avis_usager`` of every
objectif and action and the ``accord_usager`` of every objectif (the person's agreement with it,
rule 2 of docs/domain-rules.md). A write is checked by applying it to a scratch copy of the
document and comparing the content projections without those fields: any other difference
refuses the whole write (:class:`editor.collab.ports.WritePolicy`).
"""

from __future__ import annotations

from typing import Any, Final

from pycrdt import Doc, get_update

from editor.collab.protocol import Notice
from editor.collab.room import Room
from editor.collab.updates import EMPTY_UPDATE
from editor.crdt import doc_to_content_repaired
from server.collab.notices import PpaNoticeCode

OWN_ORIGINS: Final = frozenset({"personne", "entourage"})
OWN_FIELDS_NOTICE: Final = Notice(
    PpaNoticeCode.OWN_FIELDS_ONLY,
    "Vous ne pouvez modifier que vos propres champs (votre projet de vie, vos attentes, "
    "votre avis) : "
    "modification refusée et non enregistrée. Rechargez la page pour continuer.",
)
INCOMPLETE_NOTICE: Final = Notice(
    PpaNoticeCode.WRITE_INCOMPLETE,
    "Modification incomplète (elle dépend de modifications inconnues du serveur) : refusée. "
    "Rechargez la page pour continuer.",
)


def others_fields(doc: Doc[Any]) -> dict[str, Any]:
    """The content projection without the person's own fields."""
    content, _problems = doc_to_content_repaired(doc)
    data = content.model_dump(mode="json")
    data["attentes"] = [a for a in data["attentes"] if a["origine"] not in OWN_ORIGINS]
    data.pop("projet_de_vie", None)
    for root in ("objectifs", "actions"):
        for item in data[root]:
            item.pop("avis_usager", None)
            item.pop("accord_usager", None)
    return data


class OwnFieldsPolicy:
    """One per connection of a person or aidant (caches the projection of the room's current
    version between their writes)."""

    def __init__(self) -> None:
        self._cached: tuple[int, int, dict[str, Any]] | None = None

    def _before(self, room: Room) -> dict[str, Any]:
        key = (id(room.doc), room.version)
        cached = self._cached
        if cached is not None and cached[:2] == key:
            return cached[2]
        data = others_fields(room.doc)
        self._cached = (*key, data)
        return data

    def refuse(self, room: Room, update: bytes) -> Notice | None:
        if update == EMPTY_UPDATE:
            return None
        before = self._before(room)
        scratch: Doc[Any] = Doc()
        scratch.apply_update(room.doc.get_update())
        try:
            scratch.apply_update(update)
        except ValueError:
            return None  # unreadable: the room refuses it as malformed
        try:
            missing = get_update(update, scratch.get_state())
        except ValueError:
            return None
        if missing[:1] != b"\x00":
            # Parts of it wait for unknown content: they could integrate later unchecked.
            return INCOMPLETE_NOTICE
        if others_fields(scratch) != before:
            return OWN_FIELDS_NOTICE
        return None
