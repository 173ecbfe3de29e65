"""A large PPA (issue 17: 40 objectives and 70 actions) built from the demo PPA's content, for
the guided editor's tests and bench/bench_editor_open.py."""

from __future__ import annotations

import copy
import uuid
from typing import Any

LARGE_OBJECTIFS = 40
LARGE_ACTIONS = 70


def large_content(
    content: dict[str, Any], objectifs: int = LARGE_OBJECTIFS, actions: int = LARGE_ACTIONS
) -> dict[str, Any]:
    """The demo content with its objectives and actions repeated up to the counts asked (new
    ids, numbered titles); each action serves one of the new objectives."""
    big = copy.deepcopy(content)
    base_o, base_a = content["objectifs"], content["actions"]
    big["objectifs"] = []
    for i in range(objectifs):
        item = copy.deepcopy(base_o[i % len(base_o)])
        item.update(id=str(uuid.uuid4()), titre=f"{item['titre']} ({i + 1})")
        big["objectifs"].append(item)
    ids = [o["id"] for o in big["objectifs"]]
    big["actions"] = []
    for i in range(actions):
        item = copy.deepcopy(base_a[i % len(base_a)])
        item.update(id=str(uuid.uuid4()), titre=f"{item['titre']} ({i + 1})")
        item["objectif_ids"] = [ids[i % len(ids)]]
        big["actions"].append(item)
    return big
