"""Audit-trail checkpoints: batches of audit events sealed into the global Merkle log (at each
version append, by ``ppa audit seal`` and by the API), contiguous, and checked by ``ppa audit
verify-trail``, which names the first broken checkpoint when a superuser altered a sealed row."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import sqlalchemy as sa

from server.audit.seal import seal
from server.db import Database, create_engine
from server.ledger.log import signing_key
from tests.cli import CliResult, invoke
from tests.conftest import DatabaseInfo
from tests.server.versions.conftest import sql
from tests.server.versions.helpers import AUDITOR, CONTRIB, COORD, new_ppa, save
from versions.audit import AuditEventRecord, batch_digest, decode_id_ranges
from versions.merkle import AuditCheckpoint, audit_checkpoint_leaf_data, hash_leaf


def cli(settings: Any, *args: str) -> CliResult:
    """``ppa <args>`` in process on the test database (``tests.cli``)."""
    env = {"PPA_DATA_DIR": str(settings.data_dir), "PPA_DATABASE_URL": settings.database_url}
    return invoke(args, env)


def seal_now(settings: Any) -> int | None:
    """Seal pending events in-process (as ``ppa audit seal`` does); return the checkpoint seq."""

    async def run() -> int | None:
        db = Database(settings.database_url)
        try:
            async with db.transaction() as session:
                row = await seal(session, signing_key(settings))
                return None if row is None else row.seq
        finally:
            await db.dispose()

    return asyncio.run(run())


def checkpoints(database: DatabaseInfo) -> list[Any]:
    return sql(
        database,
        "SELECT seq, first_seq, last_seq, event_ids, events_digest, at, leaf_index,"
        " min_event_id, max_event_id FROM audit_checkpoints ORDER BY seq",
    )


def checkpoint_of_event(database: DatabaseInfo, event_id: int) -> Any:
    found = [row for row in checkpoints(database) if event_id in decode_id_ranges(row[3])]
    assert len(found) == 1, f"event {event_id} sealed {len(found)} times"
    return found[0]


def event_ids(database: DatabaseInfo, action: str, object_id: str) -> list[int]:
    rows = sql(
        database,
        "SELECT id FROM audit_events WHERE action = :a AND object_id = :o ORDER BY id",
        a=action,
        o=object_id,
    )
    return [int(r[0]) for r in rows]


def test_a_version_append_seals_the_events_before_it(
    api_as: Any, demo: dict[str, Any], database: DatabaseInfo
) -> None:
    setup = new_ppa(api_as, demo)
    (created,) = event_ids(database, "ppa.create", setup.ppa_id)
    version = save(api_as(CONTRIB), setup.ppa_id, "Premier jet")
    row = checkpoint_of_event(database, created)
    # Sealed in the same transaction, just before the version's leaf.
    assert row[6] == version["leaf_index"] - 1
    (leaf,) = sql(
        database, "SELECT kind, data, leaf_hash FROM log_leaves WHERE leaf_index = :i", i=row[6]
    )
    assert leaf[0] == "audit-checkpoint"
    assert bytes(leaf[2]) == hash_leaf(bytes(leaf[1]))
    # The version's own trace (added after the service call) waits for the next seal.
    (saved,) = event_ids(database, "version.save", setup.ppa_id)
    assert all(saved not in decode_id_ranges(r[3]) for r in checkpoints(database))
    save(api_as(CONTRIB), setup.ppa_id, "Deuxième jet")
    checkpoint_of_event(database, saved)


def test_checkpoints_are_contiguous_and_their_leaves_hold_the_recomputed_digest(
    api_as: Any, demo: dict[str, Any], database: DatabaseInfo, settings: Any
) -> None:
    setup = new_ppa(api_as, demo)
    save(api_as(CONTRIB), setup.ppa_id, "Premier jet")
    seal_now(settings)
    rows = checkpoints(database)
    assert rows, "no checkpoint"
    expected_first, sealed = 1, set[int]()
    columns = (
        "id, at, actor_type, actor_id, role, action, object_type, object_id, person_id,"
        " client_addr, outcome"
    )
    for number, row in enumerate(rows, start=1):
        seq, first, last, ranges, digest, at, leaf_index = row[:7]
        assert (seq, first) == (number, expected_first)
        ids = decode_id_ranges(ranges)
        assert len(ids) == last - first + 1
        assert not sealed.intersection(ids)
        sealed.update(ids)
        events = sql(
            database,
            f"SELECT {columns} FROM audit_events WHERE id >= :lo AND id <= :hi",
            lo=ids[0],
            hi=ids[-1],
        )
        wanted = set(ids)
        records = sorted(
            (
                AuditEventRecord(
                    int(e[0]), _aware(e[1]), e[2], e[3], e[4], e[5], e[6], e[7], e[8], e[9], e[10]
                )
                for e in events
                if int(e[0]) in wanted
            ),
            key=lambda r: r.id,
        )
        assert [r.id for r in records] == ids
        assert batch_digest(records) == digest
        (data,) = sql(database, "SELECT data FROM log_leaves WHERE leaf_index = :i", i=leaf_index)
        assert bytes(data[0]) == audit_checkpoint_leaf_data(
            AuditCheckpoint(first, last, digest, _aware(at))
        )
        expected_first = last + 1
    (unsealed,) = sql(database, "SELECT count(*) FROM audit_events")
    assert int(unsealed[0]) >= len(sealed)


def _aware(value: Any) -> Any:
    from datetime import UTC, datetime

    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def test_auditors_and_admins_seal_an_idle_service(
    api_as: Any, demo: dict[str, Any], database: DatabaseInfo, settings: Any
) -> None:
    setup = new_ppa(api_as, demo)
    assert api_as(COORD).get(f"/api/ppas/{setup.ppa_id}").status_code == 200
    (read,) = event_ids(database, "ppa.read", setup.ppa_id)[-1:]
    denied = api_as(COORD).post("/api/log/audit-checkpoints")
    assert denied.status_code == 403
    assert "auditeur" in denied.json()["detail"]
    response = api_as(AUDITOR).post("/api/log/audit-checkpoints")
    assert response.status_code == 200, response.text
    body = response.json()
    row = checkpoint_of_event(database, read)
    assert body["seq"] == row[0]
    assert body["events"] == row[2] - row[1] + 1
    key = api_as(AUDITOR).get("/api/log/heads/latest").json()
    assert key["tree_size"] >= body["tree_size"] == body["leaf_index"] + 1
    # The command line seals what is left (the API's own trace of the seal, at least).
    result = cli(settings, "audit", "seal")
    assert result.returncode == 0, result.stderr
    assert "scellé(s)" in result.stdout
    last = sql(database, "SELECT max(id) FROM audit_events WHERE action = 'audit.seal'")[0][0]
    checkpoint_of_event(database, int(last))
    again = cli(settings, "audit", "seal")
    assert again.returncode == 0
    assert "0 événement(s)" in again.stdout


def _tamper(database: DatabaseInfo, statement: str, **params: Any) -> None:
    """Run ``statement`` on audit_events as a superuser would: append-only triggers disabled
    for the statement only (on both databases), then put back."""

    async def run() -> None:
        engine = create_engine(database.url)
        try:
            async with engine.begin() as conn:
                if database.backend == "postgresql":
                    await conn.execute(
                        sa.text("ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only")
                    )
                    await conn.execute(sa.text(statement), params)
                    await conn.execute(
                        sa.text("ALTER TABLE audit_events ENABLE TRIGGER audit_events_append_only")
                    )
                    return
                triggers = (
                    await conn.execute(
                        sa.text(
                            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger'"
                            " AND tbl_name = 'audit_events'"
                        )
                    )
                ).all()
                assert len(triggers) == 2
                for name, _ in triggers:
                    await conn.execute(sa.text(f"DROP TRIGGER {name}"))
                await conn.execute(sa.text(statement), params)
                for _, definition in triggers:
                    await conn.execute(sa.text(definition))
        finally:
            await engine.dispose()

    asyncio.run(run())


def test_verify_trail_names_the_first_broken_checkpoint(
    api_as: Any, demo: dict[str, Any], database: DatabaseInfo, settings: Any
) -> None:
    setup = new_ppa(api_as, demo)
    save(api_as(CONTRIB), setup.ppa_id, "Premier jet")
    seal_now(settings)
    intact = cli(settings, "audit", "verify-trail")
    assert intact.returncode == 0, intact.stdout + intact.stderr
    assert "Journal d'audit intègre" in intact.stdout
    assert "Audit trail intact" in intact.stdout
    (created,) = event_ids(database, "ppa.create", setup.ppa_id)
    broken_seq = checkpoint_of_event(database, created)[0]
    (original,) = sql(database, "SELECT actor_id FROM audit_events WHERE id = :i", i=created)
    with pytest.raises(sa.exc.DBAPIError, match="append-only"):
        sql(database, "UPDATE audit_events SET actor_id = 'x' WHERE id = :i", i=created)
    _tamper(database, "UPDATE audit_events SET actor_id = 'quelqu-un' WHERE id = :i", i=created)
    try:
        broken = cli(settings, "audit", "verify-trail")
        assert broken.returncode == 1, broken.stdout
        assert f"point de scellement n° {broken_seq}" in broken.stdout
        assert f"checkpoint {broken_seq}" in broken.stdout
        assert "ALTÉRÉ" in broken.stdout
        assert "BROKEN" in broken.stdout
    finally:
        _tamper(
            database,
            "UPDATE audit_events SET actor_id = :a WHERE id = :i",
            a=original[0],
            i=created,
        )
    assert cli(settings, "audit", "verify-trail").returncode == 0
    # A deleted sealed row is named as such.
    (row,) = sql(database, "SELECT * FROM audit_events WHERE id = :i", i=created)
    _tamper(database, "DELETE FROM audit_events WHERE id = :i", i=created)
    try:
        deleted = cli(settings, "audit", "verify-trail")
        assert deleted.returncode == 1
        assert f"événement scellé {created} supprimé" in deleted.stdout
    finally:
        columns = ", ".join(row._fields)
        values = ", ".join(f":{name}" for name in row._fields)
        _tamper(
            database, f"INSERT INTO audit_events ({columns}) VALUES ({values})", **row._asdict()
        )
    assert cli(settings, "audit", "verify-trail").returncode == 0


def test_an_event_committed_after_a_seal_with_a_lower_id_is_sealed_next(
    api_as: Any, demo: dict[str, Any], database: DatabaseInfo, settings: Any
) -> None:
    """PostgreSQL: a transaction holding a lower id commits after a seal took higher ids (real
    concurrent transactions). SQLite gives ids in commit order: the same situation is built
    with an explicit lower id."""
    seal_now(settings)
    insert = (
        "INSERT INTO audit_events (at, actor_type, action, object_type, outcome{id_col})"
        " VALUES (CURRENT_TIMESTAMP, 'system', :action, 'test', 'ok'{id_val}) RETURNING id"
    )

    async def run() -> tuple[int, int]:
        engine = create_engine(database.url)
        try:
            if database.backend == "postgresql":
                async with engine.connect() as slow:
                    await slow.begin()
                    late = (
                        await slow.execute(
                            sa.text(insert.format(id_col="", id_val="")), {"action": "test.late"}
                        )
                    ).scalar_one()
                    async with engine.begin() as fast:
                        early = (
                            await fast.execute(
                                sa.text(insert.format(id_col="", id_val="")),
                                {"action": "test.early"},
                            )
                        ).scalar_one()
                    assert seal_in_thread() is not None  # seals `early`, cannot see `late`
                    await slow.commit()
                return int(late), int(early)
            async with engine.begin() as conn:
                top = (await conn.execute(sa.text("SELECT max(id) FROM audit_events"))).scalar()
                early = int(top or 0) + 10
                await conn.execute(
                    sa.text(insert.format(id_col=", id", id_val=", :id")),
                    {"action": "test.early", "id": early},
                )
            assert seal_in_thread() is not None
            async with engine.begin() as conn:
                await conn.execute(
                    sa.text(insert.format(id_col=", id", id_val=", :id")),
                    {"action": "test.late", "id": early - 5},
                )
            return early - 5, early
        finally:
            await engine.dispose()

    def seal_in_thread() -> int | None:
        import concurrent.futures

        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            return pool.submit(seal_now, settings).result()

    late, early = asyncio.run(run())
    assert late < early
    first = checkpoint_of_event(database, early)
    assert all(late not in decode_id_ranges(r[3]) for r in checkpoints(database))
    assert seal_now(settings) is not None
    second = checkpoint_of_event(database, late)
    assert second[0] > first[0]
    assert second[7] <= late < first[8]  # a late event: below the previous batch's highest id
    assert second[1] == checkpoints(database)[second[0] - 2][2] + 1  # contiguous positions
    result = cli(settings, "audit", "verify-trail")
    assert result.returncode == 0, result.stdout


def test_a_checkpoint_sealed_after_the_bundle_read_its_head_stays_out_of_it(
    api_as: Any, demo: dict[str, Any], settings: Any, database: DatabaseInfo
) -> None:
    """The bundle reads the latest signed head first; a checkpoint sealed after that (a leaf
    beyond the head) must not come with it: its proof could not reach the bundle's head. Its
    events are then shown as not sealed yet."""
    from server.audit.bundle import ppa_audit_trail
    from server.models import PPA

    setup = new_ppa(api_as, demo)
    assert api_as(COORD).get(f"/api/ppas/{setup.ppa_id}").status_code == 200
    read = event_ids(database, "ppa.read", setup.ppa_id)[-1]
    seal_now(settings)
    leaf = int(checkpoint_of_event(database, read)[6])

    async def trail(tree_size: int) -> tuple[set[int], set[int]]:
        db = Database(settings.database_url)
        try:
            async with db.transaction() as session:
                ppa = await session.get(PPA, setup.ppa_id)
                assert ppa is not None
                events, batches = await ppa_audit_trail(session, ppa, tree_size)
        finally:
            await db.dispose()
        return {e.id for e in events}, {b.leaf_index for b in batches}

    events_before, leaves_before = asyncio.run(trail(leaf))  # the head read before the seal
    events_after, leaves_after = asyncio.run(trail(leaf + 1))
    assert read in events_before
    assert read in events_after
    assert leaf not in leaves_before
    assert all(index < leaf for index in leaves_before)
    assert leaf in leaves_after
