"""What the live schema guard costs per write, on a usual PPA and a 40-objective one.

Run: ``.venv/bin/python bench/bench_guard.py [--repeat 200]``. Prints, per document and per kind
of write, the median and min wall time of judging one write as the room does before applying it
(``GuardGate.judge``): a text-only write (characters typed into a field: a scan of its bytes and
of the characters it inserts), and structural writes (a value set, an item added: the write is
applied to a scratch copy of the document and the result read with the layout rule). The parts
of the structural cost are timed apart: copying the document, reading it, and the full check the
room ran once per group commit before (``check_layout``). Also the load average (``uptime``):
figures move with the machine's other work.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from functools import partial
from typing import Any

from pycrdt import Array, Doc, Map, Text

from editor.collab.guarding import GuardGate
from editor.crdt import check_layout, content_to_doc, doc_from_state
from editor.layout_guard import LayoutGuard
from editor.layout_rule import read_layout
from editor.schema import PPAContent
from exports.sample import sample_content, sample_large_input


def timed(work: Callable[[], object], repeat: int) -> tuple[float, float]:
    """Median and min of ``repeat`` runs, in milliseconds."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        work()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), min(times)


def write_of(doc: Doc[Any], change: Callable[[Doc[Any]], None]) -> bytes:
    """The update a browser would send for ``change`` made on its replica of ``doc``."""
    replica = doc_from_state(doc.get_update())
    before = replica.get_state()
    change(replica)
    return replica.get_update(before)


def type_chars(doc: Doc[Any]) -> None:
    titre = doc.get("objectifs", type=Array)[0]["titre"]
    titre.insert(len(titre), "é")


def set_status(doc: Doc[Any]) -> None:
    doc.get("objectifs", type=Array)[0]["statut"] = "termine"


def add_objective(doc: Doc[Any]) -> None:
    doc.get("objectifs", type=Array).append(
        Map({"id": "o-nouveau", "titre": Text("Nouvel objectif"), "statut": "en_preparation"})
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; repeat={args.repeat}")
    documents = {
        "usual PPA": sample_content(),
        "40 objectives": sample_large_input(40, 80).content,
    }
    print(f"{'document':<14} {'measure':<40} {'median (ms)':>12} {'min (ms)':>9}")
    for name, content in documents.items():
        measure(name, content, args.repeat)


def measure(name: str, content: PPAContent, repeat: int) -> None:
    gate: GuardGate[object] = GuardGate(LayoutGuard(), lambda: 10.0, time.monotonic)
    doc = content_to_doc(content)
    state = doc.get_update()
    writes = {
        "judge: text-only write (typing)": write_of(doc, type_chars),
        "judge: value set (statut)": write_of(doc, set_status),
        "judge: item added (objectif)": write_of(doc, add_objective),
    }
    rows: list[tuple[str, tuple[float, float]]] = []
    for label, update in writes.items():
        assert gate.judge(doc, update).refused is None, label
        rows.append((label, timed(partial(gate.judge, doc, update), repeat)))
    copy = doc_from_state(state)
    rows += [
        ("  part: copy (encode + apply)", timed(lambda: doc_from_state(doc.get_update()), repeat)),
        ("  part: read the copy (layout rule)", timed(lambda: read_layout(copy), repeat)),
        ("before: full check per commit", timed(lambda: check_layout(doc), repeat)),
    ]
    print(f"{name:<14} ({len(state) / 1024:.0f} KiB, {len(content.objectifs)} objectives)")
    for label, (median, fastest) in rows:
        print(f"{'':<14} {label:<40} {median:>12.3f} {fastest:>9.3f}")


if __name__ == "__main__":
    main()
