"""TDDUI import time of a 40-objective / 80-action bundle (issue 13).

Run: ``.venv/bin/python bench/bench_import.py [--objectives 40] [--actions 80] [--rounds 10]``.
Seeds the demo in a temporary SQLite database, serves the app with uvicorn on loopback, builds
the TDDUI bundle of :func:`exports.sample.sample_large_input` (another structure's PPA) for the
demo person's INS, as the SAVS's DUI sends it (another FINESS: an unknown projet), then
measures:

* ``read+check``: :func:`exports.tddui_import.read_bundle` in the bench's process (the TDDUI and
  FR Core checks and the mapping back to content), ``rounds`` times;
* ``create``: the first ``POST /api/persons/{id}/ppas/import`` (a new draft, 201);
* ``merge (1 change)``: the same bundle with one objective's description changed, ``rounds``
  times (Yjs write through the room, checkpoint version, audit, ETag state);
* ``merge (no change)``: the same bundle again, ``rounds`` times.

Times are wall-clock per request (ms), the HTTP round trip included.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import statistics
import time
from typing import Any

import httpx
from demo_server import demo_server


def _line(name: str, values: list[float]) -> str:
    return (
        f"{name:<18} n={len(values):<3} median {statistics.median(values):8.1f} ms"
        f"  min {min(values):8.1f}  max {max(values):8.1f}"
    )


def _bundle(person: dict[str, Any], objectives: int, actions: int) -> dict[str, Any]:
    from exports.context import InsOid
    from exports.fhir import render_fhir_bundle
    from exports.sample import SAVS_FINESS, SAVS_NAME, sample_large_input

    inp = sample_large_input(objectives, actions)
    patient = inp.person.model_copy(
        update={"ins": person["ins_matricule"], "ins_oid": InsOid(person["ins_oid"])}
    )
    other = inp.structure.model_copy(update={"finess": SAVS_FINESS, "name": SAVS_NAME})
    return render_fhir_bundle(inp.model_copy(update={"person": patient, "structure": other}))


def _changed(bundle: dict[str, Any], k: int) -> dict[str, Any]:
    out = copy.deepcopy(bundle)
    goal = next(
        e["resource"]
        for e in out["entry"]
        if any(p.endswith("tddui-goal-objectif") for p in e["resource"]["meta"]["profile"])
    )
    goal["description"]["text"] = f"Changé par le DUI, passage {k}."
    return out


def _run(port: int, demo: dict[str, Any], objectives: int, actions: int, rounds: int) -> None:
    from exports.tddui_import import read_bundle

    base = f"http://127.0.0.1:{port}"
    password = next(x["password"] for x in demo["logins"] if x["username"] == "coordinatrice")
    with httpx.Client(base_url=base, timeout=120) as client:
        token = client.post(
            "/api/auth/token", data={"username": "coordinatrice", "password": password}
        ).json()["access_token"]
        client.headers["Authorization"] = f"Bearer {token}"
        person_id = demo["person_id"]
        person = client.get(f"/api/persons/{person_id}").json()
        bundle = _bundle(person, objectives, actions)
        size = len(json.dumps(bundle).encode())
        read_ms = []
        for _ in range(rounds):
            t0 = time.perf_counter()
            read_bundle(bundle)
            read_ms.append((time.perf_counter() - t0) * 1000)
        url = f"/api/persons/{person_id}/ppas/import"
        headers = {"Content-Type": "application/fhir+json"}
        t0 = time.perf_counter()
        created = client.post(url, json=bundle, headers=headers)
        create_ms = [(time.perf_counter() - t0) * 1000]
        assert created.status_code == 201, created.text
        merge_ms, same_ms = [], []
        for k in range(rounds):
            body = _changed(bundle, k)
            t0 = time.perf_counter()
            merged = client.post(url, json=body, headers=headers)
            merge_ms.append((time.perf_counter() - t0) * 1000)
            assert merged.status_code == 200, merged.text
            assert len(merged.json()["changes"]) == 1, merged.text
        for _ in range(rounds):
            t0 = time.perf_counter()
            same = client.post(url, json=_changed(bundle, rounds - 1), headers=headers)
            same_ms.append((time.perf_counter() - t0) * 1000)
            assert same.status_code == 200, same.text
            assert same.json()["changes"] == [], same.text
    print(
        f"bundle: {objectives} objectives, {actions} actions, {len(bundle['entry'])} entries, "
        f"{size / 1024:.0f} KiB; load average {os.getloadavg()[0]:.1f} at the end"
    )
    for name, values in (
        ("read+check", read_ms),
        ("create", create_ms),
        ("merge (1 change)", merge_ms),
        ("merge (no change)", same_ms),
    ):
        print(_line(name, values))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--objectives", type=int, default=40)
    parser.add_argument("--actions", type=int, default=80)
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f} at the start")
    with demo_server() as (base, demo):
        _run(int(base.rsplit(":", 1)[1]), demo, args.objectives, args.actions, args.rounds)


if __name__ == "__main__":
    main()
