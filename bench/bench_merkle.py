"""Merkle log figures: proof sizes and verification times for 10^3, 10^4 and 10^5 leaves.

Run: ``.venv/bin/python bench/bench_merkle.py``. Prints one table; sizes are exact, times are
per proof, best of 7 batches of 400 random proofs on this machine (indicative only; the tests
never assert times).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable

from versions.merkle import (
    HASH_SIZE,
    InMemoryLog,
    InMemoryNodeStore,
    MerkleTree,
    hash_leaf,
    verify_consistency,
    verify_inclusion,
    version_leaf_data,
)

SIZES = (1_000, 10_000, 100_000)
SAMPLES = 400


def leaf(i: int) -> bytes:
    """A realistic leaf: the log entry of some version of some PPA."""
    return version_leaf_data(f"ppa-{i % 997}", i // 997 + 1, f"{i:064x}", f"{i * 7:064x}")


class CountingNodes:
    """Wraps the log's node cache and counts reads (what a SQL-backed store would query)."""

    def __init__(self, inner: InMemoryNodeStore) -> None:
        self.inner = inner
        self.reads = 0

    def get_node(self, level: int, index: int) -> bytes | None:
        self.reads += 1
        return self.inner.get_node(level, index)

    def put_node(self, level: int, index: int, value: bytes) -> None:
        self.inner.put_node(level, index, value)


def best_of(run: Callable[[], object], repeat: int = 7) -> float:
    """Microseconds per proof: the best of ``repeat`` timed batches of ``SAMPLES`` proofs."""
    timings = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        timings.append(time.perf_counter() - start)
    return min(timings) / SAMPLES * 1e6


def measure(log: InMemoryLog, size: int, rng: random.Random) -> str:
    """Return one table row for a log of ``size`` leaves."""
    tree: MerkleTree = log.tree
    root = tree.root(size)
    counting = CountingNodes(log.nodes)
    counted = MerkleTree(log, counting)
    incl_reads, cons_reads = [], []
    for _ in range(SAMPLES):
        counting.reads = 0
        counted.inclusion_proof(rng.randrange(size), size)
        incl_reads.append(counting.reads)
        counting.reads = 0
        counted.consistency_proof(rng.randrange(1, size), size)
        cons_reads.append(counting.reads)

    indexes = [rng.randrange(size) for _ in range(SAMPLES)]
    leaf_hashes = [hash_leaf(leaf(i)) for i in indexes]
    incl = [tree.inclusion_proof(i, size) for i in indexes]
    incl_gen = best_of(lambda: [tree.inclusion_proof(i, size) for i in indexes])

    def verify_all_inclusions() -> None:
        for i, h, p in zip(indexes, leaf_hashes, incl, strict=True):
            verify_inclusion(h, i, size, p, root)

    incl_ver = best_of(verify_all_inclusions)

    olds = [rng.randrange(1, size) for _ in range(SAMPLES)]
    old_roots = [tree.root(old) for old in olds]
    cons = [tree.consistency_proof(old, size) for old in olds]
    cons_gen = best_of(lambda: [tree.consistency_proof(old, size) for old in olds])

    def verify_all_consistencies() -> None:
        for old, r, p in zip(olds, old_roots, cons, strict=True):
            verify_consistency(old, size, r, root, p)

    cons_ver = best_of(verify_all_consistencies)
    incl_len = max(len(p) for p in incl)
    cons_len = max(len(p) for p in cons)
    return (
        f"{incl_len:>12} {incl_len * HASH_SIZE:>6} {max(incl_reads):>5} "
        f"{incl_gen:>6.1f}us {incl_ver:>6.1f}us | "
        f"{cons_len:>12} {cons_len * HASH_SIZE:>6} {max(cons_reads):>5} "
        f"{cons_gen:>6.1f}us {cons_ver:>6.1f}us"
    )


def main() -> None:
    """Grow one log to each size in turn and print a row per size."""
    rng = random.Random(6962)
    log = InMemoryLog()
    print(
        f"{'leaves':>8} | {'append/leaf':>11} | {'incl. hashes':>12} {'bytes':>6} {'reads':>5} "
        f"{'gen':>8} {'verify':>8} | {'cons. hashes':>12} {'bytes':>6} {'reads':>5} "
        f"{'gen':>8} {'verify':>8}"
    )
    for size in SIZES:
        start, before = time.perf_counter(), log.size()
        while log.size() < size:
            log.append(leaf(log.size()))
        append_us = (time.perf_counter() - start) / (size - before) * 1e6
        print(f"{size:>8} | {append_us:>9.1f}us | {measure(log, size, rng)}")
    print(
        "hashes/bytes: largest proof among the samples (bound: ceil(log2 n) for inclusion, +1 "
        "for consistency); reads: most node-store reads to generate one proof; gen/verify: per "
        f"proof, best of 7 batches; {len(log.nodes)} perfect-subtree nodes stored"
    )


if __name__ == "__main__":
    main()
