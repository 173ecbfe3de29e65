"""Append-only Merkle log (RFC 6962 / RFC 9162 section 2.1) with inclusion and consistency proofs.

Hashing (RFC 9162 section 2.1.1), SHA-256:

* empty tree: ``SHA-256("")``;
* leaf: ``SHA-256(0x00 || data)``;
* interior node: ``SHA-256(0x01 || left || right)``; for ``n > 1`` leaves the split point ``k`` is
  the largest power of two smaller than ``n``.

Storage design (documented choice). The log is append-only, so a *perfect* subtree - the
``2**level`` leaves starting at ``index * 2**level`` - never changes once complete. Its hash
is a pure function of ``(level, index)``; a :class:`NodeStore` may keep these hashes (the
in-memory store below fills them eagerly at append time: at most one new node per level,
amortised one per leaf; the server can persist them in an insert-only table, or leave the store
empty and let them be computed from leaves and cached on demand). Every subtree that the RFC
algorithms need is either perfect or the single "ragged" right edge of the tree, which splits
into at most ``log2(n)`` perfect subtrees. Hence, given stored nodes:

* root of any size ``n``: ``O(log n)`` node reads and hashes;
* inclusion proof and consistency proof: ``O(log n)`` node reads (the proof itself has at most
  ``ceil(log2 n)`` hashes, resp. ``ceil(log2 n) + 1``), plus ``O(log n)`` hashes for the one
  ragged subtree.

Proof *generation* follows the recursive definitions ``PATH`` (2.1.3.1) and ``SUBPROOF``
(2.1.4.1); *verification* implements the iterative algorithms of 2.1.3.2 and 2.1.4.2 literally,
and rejects any malformed input (wrong sizes, wrong hash lengths, proof too long or too short).

Leaves of the ppa-collab log are canonical JSON objects with a ``type`` tag (see
:func:`version_leaf_data` and :func:`audit_checkpoint_leaf_data`), so a version can never be
passed off as an audit checkpoint or the reverse.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from versions.canonical import canonical_json
from versions.timefmt import format_instant

HASH_SIZE = 32
"""Size in bytes of every hash of the log (SHA-256)."""

EMPTY_ROOT = hashlib.sha256(b"").digest()
"""Root hash of the empty tree (RFC 9162: the hash of the empty string)."""

LEAF_TYPE_VERSION = "ppa-version"
"""``type`` tag of a leaf recording a PPA version."""

LEAF_TYPE_AUDIT_CHECKPOINT = "audit-checkpoint"
"""``type`` tag of a leaf recording a batch of the audit trail."""


class ProofError(ValueError):
    """A proof or a request for a proof is invalid; the message says why (English, for logs)."""


def hash_leaf(data: bytes) -> bytes:
    """Return the RFC 6962 leaf hash ``SHA-256(0x00 || data)``."""
    return hashlib.sha256(b"\x00" + data).digest()


def hash_children(left: bytes, right: bytes) -> bytes:
    """Return the RFC 6962 interior node hash ``SHA-256(0x01 || left || right)``."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def split_point(n: int) -> int:
    """Return the largest power of two strictly smaller than ``n`` (``n >= 2``)."""
    if n < 2:
        raise ValueError("split point needs at least two leaves")
    return 1 << ((n - 1).bit_length() - 1)


class LeafStore(Protocol):
    """Read access to the leaf hashes of an append-only log (e.g. an insert-only SQL table)."""

    def size(self) -> int:
        """Return the number of leaves currently in the log."""
        ...

    def leaf_hashes(self, start: int, stop: int) -> Sequence[bytes]:
        """Return the leaf hashes of indexes ``start <= i < stop`` (``stop <= size()``)."""
        ...


class NodeStore(Protocol):
    """A cache of perfect-subtree hashes, keyed by ``(level, index)``; entries never change."""

    def get_node(self, level: int, index: int) -> bytes | None:
        """Return the stored hash of perfect subtree ``(level, index)``, or ``None``."""
        ...

    def put_node(self, level: int, index: int, value: bytes) -> None:
        """Remember the hash of the (complete) perfect subtree ``(level, index)``."""
        ...


class InMemoryNodeStore:
    """A :class:`NodeStore` in a dictionary."""

    def __init__(self) -> None:
        """Create an empty store."""
        self._nodes: dict[tuple[int, int], bytes] = {}

    def get_node(self, level: int, index: int) -> bytes | None:
        """Return the stored hash of perfect subtree ``(level, index)``, or ``None``."""
        return self._nodes.get((level, index))

    def put_node(self, level: int, index: int, value: bytes) -> None:
        """Remember the hash of perfect subtree ``(level, index)``."""
        self._nodes[(level, index)] = value

    def __len__(self) -> int:
        """Return the number of stored nodes."""
        return len(self._nodes)


class MerkleTree:
    """Roots and proofs over a :class:`LeafStore`, for any tree size up to the store's size.

    Perfect-subtree hashes are read from (and written back to) ``nodes``; with a fresh
    :class:`InMemoryNodeStore` the first computation over ``n`` leaves costs ``O(n)`` hashes and
    later ones ``O(log n)``.
    """

    def __init__(self, leaves: LeafStore, nodes: NodeStore | None = None) -> None:
        """Wrap a leaf store, with an optional node cache (in memory when not given)."""
        self.leaves = leaves
        self.nodes: NodeStore = nodes if nodes is not None else InMemoryNodeStore()

    def size(self) -> int:
        """Return the current number of leaves."""
        return self.leaves.size()

    def _perfect(self, level: int, index: int) -> bytes:
        cached = self.nodes.get_node(level, index)
        if cached is not None:
            return cached
        if level == 0:
            return self.leaves.leaf_hashes(index, index + 1)[0]
        if level <= 4:
            # Small subtree: one range read instead of 2**level single reads.
            start = index << level
            layer = list(self.leaves.leaf_hashes(start, start + (1 << level)))
            while len(layer) > 1:
                layer = [hash_children(layer[i], layer[i + 1]) for i in range(0, len(layer), 2)]
            value = layer[0]
        else:
            value = hash_children(
                self._perfect(level - 1, 2 * index), self._perfect(level - 1, 2 * index + 1)
            )
        self.nodes.put_node(level, index, value)
        return value

    def subtree_hash(self, start: int, stop: int) -> bytes:
        """Return ``MTH(D[start:stop])``, the hash of the leaves ``start <= i < stop``.

        ``stop`` must not exceed the current size; ``start == stop`` gives :data:`EMPTY_ROOT`.
        """
        if not 0 <= start <= stop <= self.size():
            raise ProofError(f"range [{start}, {stop}) outside the log of size {self.size()}")
        return self._mth(start, stop)

    def _mth(self, start: int, stop: int) -> bytes:
        n = stop - start
        if n == 0:
            return EMPTY_ROOT
        if n & (n - 1) == 0 and start % n == 0:
            return self._perfect(n.bit_length() - 1, start // n)
        if n == 1:  # unreachable with aligned ranges; kept for arbitrary ranges
            return self.leaves.leaf_hashes(start, stop)[0]
        k = split_point(n)
        return hash_children(self._mth(start, start + k), self._mth(start + k, stop))

    def root(self, size: int | None = None) -> bytes:
        """Return the root hash of the tree made of the first ``size`` leaves (default: all)."""
        n = self.size() if size is None else size
        return self.subtree_hash(0, n)

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        """Return the audit path of leaf ``index`` in the tree of ``size`` leaves (RFC 9162)."""
        n = self.size() if size is None else size
        if not 0 <= index < n <= self.size():
            raise ProofError(f"no leaf {index} in a tree of size {n} (log size {self.size()})")
        proof: list[bytes] = []
        start, stop, m = 0, n, index
        # PATH(m, D[start:stop]) unrolled; the siblings are collected top-down, so reverse.
        while stop - start > 1:
            k = split_point(stop - start)
            if m < k:
                proof.append(self._mth(start + k, stop))
                stop = start + k
            else:
                proof.append(self._mth(start, start + k))
                start, m = start + k, m - k
        proof.reverse()
        return proof

    def consistency_proof(self, old_size: int, new_size: int | None = None) -> list[bytes]:
        """Return the consistency proof from ``old_size`` to ``new_size`` (RFC 9162 PROOF).

        The proof is empty when ``old_size`` is 0 or equals ``new_size``.
        """
        n = self.size() if new_size is None else new_size
        if not 0 <= old_size <= n <= self.size():
            raise ProofError(f"no consistency between sizes {old_size} and {n}")
        if old_size in (0, n):
            return []
        proof: list[bytes] = []
        start, stop, m, complete = 0, n, old_size, True
        # SUBPROOF(m, D[start:stop], complete) unrolled, collecting top-down, then reversed.
        while True:
            size = stop - start
            if m == size:
                if not complete:
                    proof.append(self._mth(start, stop))
                break
            k = split_point(size)
            if m <= k:
                proof.append(self._mth(start + k, stop))
                stop = start + k
            else:
                proof.append(self._mth(start, start + k))
                start, m, complete = start + k, m - k, False
        proof.reverse()
        return proof


class InMemoryLog:
    """An in-memory append-only log: a :class:`LeafStore` plus an eagerly filled node cache.

    Appending computes the perfect subtrees the new leaf completes (amortised one hash), so
    :attr:`tree` answers roots and proofs in ``O(log n)``.
    """

    def __init__(self) -> None:
        """Create an empty log."""
        self._leaves: list[bytes] = []
        self.nodes = InMemoryNodeStore()
        self.tree = MerkleTree(self, self.nodes)

    def size(self) -> int:
        """Return the number of leaves."""
        return len(self._leaves)

    def leaf_hashes(self, start: int, stop: int) -> Sequence[bytes]:
        """Return the leaf hashes of indexes ``start <= i < stop``."""
        if not 0 <= start <= stop <= len(self._leaves):
            raise ProofError(f"leaf range [{start}, {stop}) outside the log")
        return self._leaves[start:stop]

    def append_hash(self, leaf: bytes) -> int:
        """Append a leaf by its hash; return its index."""
        if len(leaf) != HASH_SIZE:
            raise ProofError("a leaf hash has 32 bytes")
        index = len(self._leaves)
        self._leaves.append(leaf)
        node, level, position = leaf, 0, index
        while position & 1:  # this leaf completes perfect subtrees up the right edge
            left = self.nodes.get_node(level, position - 1) if level else self._leaves[index - 1]
            if left is None:
                raise RuntimeError("left is None")
            node = hash_children(left, node)
            level, position = level + 1, position >> 1
            self.nodes.put_node(level, position, node)
        return index

    def append(self, data: bytes) -> int:
        """Append a leaf by its data (hashed with :func:`hash_leaf`); return its index."""
        return self.append_hash(hash_leaf(data))


def _check_hash(value: bytes, what: str) -> None:
    if len(value) != HASH_SIZE:
        raise ProofError(f"{what} has {len(value)} bytes, expected {HASH_SIZE}")


def root_from_inclusion_proof(
    leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes]
) -> bytes:
    """Return the root implied by an inclusion proof (RFC 9162 section 2.1.3.2, steps 1-5).

    Raises :class:`ProofError` when the index is outside the tree or the proof has the wrong
    length or malformed hashes.
    """
    if not 0 <= index < size:
        raise ProofError(f"leaf index {index} outside a tree of size {size}")
    _check_hash(leaf_hash, "leaf hash")
    fn, sn, r = index, size - 1, leaf_hash
    for position, p in enumerate(proof):
        _check_hash(p, f"proof[{position}]")
        if sn == 0:
            raise ProofError("inclusion proof too long")
        if fn & 1 or fn == sn:
            r = hash_children(p, r)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = hash_children(r, p)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError("inclusion proof too short")
    return r


def verify_inclusion(
    leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Check that ``leaf_hash`` is leaf ``index`` of the tree of ``size`` leaves with ``root``.

    Returns ``None`` on success; raises :class:`ProofError` ("root mismatch", "proof too long",
    ...) otherwise.
    """
    _check_hash(root, "root")
    if root_from_inclusion_proof(leaf_hash, index, size, proof) != root:
        raise ProofError("root mismatch")


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> None:
    """Check that the tree ``(new_size, new_root)`` extends ``(old_size, old_root)``.

    Implements RFC 9162 section 2.1.4.2; the trivial cases are an empty proof with
    ``old_size == 0`` (any tree extends the empty tree) or ``old_size == new_size`` with equal
    roots. Raises :class:`ProofError` on any failure.
    """
    if _trivially_consistent(old_size, new_size, old_root, new_root, proof):
        return
    old, new = _consistency_roots(old_size, new_size, old_root, proof)
    if old != old_root:
        raise ProofError("old root mismatch")
    if new != new_root:
        raise ProofError("new root mismatch")


def _trivially_consistent(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> bool:
    """Check the inputs; True when the sizes are equal or the old tree is empty (and valid)."""
    _check_hash(old_root, "old root")
    _check_hash(new_root, "new root")
    for position, p in enumerate(proof):
        _check_hash(p, f"proof[{position}]")
    if not 0 <= old_size <= new_size:
        raise ProofError(f"sizes {old_size} -> {new_size} go back in time")
    if old_size == new_size:
        if proof:
            raise ProofError("proof must be empty for equal sizes")
        if old_root != new_root:
            raise ProofError("roots differ for equal sizes")
        return True
    if old_size == 0:
        if proof:
            raise ProofError("proof must be empty from the empty tree")
        if old_root != EMPTY_ROOT:
            raise ProofError("old root is not the empty tree hash")
        return True
    return False


def _consistency_roots(
    old_size: int, new_size: int, old_root: bytes, proof: Sequence[bytes]
) -> tuple[bytes, bytes]:
    """The (old, new) roots a non-trivial proof leads to (RFC 9162 2.1.4.2, steps 1-7)."""
    # Step 1: a non-trivial proof is never empty.
    if not proof:
        raise ProofError("empty consistency proof")
    path = list(proof)
    # Step 2: if old_size is an exact power of 2, prepend old_root.
    if old_size & (old_size - 1) == 0:
        path.insert(0, old_root)
    # Steps 3-4.
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    # Step 5.
    fr = sr = path[0]
    # Step 6.
    for c in path[1:]:
        if sn == 0:
            raise ProofError("consistency proof too long")
        if fn & 1 or fn == sn:
            fr = hash_children(c, fr)
            sr = hash_children(c, sr)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = hash_children(sr, c)
        fn, sn = fn >> 1, sn >> 1
    # Step 7.
    if sn != 0:
        raise ProofError("consistency proof too short")
    return fr, sr


@dataclass(frozen=True)
class AuditCheckpoint:
    """A batch of the audit trail sealed into the log: events ``first_seq..last_seq``, digest.

    ``events_digest`` is the SHA-256 hex the server computes over the canonical encodings of the
    batch's events (ids and hashes only, never document content).
    """

    first_seq: int
    last_seq: int
    events_digest: str
    at: datetime

    def to_json(self) -> dict[str, object]:
        """Return the plain JSON object of this checkpoint."""
        return {
            "first_seq": self.first_seq,
            "last_seq": self.last_seq,
            "events_digest": self.events_digest,
            "at": format_instant(self.at),
        }


def version_leaf_data(ppa_id: str, number: int, content_hash: str, chain_hash: str) -> bytes:
    """Return the leaf data recording version ``number`` of PPA ``ppa_id`` in the global log.

    Canonical JSON ``{"type": "ppa-version", "ppa_id", "number", "content_hash", "chain_hash"}``;
    the chain hash already covers the version's metadata and the previous versions.
    """
    return canonical_json(
        {
            "type": LEAF_TYPE_VERSION,
            "ppa_id": ppa_id,
            "number": number,
            "content_hash": content_hash,
            "chain_hash": chain_hash,
        }
    )


def audit_checkpoint_leaf_data(checkpoint: AuditCheckpoint) -> bytes:
    """Return the leaf data sealing an audit-trail checkpoint (type tag ``audit-checkpoint``)."""
    return canonical_json({"type": LEAF_TYPE_AUDIT_CHECKPOINT, **checkpoint.to_json()})
