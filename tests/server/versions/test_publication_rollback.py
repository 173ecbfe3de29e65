"""A signed head is published (written to PPA_LOG_PUBLISH_DIR) only once its transaction
committed: a head rolled back is never published, even if the same session commits later."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from server.db import Database
from server.ledger.log import append_leaf, published_name
from server.migrate import upgrade
from tests.conftest import make_database
from versions.signing import generate_private_key


@pytest.fixture
async def own_database(tmp_path: Path) -> AsyncIterator[Database]:
    """A database of its own: the leaves appended here stay out of the shared log."""
    info, drop = make_database(tmp_path)
    upgrade(info.url)
    db = Database(info.url)
    try:
        yield db
    finally:
        await db.dispose()
        drop()


async def test_a_head_rolled_back_is_never_published(
    own_database: Database, tmp_path: Path
) -> None:
    publish_dir = tmp_path / "published"
    publish_dir.mkdir()
    key = generate_private_key()
    async with own_database.sessionmaker() as session:
        _, lost = await append_leaf(
            session, key, b"rolled back", kind="version", ppa_id=None, publish_dir=publish_dir
        )
        await session.rollback()
        await session.commit()  # the same session commits again, with nothing of the head
    assert list(publish_dir.iterdir()) == []

    async with own_database.sessionmaker() as session:
        _, kept = await append_leaf(
            session, key, b"kept", kind="version", ppa_id=None, publish_dir=publish_dir
        )
        await session.commit()
    assert kept.tree_size == lost.tree_size  # the rolled-back leaf left no trace in the log
    assert [p.name for p in publish_dir.iterdir()] == [published_name(kept.tree_size)]
