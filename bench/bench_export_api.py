"""End-to-end export downloads over HTTP: the demo's validated PPA, every format, as the ESMS.

Run: ``.venv/bin/python bench/bench_export_api.py [--repeat 10]``. Seeds the demo in a temporary
SQLite database (``ppa demo``), serves the app with uvicorn on loopback, and times
``GET /api/ppas/{id}/versions/{n}/exports/{format}`` (authorisation, version and frozen context
reads, rendering in a worker thread, audit trace, transfer): the first download of each format
(rendered), then the median of ``repeat`` more (served from the process's render cache: same
version, same bytes); plus a 304 revalidation.
"""

from __future__ import annotations

import argparse
import statistics
import time

import httpx
from demo_server import demo_server

from exports.registry import FORMATS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    with demo_server() as (base, demo):
        _run(base, demo, args.repeat)


def _run(base: str, demo: dict[str, object], repeat: int) -> None:
    ppa_id, number = demo["validated_ppa_id"], demo["validated_version"]
    headers = {"Authorization": f"Bearer {demo['esms']['token']}"}  # type: ignore[index]
    print(f"demo validated PPA, version {number}; repeat={repeat}")
    print(f"{'format':<12} {'first (ms)':>11} {'cached (ms)':>12} {'size (KiB)':>11}")
    with httpx.Client(base_url=base, headers=headers, timeout=60) as client:
        etag = ""
        for name in FORMATS:
            if name.startswith("mdph"):
                continue  # the demo's avenant is still in progress
            path = f"/api/ppas/{ppa_id}/versions/{number}/exports/{name}"
            t0 = time.perf_counter()
            response = client.get(path)
            first = (time.perf_counter() - t0) * 1000
            response.raise_for_status()
            etag = response.headers["etag"]
            times = []
            for _ in range(repeat):
                t0 = time.perf_counter()
                client.get(path).raise_for_status()
                times.append((time.perf_counter() - t0) * 1000)
            print(
                f"{name:<12} {first:>11.1f} {statistics.median(times):>12.1f} "
                f"{len(response.content) / 1024:>11.1f}"
            )
        times = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            response = client.get(
                f"/api/ppas/{ppa_id}/versions/{number}/exports/pdf",
                headers={"If-None-Match": etag},
            )
            times.append((time.perf_counter() - t0) * 1000)
        print(f"{'304 (pdf)':<12} {'':>11} {statistics.median(times):>12.1f}")


if __name__ == "__main__":
    main()
