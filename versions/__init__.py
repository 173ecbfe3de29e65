"""Framework-free versioning core of ppa-collab.

Canonical JSON and content hashes (:mod:`versions.canonical`), the per-PPA hash chain
(:mod:`versions.chain`), the global append-only Merkle log with inclusion and consistency proofs
(:mod:`versions.merkle`), Ed25519 signed tree heads (:mod:`versions.signing`), lifecycle and
avenant rules (:mod:`versions.lifecycle`), structured diffs (:mod:`versions.diff`) and the
offline-verifiable audit bundle (:mod:`versions.bundle`).

Nothing here knows HTTP, SQL or the server: storage is reached through small Protocols.
"""
