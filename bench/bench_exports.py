"""Export times of a large PPA (40 objectives, 80 actions) in every format.

Run: ``.venv/bin/python bench/bench_exports.py [--objectives 40] [--actions 80] [--repeat 5]``.
Prints, per format, the median and min wall time over ``repeat`` runs and the output size.
The first call of each renderer is a warm-up (font loading, schema parsing) and is timed apart.
"""

from __future__ import annotations

import argparse
import statistics
import time

from exports.registry import FORMATS
from exports.sample import sample_avenant_input, sample_large_input


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--objectives", type=int, default=40)
    parser.add_argument("--actions", type=int, default=80)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    big = sample_large_input(args.objectives, args.actions)
    # MDPH formats need an avenant: the large content as an avenant of the sample base.
    avenant = sample_avenant_input()
    big_avenant = avenant.model_copy(update={"content": big.content})
    print(
        f"PPA: {len(big.content.objectifs)} objectives, {len(big.content.actions)} actions, "
        f"{sum(len(a.prestations) for a in big.content.actions)} prestations; repeat={args.repeat}"
    )
    print(
        f"{'format':<12} {'first (ms)':>11} {'median (ms)':>12} {'min (ms)':>9} {'size (KiB)':>11}"
    )
    total = 0.0
    for name, fmt in FORMATS.items():
        inp = big_avenant if name.startswith("mdph") else big
        t0 = time.perf_counter()
        data = fmt.renderer(inp)
        first = time.perf_counter() - t0
        times = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            fmt.renderer(inp)
            times.append(time.perf_counter() - t0)
        median = statistics.median(times)
        total += median
        print(
            f"{name:<12} {first * 1000:>11.1f} {median * 1000:>12.1f} "
            f"{min(times) * 1000:>9.1f} {len(data) / 1024:>11.1f}"
        )
    print(f"{'all formats':<12} {'':>11} {total * 1000:>12.1f}")


if __name__ == "__main__":
    main()
