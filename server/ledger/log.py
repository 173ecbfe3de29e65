"""The global Merkle log in the database: leaves, perfect-subtree nodes, signed tree heads.

Every version appends one leaf (:func:`versions.merkle.version_leaf_data`), stores the perfect
subtrees that leaf completes (amortised one node per leaf, at most ``log2 n``), and signs a new
tree head with the service's Ed25519 key, all in the caller's transaction. Appends are
serialised: on PostgreSQL by a transaction-scoped advisory lock, on SQLite by its single writer
(the caller has written to ``ppas`` before appending, so its transaction already holds the write
lock). Roots and proofs read ``O(log n)`` nodes (``versions.merkle`` explains why).
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

import structlog
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import event, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from server.config import Settings
from server.db import utcnow
from server.models import LogLeaf, LogNode, TreeHead
from versions.merkle import MerkleTree, hash_children, hash_leaf
from versions.signing import (
    SignedTreeHead,
    load_or_create_private_key,
    sign_tree_head,
    timestamp_ms,
)

log = structlog.get_logger(__name__)

LOG_LOCK_ID = 0x7070614C4F47
"""PostgreSQL advisory lock id serialising appends to the log ("ppaLOG")."""

_keys: dict[Path, Ed25519PrivateKey] = {}


def signing_key_path(settings: Settings) -> Path:
    return settings.signing_key_path or settings.data_dir / "signing-key.pem"


def signing_key(settings: Settings) -> Ed25519PrivateKey:
    """The service's signing key, created (mode 0600) in the data directory at first use."""
    path = signing_key_path(settings).resolve()
    key = _keys.get(path)
    if key is None:
        key = load_or_create_private_key(path)
        _keys[path] = key
    return key


class SqlLeafStore:
    """:class:`versions.merkle.LeafStore` over ``log_leaves`` (a fixed size: one tree)."""

    def __init__(self, session: Session, size: int) -> None:
        self._session = session
        self._size = size

    def size(self) -> int:
        return self._size

    def leaf_hashes(self, start: int, stop: int) -> Sequence[bytes]:
        rows = self._session.scalars(
            select(LogLeaf.leaf_hash)
            .where(LogLeaf.leaf_index >= start, LogLeaf.leaf_index < stop)
            .order_by(LogLeaf.leaf_index)
        ).all()
        if len(rows) != stop - start:
            raise LookupError(f"log leaves [{start}, {stop}) missing")
        return rows


class SqlNodeStore:
    """:class:`versions.merkle.NodeStore` reading ``log_nodes``; what it computes stays in memory
    (nodes are written to the table only by :func:`append_leaf`, once, when they complete)."""

    def __init__(self, session: Session) -> None:
        self._session = session
        self._memory: dict[tuple[int, int], bytes] = {}
        self.reads = 0

    def get_node(self, level: int, index: int) -> bytes | None:
        if level == 0:
            return None
        cached = self._memory.get((level, index))
        if cached is not None:
            return cached
        self.reads += 1
        value = self._session.scalar(
            select(LogNode.hash).where(LogNode.level == level, LogNode.node_index == index)
        )
        if value is not None:
            self._memory[(level, index)] = value
        return value

    def put_node(self, level: int, index: int, value: bytes) -> None:
        self._memory[(level, index)] = value


def tree(session: Session, size: int) -> MerkleTree:
    """A :class:`MerkleTree` of the first ``size`` leaves (use inside ``session.run_sync``)."""
    return MerkleTree(SqlLeafStore(session, size), SqlNodeStore(session))


def head_of(row: TreeHead) -> SignedTreeHead:
    return SignedTreeHead(row.tree_size, row.root_hash, row.timestamp, row.signature, row.key_id)


async def log_size(session: AsyncSession) -> int:
    last = await session.scalar(select(func.max(LogLeaf.leaf_index)))
    return 0 if last is None else int(last) + 1


async def latest_head(session: AsyncSession) -> TreeHead | None:
    return await session.scalar(select(TreeHead).order_by(TreeHead.tree_size.desc()).limit(1))


async def serialise_appends(session: AsyncSession) -> None:
    """Wait for (and hold until the transaction ends) the right to append to the log."""
    if (await session.connection()).dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": LOG_LOCK_ID})


async def append_leaf(
    session: AsyncSession,
    key: Ed25519PrivateKey,
    data: bytes,
    *,
    kind: str,
    ppa_id: str | None,
    step: Callable[[str], None] = lambda _name: None,
    publish_dir: Path | None = None,
) -> tuple[int, TreeHead]:
    """Append one leaf, its completed nodes and a new signed tree head; return index and head.

    The head is signed at the current time (never before the previous head). With
    ``publish_dir``, the head is also written there as ``sth-<size>.json`` once the transaction
    has committed (a head rolled back is never published).
    """
    at = utcnow()
    await serialise_appends(session)
    index = await log_size(session)
    leaf_hash = hash_leaf(data)

    def complete(sync: Session) -> tuple[list[LogNode], bytes]:
        nodes: list[LogNode] = []
        node, level, position = leaf_hash, 0, index
        store = SqlNodeStore(sync)
        while position & 1:  # this leaf completes perfect subtrees up the right edge
            if level == 0:
                left = SqlLeafStore(sync, index).leaf_hashes(index - 1, index)[0]
            else:
                found = store.get_node(level, position - 1)
                if found is None:
                    raise LookupError(f"log node ({level}, {position - 1}) missing")
                left = found
            node = hash_children(left, node)
            level, position = level + 1, position >> 1
            nodes.append(LogNode(level=level, node_index=position, hash=node))
            store.put_node(level, position, node)
        sync.add(
            LogLeaf(
                leaf_index=index,
                leaf_hash=leaf_hash,
                data=data,
                kind=kind,
                ppa_id=ppa_id,
                created_at=at,
            )
        )
        sync.add_all(nodes)
        sync.flush()
        root = MerkleTree(SqlLeafStore(sync, index + 1), store).root()
        return nodes, root

    _nodes, root = await session.run_sync(complete)
    step("leaf")
    previous = await latest_head(session)
    stamp = timestamp_ms(at)
    if previous is not None:
        stamp = max(stamp, previous.timestamp)  # signed heads never go back in time
    signed = sign_tree_head(key, index + 1, root, stamp)
    head = TreeHead(
        tree_size=signed.tree_size,
        root_hash=signed.root_hash,
        timestamp=signed.timestamp,
        signature=signed.signature,
        key_id=signed.key_id,
    )
    session.add(head)
    await session.flush()
    step("head")
    if publish_dir is not None:
        _publish_on_commit(session.sync_session, publish_dir, signed)
    return index, head


def _publish_on_commit(session: Session, directory: Path, signed: SignedTreeHead) -> None:
    """Write ``signed`` to ``directory`` when the session's transaction commits; never once it
    rolled back (even if the same session commits later)."""
    pending = True

    def publish(_session: Session) -> None:
        nonlocal pending
        if not pending:
            return
        pending = False
        try:
            write_published_head(directory, signed)
        except OSError:
            log.exception("log.publish_failed", tree_size=signed.tree_size)

    def forget(_session: Session) -> None:
        nonlocal pending
        pending = False

    event.listen(session, "after_commit", publish, once=True)
    event.listen(session, "after_rollback", forget, once=True)


def published_name(tree_size: int) -> str:
    """File name of a published signed head."""
    return f"sth-{tree_size}.json"


def write_published_head(directory: Path, head: SignedTreeHead) -> Path:
    """Write ``head`` as JSON (:meth:`SignedTreeHead.to_json`, what ``ppa audit verify
    --known-head`` reads) to ``directory/sth-<size>.json`` atomically (temporary file, fsync,
    rename); an operator syncs the directory to a witness."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / published_name(head.tree_size)
    tmp = directory / f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp"
    data = json.dumps(head.to_json(), sort_keys=True).encode() + b"\n"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    return path
