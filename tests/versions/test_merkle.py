"""Merkle log: RFC 6962 test vectors, naive cross-check, proofs for all sizes, corrupted probes."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime

import pytest

from versions.merkle import (
    EMPTY_ROOT,
    AuditCheckpoint,
    InMemoryLog,
    InMemoryNodeStore,
    MerkleTree,
    ProofError,
    audit_checkpoint_leaf_data,
    hash_children,
    hash_leaf,
    root_from_inclusion_proof,
    verify_consistency,
    verify_inclusion,
    version_leaf_data,
)

# Test vectors of the certificate-transparency / transparency-dev RFC 6962 implementations.
LEAVES = [
    b"",
    b"\x00",
    b"\x10",
    b"\x20\x21",
    b"\x30\x31",
    b"\x40\x41\x42\x43",
    bytes.fromhex("5051525354555657"),
    bytes.fromhex("606162636465666768696a6b6c6d6e6f"),
]
ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
INCLUSION_VECTORS = [  # (leaf index 1-based, tree size, proof)
    (
        1,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        6,
        8,
        [
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (3, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (
        2,
        5,
        [
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
]
CONSISTENCY_VECTORS = [  # (size1, size2, proof)
    (1, 1, []),
    (
        1,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        6,
        8,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        5,
        [
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
    (
        6,
        7,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
]
SOME_HASH = bytes.fromhex("abacaba000000000000000000000000000000000000000000060061e00123456")
MAX = 64


def naive_mth(leaves: Sequence[bytes]) -> bytes:
    """MTH straight from RFC 9162 section 2.1.1 (leaf data in, recursion on the split point)."""
    n = len(leaves)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return hash_leaf(leaves[0])
    k = 1
    while k * 2 < n:
        k *= 2
    return hash_children(naive_mth(leaves[:k]), naive_mth(leaves[k:]))


def naive_path(m: int, leaves: Sequence[bytes]) -> list[bytes]:
    """PATH(m, D[n]) from RFC 9162 section 2.1.3.1."""
    n = len(leaves)
    if n <= 1:
        return []
    k = 1
    while k * 2 < n:
        k *= 2
    if m < k:
        return [*naive_path(m, leaves[:k]), naive_mth(leaves[k:])]
    return [*naive_path(m - k, leaves[k:]), naive_mth(leaves[:k])]


def naive_subproof(m: int, leaves: Sequence[bytes], complete: bool) -> list[bytes]:
    """SUBPROOF(m, D[n], b) from RFC 9162 section 2.1.4.1."""
    n = len(leaves)
    if m == n:
        return [] if complete else [naive_mth(leaves)]
    k = 1
    while k * 2 < n:
        k *= 2
    if m <= k:
        return [*naive_subproof(m, leaves[:k], complete), naive_mth(leaves[k:])]
    return [*naive_subproof(m - k, leaves[k:], False), naive_mth(leaves[:k])]


def data(i: int) -> bytes:
    return f"leaf {i}".encode()


@pytest.fixture(scope="module")
def big_log() -> InMemoryLog:
    log = InMemoryLog()
    for i in range(MAX):
        log.append(data(i))
    return log


def test_rfc6962_vectors_roots_and_empty_tree() -> None:
    log = InMemoryLog()
    assert log.tree.root() == EMPTY_ROOT
    assert EMPTY_ROOT.hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    for leaf in LEAVES:
        log.append(leaf)
    for size, expected in enumerate(ROOTS, start=1):
        assert log.tree.root(size).hex() == expected


@pytest.mark.parametrize(("leaf", "size", "proof"), INCLUSION_VECTORS)
def test_rfc6962_inclusion_vectors(leaf: int, size: int, proof: list[str]) -> None:
    log = InMemoryLog()
    for item in LEAVES:
        log.append(item)
    got = log.tree.inclusion_proof(leaf - 1, size)
    assert [p.hex() for p in got] == proof
    verify_inclusion(
        hash_leaf(LEAVES[leaf - 1]), leaf - 1, size, got, bytes.fromhex(ROOTS[size - 1])
    )


@pytest.mark.parametrize(("size1", "size2", "proof"), CONSISTENCY_VECTORS)
def test_rfc6962_consistency_vectors(size1: int, size2: int, proof: list[str]) -> None:
    log = InMemoryLog()
    for item in LEAVES:
        log.append(item)
    got = log.tree.consistency_proof(size1, size2)
    assert [p.hex() for p in got] == proof
    verify_consistency(
        size1, size2, bytes.fromhex(ROOTS[size1 - 1]), bytes.fromhex(ROOTS[size2 - 1]), got
    )


def test_roots_match_naive_for_every_size(big_log: InMemoryLog) -> None:
    leaves = [data(i) for i in range(MAX)]
    for n in range(MAX + 1):
        assert big_log.tree.root(n) == naive_mth(leaves[:n])


def test_store_without_cached_nodes_gives_the_same_answers(big_log: InMemoryLog) -> None:
    cold = MerkleTree(big_log, InMemoryNodeStore())
    for n in (1, 5, 17, 33, 64):
        assert cold.root(n) == big_log.tree.root(n)
        assert cold.inclusion_proof(n - 1, n) == big_log.tree.inclusion_proof(n - 1, n)
        assert cold.consistency_proof(n // 2, n) == big_log.tree.consistency_proof(n // 2, n)


def test_inclusion_proofs_for_all_sizes_and_indices(big_log: InMemoryLog) -> None:
    leaves = [data(i) for i in range(MAX)]
    for n in range(1, MAX + 1):
        root = big_log.tree.root(n)
        for m in range(n):
            proof = big_log.tree.inclusion_proof(m, n)
            assert proof == naive_path(m, leaves[:n])
            verify_inclusion(hash_leaf(leaves[m]), m, n, proof, root)


def test_consistency_proofs_for_all_sizes(big_log: InMemoryLog) -> None:
    leaves = [data(i) for i in range(MAX)]
    for n in range(1, MAX + 1):
        root2 = big_log.tree.root(n)
        for m in range(n + 1):
            proof = big_log.tree.consistency_proof(m, n)
            expected = [] if m in (0, n) else naive_subproof(m, leaves[:n], True)
            assert proof == expected
            verify_consistency(m, n, big_log.tree.root(m), root2, proof)


def inclusion_probes(
    index: int, size: int, proof: list[bytes], root: bytes, leaf: bytes
) -> list[tuple[str, int, int, list[bytes], bytes, bytes]]:
    """The corrupted-proof probes of transparency-dev/merkle (proof/verify_test.go)."""
    probes = [
        ("index - 1", index - 1, size, proof, root, leaf),
        ("index + 1", index + 1, size, proof, root, leaf),
        ("index ^ 2", index ^ 2, size, proof, root, leaf),
        ("size * 2", index, size * 2, proof, root, leaf),
        ("size / 2", index, size // 2, proof, root, leaf),
        ("wrong leaf", index, size, proof, root, hash_leaf(b"WrongLeaf")),
        ("empty root", index, size, proof, EMPTY_ROOT, leaf),
        ("random root", index, size, proof, SOME_HASH, leaf),
        ("trailing garbage", index, size, [*proof, b""], root, leaf),
        ("trailing root", index, size, [*proof, root], root, leaf),
        ("preceding garbage", index, size, [b"", *proof], root, leaf),
        ("preceding root", index, size, [root, *proof], root, leaf),
    ]
    for i in range(len(proof)):
        wrong = list(proof)
        wrong[i] = bytes([wrong[i][0] ^ 8]) + wrong[i][1:]
        probes.append((f"modified proof[{i}]", index, size, wrong, root, leaf))
    if proof:
        probes.append(("removed component", index, size, proof[:-1], root, leaf))
    if len(proof) > 1:
        probes.append(
            ("inserted component", index, size, [proof[0], SOME_HASH, *proof[1:]], root, leaf)
        )
    return probes


def consistency_probes(
    size1: int, size2: int, root1: bytes, root2: bytes, proof: list[bytes]
) -> list[tuple[str, int, int, bytes, bytes, list[bytes]]]:
    """The corrupted consistency probes of transparency-dev/merkle, plus an extended path."""
    probes = [
        ("size1 - 1", size1 - 1, size2, root1, root2, proof),
        ("size1 + 1", size1 + 1, size2, root1, root2, proof),
        ("size1 ^ 2", size1 ^ 2, size2, root1, root2, proof),
        ("size2 * 2", size1, size2 * 2, root1, root2, proof),
        ("size2 / 2", size1, size2 // 2, root1, root2, proof),
        ("wrong root1", size1, size2, hashlib.sha256(b"WrongRoot").digest(), root2, proof),
        ("wrong root2", size1, size2, root1, hashlib.sha256(b"WrongRoot").digest(), proof),
        ("swapped roots", size1, size2, root2, root1, proof),
        ("empty proof", size1, size2, root1, root2, []),
        ("trailing garbage", size1, size2, root1, root2, [*proof, b""]),
        ("trailing root1", size1, size2, root1, root2, [*proof, root1]),
        ("trailing root2", size1, size2, root1, root2, [*proof, root2]),
        ("extended path", size1, size2, root1, root2, [*proof, SOME_HASH]),
        ("preceding garbage", size1, size2, root1, root2, [b"", *proof]),
        ("preceding root1", size1, size2, root1, root2, [root1, *proof]),
        ("preceding root2", size1, size2, root1, root2, [root2, *proof]),
        ("preceding proof[0]", size1, size2, root1, root2, [proof[0], *proof]),
        ("truncated proof", size1, size2, root1, root2, proof[:-1]),
    ]
    for i in range(len(proof)):
        wrong = list(proof)
        wrong[i] = bytes([wrong[i][0] ^ 16]) + wrong[i][1:]
        probes.append((f"modified proof[{i}]", size1, size2, root1, root2, wrong))
    return probes


def test_corrupted_inclusion_proofs_are_rejected(big_log: InMemoryLog) -> None:
    checked = 0
    for n in range(1, MAX + 1):
        root = big_log.tree.root(n)
        for m in range(n):
            leaf = hash_leaf(data(m))
            proof = big_log.tree.inclusion_proof(m, n)
            for name, index, size, bad_proof, bad_root, bad_leaf in inclusion_probes(
                m, n, proof, root, leaf
            ):
                true_statement = (
                    0 <= index < size <= MAX
                    and bad_leaf == hash_leaf(data(index))
                    and bad_root == big_log.tree.root(size)
                    and bad_proof == big_log.tree.inclusion_proof(index, size)
                )
                assert not true_statement, name
                with pytest.raises(ProofError):
                    verify_inclusion(bad_leaf, index, size, bad_proof, bad_root)
                checked += 1
    assert checked > 10_000


def test_corrupted_consistency_proofs_are_rejected(big_log: InMemoryLog) -> None:
    checked = 0
    for n in range(2, MAX + 1):
        root2 = big_log.tree.root(n)
        for m in range(1, n):
            root1 = big_log.tree.root(m)
            proof = big_log.tree.consistency_proof(m, n)
            for name, s1, s2, r1, r2, bad_proof in consistency_probes(m, n, root1, root2, proof):
                # A probe is only "wrong" if the statement it makes is false.
                true_statement = (
                    0 <= s1 <= s2 <= MAX
                    and r1 == big_log.tree.root(s1)
                    and r2 == big_log.tree.root(s2)
                    and bad_proof == big_log.tree.consistency_proof(s1, s2)
                )
                assert not true_statement, name
                with pytest.raises(ProofError):
                    verify_consistency(s1, s2, r1, r2, bad_proof)
                checked += 1
    assert checked > 10_000


def test_degenerate_inputs() -> None:
    leaf = hash_leaf(b"data")
    verify_inclusion(leaf, 0, 1, [], leaf)
    for index, size in ((0, 0), (1, 0), (2, 1), (-1, 4)):
        with pytest.raises(ProofError):
            verify_inclusion(SOME_HASH, index, size, [], EMPTY_ROOT)
    with pytest.raises(ProofError):
        verify_inclusion(b"", 0, 1, [], b"")  # wrong hash sizes
    with pytest.raises(ProofError):
        root_from_inclusion_proof(leaf, 0, 1, [leaf])
    r1, r2 = hashlib.sha256(b"1").digest(), hashlib.sha256(b"2").digest()
    verify_consistency(0, 0, EMPTY_ROOT, EMPTY_ROOT, [])
    verify_consistency(0, 5, EMPTY_ROOT, r2, [])
    verify_consistency(1, 1, r2, r2, [])
    for s1, s2, a, b, proof in (
        (1, 1, r1, r2, []),
        (1, 0, r1, r2, []),
        (2, 1, r1, r2, []),
        (1, 2, r1, r2, []),
        (0, 0, EMPTY_ROOT, EMPTY_ROOT, [EMPTY_ROOT]),
        (0, 1, EMPTY_ROOT, EMPTY_ROOT, [EMPTY_ROOT]),
        (1, 1, EMPTY_ROOT, EMPTY_ROOT, [EMPTY_ROOT]),
        (0, 3, r1, r2, []),  # old root of size 0 must be the empty tree hash
    ):
        with pytest.raises(ProofError):
            verify_consistency(s1, s2, a, b, proof)
    log = InMemoryLog()
    log.append(b"x")
    with pytest.raises(ProofError):
        log.tree.inclusion_proof(1, 1)
    with pytest.raises(ProofError):
        log.tree.consistency_proof(2, 1)
    with pytest.raises(ProofError):
        log.tree.root(2)


def test_forging_server_is_never_believed() -> None:
    """A log that rewrote past leaf ``j`` cannot make a verifier with honest heads accept a lie."""
    n = 24
    honest = InMemoryLog()
    for i in range(n):
        honest.append(data(i))
    for j in (0, 5, 11, 16, 23):
        forged = InMemoryLog()
        for i in range(n):
            forged.append(b"rewritten" if i == j else data(i))
        forged_leaf = hash_leaf(b"rewritten")
        for size in range(1, n + 1):
            trusted_root = honest.tree.root(size)
            # Inclusion: every proof the forger can produce, for every index and claimed leaf.
            for index in range(size):
                proof = forged.tree.inclusion_proof(index, size)
                for claimed in {forged_leaf, hash_leaf(data(index))}:
                    try:
                        verify_inclusion(claimed, index, size, proof, trusted_root)
                    except ProofError:
                        continue
                    assert claimed == hash_leaf(data(index)), (j, size, index)  # only the truth
            # Consistency: the forged tree must not pass as an extension of a trusted head that
            # already contained the rewritten leaf.
            for new_size in range(size, n + 1):
                proof = forged.tree.consistency_proof(size, new_size)
                forged_root = forged.tree.root(new_size)
                if j < size:
                    with pytest.raises(ProofError):
                        verify_consistency(size, new_size, trusted_root, forged_root, proof)
                else:  # the rewrite happened after the trusted head: a true extension
                    verify_consistency(size, new_size, trusted_root, forged_root, proof)


def test_leaf_encodings_are_typed_and_canonical() -> None:
    leaf = version_leaf_data("ppa-1", 2, "a" * 64, "b" * 64)
    assert leaf == (
        b'{"chain_hash":"'
        + b"b" * 64
        + b'","content_hash":"'
        + b"a" * 64
        + b'","number":2,"ppa_id":"ppa-1","type":"ppa-version"}'
    )
    at = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
    checkpoint = audit_checkpoint_leaf_data(AuditCheckpoint(1, 40, "c" * 64, at))
    assert b'"type":"audit-checkpoint"' in checkpoint
    assert b'"at":"2025-03-01T12:00:00.000000Z"' in checkpoint
    assert hash_leaf(leaf) != hash_leaf(checkpoint)
